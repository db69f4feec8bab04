"""Settings of the channels people read (``[delivery.dingtalk]``, ``wecom``, ``sms``, ``email``).

Every one of them is a :class:`PeopleSettings`: routes (which warnings go to whom), grouping (a burst is one
message), quiet hours (held, red goes out anyway) and an optional rate limit per recipient. Secrets are
never written in the file: each is named by ``<name>_env`` (an environment variable) or ``<name>_file`` (a
file whose first line is the secret); a key that looks like an inline secret (``secret``, ``password``,
``token``, ``key``, ``access_token``) is refused with a message that says so.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, HttpUrl, SecretStr, field_validator, model_validator

from stationpipe.kernel.config import ConfigPath, Model, secret
from stationpipe.rules.durations import Duration
from stationpipe.rules.rule_models import Level

_INLINE = ("secret", "password", "token", "key", "access_token", "api_key")
_ROUTE = r"^[A-Za-z0-9_\-]{1,64}$"
PHONE = re.compile(r"^\+?[0-9]{5,20}$")
EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+$")
_SECRETISH = re.compile(r"secret|passw|token|api_?key|access_?key|authorization", re.IGNORECASE)
ChangeName = Literal["pending", "firing", "escalated", "deescalated", "cancelled", "resolved"]


def refuse_inline(data: Any, *names: str) -> Any:
    """A ``mode="before"`` check: an inline secret is an error that names where secrets come from."""
    if isinstance(data, dict):
        for name in (*_INLINE, *names):
            if name in data:
                raise ValueError(
                    f'{name!r}: secrets are never written in the config; give {name}_env = "VARIABLE" '
                    f'or {name}_file = "path" instead'
                )
    return data


def _source(env: str | None, file: Path | None, what: str, *, required: bool) -> SecretStr | None:
    if env is not None and file is not None:
        raise ValueError(f"give one of {what}_env or {what}_file, not both")
    if required and env is None and file is None:
        raise ValueError(f"give {what}_env or {what}_file")
    return secret(env, file)


def zone(name: str) -> ZoneInfo:
    """The IANA time zone ``name``; ``ValueError`` for an unknown one."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError, UnicodeError):
        raise ValueError(f"unknown time zone {name!r} (e.g. Asia/Shanghai)") from None


class QuietHours(Model):
    """A local-time window (``22:00``–``07:00``, may cross midnight) in which only urgent warnings go out.

    Urgent: level >= ``override_level`` (4, red) and not a resolution. The others are held (not dropped)
    and go out, grouped, when the window ends.
    """

    start: time
    end: time
    timezone: str = "Asia/Shanghai"
    override_level: Level = 4

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        zone(value)
        return value

    @model_validator(mode="after")
    def _span(self) -> QuietHours:
        if self.start == self.end:
            raise ValueError("start and end are the same time: an empty or a 24 h window is not quiet hours")
        return self

    def active(self, epoch: float) -> bool:
        """True inside the window at ``epoch``."""
        now = datetime.fromtimestamp(epoch, UTC).astimezone(zone(self.timezone)).time()
        if self.start < self.end:
            return self.start <= now < self.end
        return now >= self.start or now < self.end

    def ends(self, epoch: float) -> float:
        """The epoch at which the window around ``epoch`` ends (``epoch`` itself when outside it)."""
        if not self.active(epoch):
            return epoch
        local = datetime.fromtimestamp(epoch, UTC).astimezone(zone(self.timezone))
        end = datetime.combine(local.date(), self.end, tzinfo=local.tzinfo)
        if end <= local:
            end += timedelta(days=1)
        return end.timestamp()

    def urgent(self, body: dict[str, Any]) -> bool:
        """Goes out inside the window: a level at or above ``override_level`` that is not a resolution."""
        return int(body["level"]) >= self.override_level and body["state"] != "resolved"


class RateLimit(Model):
    """At most ``count`` messages per ``per`` to one recipient (SMS: one phone), counted durably.

    Warnings over the limit are not dropped: they wait in the outbox and are merged into the next message
    the limit allows (one message listing them all).
    """

    count: int = Field(ge=1, le=10_000)
    per: Duration = timedelta(hours=1)

    @field_validator("per")
    @classmethod
    def _positive(cls, value: timedelta) -> timedelta:
        if value.total_seconds() <= 0:
            raise ValueError("per must be longer than 0 s")
        return value


class Route(Model):
    """Which warnings (all given selectors must match; none given: every warning) go to whom.

    ``recipients``: DingTalk, the phone numbers @-mentioned; WeCom, the user ids @-mentioned; SMS, the phone
    numbers texted; e-mail, the addresses written to. ``quiet`` overrides the channel's quiet hours.
    """

    name: str = Field(pattern=_ROUTE)
    cities: tuple[str, ...] = ()
    rivers: tuple[str, ...] = ()
    stations: tuple[str, ...] = ()
    levels: tuple[Level, ...] = ()
    rules: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    changes: tuple[ChangeName, ...] = ()
    recipients: tuple[str, ...] = ()
    at_all: bool = False
    quiet: QuietHours | None = None

    def matches(self, body: dict[str, Any]) -> bool:
        """True when every given selector matches the notification's JSON."""
        pairs = (
            (self.cities, body.get("city", "")),
            (self.rivers, body.get("river", "")),
            (self.stations, body["station"]),
            (self.levels, body["level"]),
            (self.rules, body["rule"]),
            (self.kinds, body.get("kind", "")),
            (self.changes, body["change"]),
        )
        return all(not allowed or value in allowed for allowed, value in pairs)


class PeopleSettings(Model):
    """What every channel people read has: routes, grouping, quiet hours, rate limit."""

    routes: tuple[Route, ...] = (Route(name="all"),)
    group_window: Duration = Field(
        default=timedelta(seconds=60), description="warnings within this span after the first are one message"
    )
    quiet: QuietHours | None = None
    rate_limit: RateLimit | None = None
    include_pending: bool = False
    max_items: int = Field(
        default=20, ge=1, le=500, description="warnings listed in one message; then '… N more'"
    )
    timezone: str = Field(default="Asia/Shanghai", description="local time shown in messages")
    timeout: float = Field(default=10.0, gt=0, description="seconds per request")

    @model_validator(mode="before")
    @classmethod
    def _inline(cls, data: Any) -> Any:
        return refuse_inline(data)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        zone(value)
        return value

    @field_validator("routes")
    @classmethod
    def _routes(cls, routes: tuple[Route, ...]) -> tuple[Route, ...]:
        if not routes:
            raise ValueError("give at least one route (or leave routes out: everything to one route)")
        names = [r.name for r in routes]
        if len(set(names)) != len(names):
            raise ValueError("route names must be unique")
        return routes

    def route(self, name: str) -> Route | None:
        """The route called ``name`` (``None`` if the config no longer has it)."""
        return next((r for r in self.routes if r.name == name), None)

    def quiet_of(self, route: Route | None) -> QuietHours | None:
        """The quiet hours that apply to ``route``: its own, else the channel's."""
        return route.quiet if route is not None and route.quiet is not None else self.quiet


class DingTalkSettings(PeopleSettings):
    """DingTalk custom robot (自定义机器人), signed (加签): markdown messages, @-mentions by phone number."""

    url: HttpUrl = HttpUrl("https://oapi.dingtalk.com/robot/send")
    access_token_env: str | None = None
    access_token_file: ConfigPath | None = None
    secret_env: str | None = None
    secret_file: ConfigPath | None = None

    @model_validator(mode="after")
    def _secrets(self) -> DingTalkSettings:
        if "access_token=" in (self.url.query or ""):
            raise ValueError("url: the access_token is a secret; give access_token_env or access_token_file")
        _source(self.access_token_env, self.access_token_file, "access_token", required=True)
        _source(self.secret_env, self.secret_file, "secret", required=True)
        for route in self.routes:
            bad = [p for p in route.recipients if not PHONE.match(p)]
            if bad:
                raise ValueError(f"route {route.name}: recipients are phone numbers to @-mention, not {bad}")
        return self

    def access_token(self) -> SecretStr:
        """The robot's access_token (read when needed, never kept in a repr)."""
        value = _source(self.access_token_env, self.access_token_file, "access_token", required=True)
        assert value is not None
        return value

    def secret(self) -> SecretStr:
        """The robot's signing secret (``SEC…``)."""
        value = _source(self.secret_env, self.secret_file, "secret", required=True)
        assert value is not None
        return value


class WeComSettings(PeopleSettings):
    """WeCom group robot (企业微信群机器人): markdown messages to the webhook ``key``."""

    url: HttpUrl = HttpUrl("https://qyapi.weixin.qq.com/cgi-bin/webhook/send")
    key_env: str | None = None
    key_file: ConfigPath | None = None

    @model_validator(mode="after")
    def _secrets(self) -> WeComSettings:
        if "key=" in (self.url.query or ""):
            raise ValueError("url: the webhook key is a secret; give key_env or key_file")
        _source(self.key_env, self.key_file, "key", required=True)
        return self

    def key(self) -> SecretStr:
        """The robot's webhook key."""
        value = _source(self.key_env, self.key_file, "key", required=True)
        assert value is not None
        return value


class SecretRef(Model):
    """A named secret for an SMS template (``${secret:NAME}``): from ``env`` or ``file``."""

    env: str | None = None
    file: ConfigPath | None = None

    @model_validator(mode="before")
    @classmethod
    def _inline(cls, data: Any) -> Any:
        return refuse_inline(data, "value")

    @model_validator(mode="after")
    def _one(self) -> SecretRef:
        if (self.env is None) == (self.file is None):
            raise ValueError("give exactly one of env or file")
        secret(self.env, self.file)
        return self

    def value(self) -> str:
        """The secret's text."""
        got = secret(self.env, self.file)
        assert got is not None
        return got.get_secret_value()


class SmsAuth(Model):
    """How the gateway authenticates us: ``basic`` (username + secret), ``bearer`` (the secret as a token)
    or ``header`` (the secret in the header ``header``)."""

    kind: Literal["basic", "bearer", "header"]
    username: str = ""
    header: str = Field(default="X-Api-Key", pattern=r"^[A-Za-z0-9\-]{1,64}$")
    secret_env: str | None = None
    secret_file: ConfigPath | None = None

    @model_validator(mode="before")
    @classmethod
    def _inline(cls, data: Any) -> Any:
        return refuse_inline(data)

    @model_validator(mode="after")
    def _secret(self) -> SmsAuth:
        _source(self.secret_env, self.secret_file, "secret", required=True)
        if self.kind == "basic" and not self.username:
            raise ValueError("basic auth needs username")
        return self

    def secret(self) -> str:
        """The password, token or header value."""
        value = _source(self.secret_env, self.secret_file, "secret", required=True)
        assert value is not None
        return value.get_secret_value()


class SmsSettings(PeopleSettings):
    """An SMS gateway reached over HTTP, described by a template (see rules/channels/sms.py).

    ``query``, ``headers`` and ``body`` values may hold ``${phone}``, ``${message}``, ``${key}`` (the
    idempotency key) and ``${secret:NAME}`` (one of ``secrets``). ``body_format``: ``json`` (the table as
    a JSON object), ``form`` (URL-encoded) or ``none``. Success: the status is in ``success_status`` and,
    when ``success_field`` (a dotted path into the JSON answer) is given, its value equals ``success_value``.
    """

    url: HttpUrl
    method: Literal["POST", "GET", "PUT"] = "POST"
    query: dict[str, str] = Field(default_factory=dict)
    headers: dict[str, str] = Field(default_factory=dict)
    body: dict[str, str] = Field(default_factory=dict)
    body_format: Literal["json", "form", "none"] = "json"
    auth: SmsAuth | None = None
    secrets: dict[str, SecretRef] = Field(default_factory=dict)
    success_status: tuple[int, ...] = (200,)
    success_field: str | None = None
    success_value: str = ""
    transient_values: tuple[str, ...] = Field(
        default=(), description="values of success_field that mean 'try again later' (e.g. a throttle code)"
    )
    max_chars: int = Field(default=300, ge=20, le=2000, description="longest message text")

    @model_validator(mode="after")
    def _template(self) -> SmsSettings:
        texts = [*self.query.values(), *self.headers.values(), *self.body.values()]
        if not any("${phone}" in t for t in texts) or not any("${message}" in t for t in texts):
            raise ValueError("the template (query, headers or body) must hold ${phone} and ${message}")
        for part, table in (("query", self.query), ("headers", self.headers), ("body", self.body)):
            for name, text in table.items():
                if _SECRETISH.search(name) and "${secret:" not in text:
                    raise ValueError(
                        f"{part}.{name} looks like a secret written in the config; "
                        f'put it in secrets (env or file) and write "${{secret:NAME}}"'
                    )
        for text in texts:
            for name in re.findall(r"\$\{secret:([^}]*)\}", text):
                if name not in self.secrets:
                    raise ValueError(f"${{secret:{name}}} is used but not in secrets")
        for route in self.routes:
            if not route.recipients or any(not PHONE.match(p) for p in route.recipients):
                raise ValueError(f"route {route.name}: recipients must be phone numbers (at least one)")
        return self


class EmailSettings(PeopleSettings):
    """E-mail over SMTP with STARTTLS (required: a server that does not offer it is not sent to)."""

    host: str = Field(min_length=1)
    port: int = Field(default=587, ge=1, le=65535)
    sender: str = Field(pattern=EMAIL.pattern)
    username: str = ""
    password_env: str | None = None
    password_file: ConfigPath | None = None
    ca_file: ConfigPath | None = Field(default=None, description="CA bundle to verify the server with")
    subject_prefix: str = "[stationpipe]"

    @model_validator(mode="after")
    def _check(self) -> EmailSettings:
        given = _source(self.password_env, self.password_file, "password", required=False)
        if (given is None) != (not self.username):
            raise ValueError("give username together with password_env or password_file (or neither)")
        for route in self.routes:
            if not route.recipients or any(not EMAIL.match(a) for a in route.recipients):
                raise ValueError(f"route {route.name}: recipients must be e-mail addresses (at least one)")
        return self

    def password(self) -> str | None:
        """The SMTP password, if the server wants a login."""
        value = _source(self.password_env, self.password_file, "password", required=False)
        return None if value is None else value.get_secret_value()
