"""Collector configuration (``kind = "collector"``)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, HttpUrl, SecretStr, model_validator

from station.config import ConfigPath, Model, secret
from station.mqtt import MqttSettings


class InfluxSettings(Model):
    """Where readings are written. ``v1`` is the ``/write`` API (1.x, and 2.x/3.x compatibility)."""

    api: Literal["v1"] = "v1"
    url: HttpUrl
    database: str = Field(min_length=1)
    username: str | None = None
    password_env: str | None = None
    password_file: ConfigPath | None = None
    timeout: float = Field(default=10.0, gt=0)
    gzip: bool = True

    @model_validator(mode="after")
    def _secret_readable(self) -> InfluxSettings:
        secret(self.password_env, self.password_file)
        return self

    def password(self) -> SecretStr | None:
        """The database password, read when needed so it never sits in a repr."""
        return secret(self.password_env, self.password_file)


class BatchSettings(Model):
    """A batch is written when it holds ``max_points`` or its oldest message is ``max_age`` seconds old."""

    max_points: int = Field(default=5000, ge=1)
    max_age: float = Field(default=1.0, gt=0)


class CollectorConfig(Model):
    """A ``kind = "collector"`` file."""

    kind: Literal["collector"] = "collector"
    group: str = Field(
        default="collectors",
        pattern=r"^[A-Za-z0-9_\-]{1,64}$",
        description="shared-subscription group: collectors in one group split the load",
    )
    mqtt: MqttSettings
    influx: InfluxSettings
    batch: BatchSettings = BatchSettings()
