"""Edge agent configuration (``kind = "edge"``): one station, its devices, the broker."""

from __future__ import annotations

from functools import cached_property
from typing import Literal

from pydantic import Field, model_validator

from station.config import ConfigPath, Model
from station.mqtt import MqttSettings
from station.registermap import Profile, load_profile


class ModbusTcp(Model):
    """A Modbus TCP endpoint (an analyser or a serial gateway)."""

    type: Literal["tcp"] = "tcp"
    host: str
    port: int = Field(default=502, ge=1, le=65535)
    unit: int = Field(default=1, ge=0, le=255)


class Device(Model):
    """One instrument polled on its own interval grid."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.\-]{1,64}$")
    profile: ConfigPath
    transport: ModbusTcp
    interval: float = Field(default=60.0, gt=0, description="seconds between polls, aligned to the clock")
    timeout: float = Field(default=2.0, gt=0, description="seconds for one request")
    max_gap: int = Field(default=4, ge=0, description="unused registers a coalesced request may span")

    @cached_property
    def register_map(self) -> Profile:
        """The device's profile, loaded once (validated at start-up by the agent config)."""
        return load_profile(self.profile)


class EdgeConfig(Model):
    """A ``kind = "edge"`` file."""

    kind: Literal["edge"] = "edge"
    station: str = Field(pattern=r"^[A-Za-z0-9_.\-]{1,128}$")
    state_dir: ConfigPath = Field(description="where the agent keeps its sequence number (and spool)")
    queue_size: int = Field(
        default=10_000, ge=1, description="messages held in memory while the broker is away"
    )
    mqtt: MqttSettings
    devices: tuple[Device, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_devices(self) -> EdgeConfig:
        names = [d.name for d in self.devices]
        if len(names) != len(set(names)):
            raise ValueError("device names must be unique")
        return self
