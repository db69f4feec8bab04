"""Rules engine configuration (``kind = "rules"``); the rule tables are in
:mod:`~stationpipe.rules.rule_models`.

Example (see ``deploy/config/rules.example.toml`` for every option)::

    kind = "rules"
    group = "rules"                 # shared-subscription group of the engines
    registry = "registry.toml"
    state = "/var/lib/stationpipe/rules/state.sqlite3"

    [mqtt]
    client_id = "rules-1"

    [partition]                     # engine 0 of 2: owns the stations whose id hashes to 0
    count = 2
    index = 0

    [evaluation]
    offset = "0s"                   # hold readings this long (reading time) to reorder late ones
    backfill_after = "10m"          # a reading older than this on arrival is backfilled

    [delivery.webhook]
    url = "http://127.0.0.1:9000/hook"
    secret_env = "STATIONPIPE_WEBHOOK_SECRET"

    [[rules]]
    name = "section"
    kind = "section"
    station_kinds = ["water"]
    for = "0s"
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Literal

from pydantic import Field, HttpUrl, SecretStr, field_validator, model_validator

from stationpipe.kernel.catalogue import CATALOGUE, Kind
from stationpipe.kernel.config import ConfigPath, Model, secret
from stationpipe.kernel.metrics import MetricsSettings
from stationpipe.kernel.mqtt import SHARED_HELP, MqttSettings, subscription
from stationpipe.kernel.partition import Partition
from stationpipe.kernel.registry import Registry, StationInfo, load_registry
from stationpipe.kernel.wire_topics import qc_topic, readings_topic, status_topic
from stationpipe.rules.channel_models import DingTalkSettings, EmailSettings, SmsSettings, WeComSettings
from stationpipe.rules.durations import Duration
from stationpipe.rules.rule_models import (
    AnyRule,
    DeadmanRule,
    QcRule,
    Rule,
    SectionRule,
    TargetRule,
    TrendRule,
    UpstreamRule,
)

#: Station id of the registry-wide headline figures (``derived/_province/headline``).
AGGREGATE_STATION = "_province"


class Evaluation(Model):
    """How readings are ordered before evaluation (times are reading time, UTC)."""

    offset: Duration = Field(default=timedelta(0), description="wait this long for late, earlier readings")
    backfill_after: Duration = timedelta(minutes=10)
    tick: Duration = Field(default=timedelta(seconds=1), description="timer period: deadman, no-data, flush")


class DerivedSettings(Model):
    """Derived results: water class, hourly AQI, daily capture rate, headline figures."""

    aggregate_station: str = Field(default=AGGREGATE_STATION, pattern=r"^[A-Za-z0-9_.\-]{1,128}$")
    capture_interval: dict[Kind, Duration] = Field(
        default_factory=lambda: {Kind.WATER: timedelta(hours=4), Kind.AIR: timedelta(hours=1)},
        description="expected interval between readings of one parameter, per station kind",
    )
    headline_every: Duration = Field(default=timedelta(seconds=60), description="at most this often")


class WebhookSettings(Model):
    """Signed JSON POSTs to the early-warning system (schema: rules/channels/webhook.py)."""

    url: HttpUrl
    secret_env: str | None = None
    secret_file: ConfigPath | None = None
    timeout: float = Field(default=10.0, gt=0, description="seconds per request")
    include_pending: bool = False

    @model_validator(mode="after")
    def _secret(self) -> WebhookSettings:
        if (self.secret_env is None) == (self.secret_file is None):
            raise ValueError("give exactly one of secret_env or secret_file (the HMAC key)")
        secret(self.secret_env, self.secret_file)
        return self

    def key(self) -> SecretStr:
        """The HMAC-SHA256 key, read when needed so it never sits in a repr."""
        value = secret(self.secret_env, self.secret_file)
        assert value is not None  # the validator guarantees a source
        return value


class AlertmanagerSettings(Model):
    """Alertmanager v2 API: firing alerts re-sent every ``resend_every``, resolutions for ``resolved_for``."""

    url: HttpUrl
    timeout: float = Field(default=10.0, gt=0)
    resend_every: Duration = timedelta(minutes=1)
    resolved_for: Duration = timedelta(minutes=15)


class Delivery(Model):
    """Where warnings go besides the retained ``warnings/<station>/<rule>`` topic (always on).

    The channels people read (``dingtalk``, ``wecom``, ``sms``, ``email``) are in
    :mod:`~stationpipe.rules.channel_models`.
    """

    webhook: WebhookSettings | None = None
    alertmanager: AlertmanagerSettings | None = None
    dingtalk: DingTalkSettings | None = None
    wecom: WeComSettings | None = None
    sms: SmsSettings | None = None
    email: EmailSettings | None = None
    retry_cap: float = Field(default=60.0, gt=0, description="longest backoff between retries, seconds")


class ApiSettings(Model):
    """The operators' desk (``[api]``): the JSON API and the page (预警处置台) served by the engine."""

    host: str = Field(default="127.0.0.1", description="bind address (loopback by default)")
    port: int = Field(default=8470, ge=0, le=65535, description="0 picks a free port (logged)")
    users: ConfigPath = Field(description="the users file (stationpipe rules user add …)")
    session_for: Duration = Field(default=timedelta(hours=12), description="a page login lasts this long")
    secure_cookies: bool = Field(default=False, description="mark cookies Secure (behind an HTTPS proxy)")


class RulesConfig(Model):
    """A ``kind = "rules"`` file."""

    kind: Literal["rules"] = "rules"
    group: str = Field(default="rules", pattern=r"^[A-Za-z0-9_\-]{1,64}$")
    shared: bool = Field(default=True, description=SHARED_HELP)
    registry: ConfigPath
    state: ConfigPath
    mqtt: MqttSettings
    partition: Partition = Partition()
    evaluation: Evaluation = Evaluation()
    derived: DerivedSettings = DerivedSettings()
    delivery: Delivery = Delivery()
    watch_every: float = Field(
        default=5.0, gt=0, description="seconds between checks of the file for changes"
    )
    metrics: MetricsSettings | None = None
    api: ApiSettings | None = None
    status_every: float = Field(
        default=15.0, gt=0, description="seconds between health lines on stations/_<client id>/status"
    )
    rules: tuple[Rule, ...] = ()

    @field_validator("rules")
    @classmethod
    def _unique(cls, rules: tuple[AnyRule, ...]) -> tuple[AnyRule, ...]:
        seen: set[str] = set()
        for rule in rules:
            if rule.name in seen:
                raise ValueError(f"rule name {rule.name!r} appears twice")
            seen.add(rule.name)
        return rules

    @model_validator(mode="after")
    def _sources(self) -> RulesConfig:
        """An upstream rule forwards the warnings of section, target or trend rules of this file."""
        kinds = {r.name: r for r in self.rules}
        for i, rule in enumerate(self.rules):
            if not isinstance(rule, UpstreamRule):
                continue
            for j, name in enumerate(rule.sources):
                if not isinstance(kinds.get(name), SectionRule | TargetRule | TrendRule):
                    where = f"rules[{i}].sources[{j}]"
                    raise ValueError(  # noqa: TRY004 - a configuration error, reported as pydantic's
                        f"{where}: {name!r} is not a section, target or trend rule of this file"
                    )
        return self

    @model_validator(mode="after")
    def _registry_loads(self) -> RulesConfig:
        registry = load_registry(self.registry)  # a broken registry is a broken rules file: name it now
        rivers = {r.name for r in registry.rivers}
        for i, rule in enumerate(self.rules):
            if isinstance(rule, UpstreamRule) and (unknown := sorted(set(rule.rivers) - rivers)):
                raise ValueError(f"rules[{i}].rivers: {unknown} not among the registry's [[rivers]]")
            if isinstance(rule, UpstreamRule) and (longest := _longest_instance(rule, registry)) > _SEGMENT:
                raise ValueError(
                    f"rules[{i}]: its warnings' topic segment (rule.station.source.parameter) can be "
                    f"{longest} characters, more than {_SEGMENT}: shorten the rule or source names"
                )
        return self

    def load_registry(self) -> Registry:
        """The registry this file names."""
        return load_registry(self.registry)

    def topics(self, registry: Registry) -> list[str]:
        """Subscription filters: one for everything, or one per owned station when partitioned."""
        group = f"{self.group}-p{self.partition.index}"
        status, qc = self.watches_status(), self.watches_qc()
        if self.partition.count == 1:
            wildcard = ["stations/+/readings"] + (["stations/+/status"] if status else [])
            wildcard += ["stations/+/qc"] if qc else []
            return [subscription(topic, group, shared=self.shared) for topic in wildcard]
        topics = [readings_topic] + ([status_topic] if status else []) + ([qc_topic] if qc else [])
        return [
            subscription(t(s.id), group, shared=self.shared) for s in self.owned(registry) for t in topics
        ]

    def watches_status(self) -> bool:
        """A deadman rule watches status messages (heartbeats), so they are subscribed to as well."""
        return any(isinstance(rule, DeadmanRule) and rule.watch == "status" for rule in self.rules)

    def watches_qc(self) -> bool:
        """A ``qc`` rule evaluates quality-control checks: ``stations/<id>/qc`` is subscribed to as well."""
        return any(isinstance(rule, QcRule) for rule in self.rules)

    def owned(self, registry: Registry) -> tuple[StationInfo, ...]:
        """The registry's stations in this engine's partition."""
        return tuple(s for s in registry.stations if self.partition.owns(s.id))


#: The longest topic segment (``stationpipe.kernel.wire_topics``).
_SEGMENT = 128


def _longest_instance(rule: UpstreamRule, registry: Registry) -> int:
    """The longest ``<rule>.<source station>.<source rule>.<parameter>`` the rule can publish."""
    station = max((len(s) for r in registry.rivers for s in r.sections), default=0)
    source = max(len(s) for s in rule.sources)
    parameter = max(len(p) for p in rule.parameters or CATALOGUE)
    return len(rule.name) + station + source + parameter + 3


def state_path(config: RulesConfig) -> Path:
    """The SQLite file of durable state (instances, series, outbox)."""
    return Path(config.state)
