"""Collector configuration (``kind = "collector"``).

Example (every table but ``[mqtt]`` and ``[influx]`` is optional)::

    kind = "collector"
    group = "collectors"
    state_dir = "/var/lib/stationpipe/collector"   # spool.sqlite3 and deadletters.jsonl
    registry = "registry.toml"                     # written to the `stations` measurement

    [mqtt]
    client_id = "collector-1"

    [influx]
    api = "v2"                      # or "v1" (/write; 1.x and 2.x/3.x compatibility)
    url = "http://127.0.0.1:8086"
    org = "stations"
    bucket = "stationpipe"
    token_env = "STATIONPIPE_INFLUX_TOKEN"

    [batch]
    max_points = 5000
    max_messages = 500
    max_age = 1.0

    [spool]
    max_mb = 1024

    [clock]
    max_ahead = 60.0                # readings stamped further ahead are stored marked

    [partition]                     # collector 0 of 2: owns the registry's stations whose id hashes to 0
    count = 2                       # (plain per-station subscriptions, restored after a broker restart;
    index = 0                       # set shared = false) - docs/broker_restart.md

    [metrics]
    port = 9108
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, HttpUrl, SecretStr, model_validator

from stationpipe.kernel.config import ConfigPath, Model, secret
from stationpipe.kernel.metrics import MetricsSettings
from stationpipe.kernel.mqtt import SHARED_HELP, MqttSettings
from stationpipe.kernel.partition import Partition


class InfluxSettings(Model):
    """Where points are written.

    ``v1`` is ``/write`` (1.x, and 2.x/3.x compatibility) with ``database`` and optional basic auth;
    ``v2`` is ``/api/v2/write`` through influxdb-client with ``org``, ``bucket`` and a token.
    """

    api: Literal["v1", "v2"] = "v1"
    url: HttpUrl
    database: str | None = Field(default=None, min_length=1)
    username: str | None = None
    password_env: str | None = None
    password_file: ConfigPath | None = None
    org: str | None = Field(default=None, min_length=1)
    bucket: str | None = Field(default=None, min_length=1)
    token_env: str | None = None
    token_file: ConfigPath | None = None
    timeout: float = Field(default=10.0, gt=0, description="seconds for one write request")
    gzip: bool = True

    @model_validator(mode="after")
    def _consistent(self) -> InfluxSettings:
        if self.api == "v1" and self.database is None:
            raise ValueError("api = 'v1' needs database")
        if self.api == "v2" and (self.org is None or self.bucket is None):
            raise ValueError("api = 'v2' needs org and bucket")
        secret(self.password_env, self.password_file)  # fail at start-up, not at the first write
        secret(self.token_env, self.token_file)
        return self

    def password(self) -> SecretStr | None:
        """The v1 password, read when needed so it never sits in a repr."""
        return secret(self.password_env, self.password_file)

    def token(self) -> SecretStr | None:
        """The v2 API token, read when needed so it never sits in a repr."""
        return secret(self.token_env, self.token_file)


class BatchSettings(Model):
    """A batch is written when it holds ``max_points`` points or ``max_messages`` messages, when its
    oldest message is ``max_age`` seconds old, or when no message came for ``max_idle`` seconds (so a
    broker that stops sending at its in-flight limit, waiting for our acknowledgements, never stalls us);
    and, when no other batch is being written, once its oldest message is ``gather`` seconds old (group
    commit: a light load waits one write, not ``max_age``; under load batches grow while writes run).

    ``max_messages`` must stay below the broker's unacknowledged in-flight limit per client (Mosquitto's
    ``max_inflight_messages``); half of it lets one batch be written while the next one fills.
    """

    max_points: int = Field(default=5000, ge=1)
    max_messages: int = Field(default=500, ge=1)
    max_age: float = Field(default=1.0, gt=0)
    max_idle: float = Field(
        default=0.05, gt=0, description="seconds without a new message after which the batch is written"
    )
    gather: float = Field(
        default=0.05, gt=0, description="seconds a batch gathers when no other batch is being written"
    )


class SpoolSettings(Model):
    """The disk spool that holds batches while the database is unavailable (bounded by size, MiB)."""

    max_mb: float = Field(default=1024.0, gt=0)


class ClockSettings(Model):
    """Readings stamped ahead of the collector's clock (a station clock running fast): collector/clock.py."""

    max_ahead: float = Field(
        default=60.0, gt=0, description="seconds ahead of this clock before a reading is marked (policy)"
    )


class CollectorConfig(Model):
    """A ``kind = "collector"`` file."""

    kind: Literal["collector"] = "collector"
    group: str = Field(
        default="collectors",
        pattern=r"^[A-Za-z0-9_\-]{1,64}$",
        description="shared-subscription group: collectors in one group split the load",
    )
    shared: bool = Field(default=True, description=SHARED_HELP)
    state_dir: ConfigPath = Field(
        default=Path("collector-state"),
        validate_default=True,
        description="spool and dead-letter file; one per collector instance",
    )
    registry: ConfigPath | None = None
    status_every: float = Field(
        default=15.0, gt=0, description="seconds between health lines on stations/_<client id>/status"
    )
    mqtt: MqttSettings
    influx: InfluxSettings
    batch: BatchSettings = BatchSettings()
    spool: SpoolSettings = SpoolSettings()
    clock: ClockSettings = ClockSettings()
    metrics: MetricsSettings | None = None
    partition: Partition = Field(
        default=Partition(),
        description="split the stations across count collectors; each subscribes to its own stations' "
        "readings by name (from the registry), index 0 also to every derived result and warning",
    )

    @model_validator(mode="after")
    def _partition_knows_stations(self) -> CollectorConfig:
        if self.partition.count > 1 and self.registry is None:
            raise ValueError("a partitioned collector subscribes to its stations by name: give a registry")
        return self
