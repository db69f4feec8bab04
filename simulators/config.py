"""Simulator configuration: which simulated instruments to serve, where, and how they behave."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from station.config import ConfigPath, Model
from station.registry import WaterClass


class SimDevice(Model):
    """One simulated instrument: a profile served at host:port under a Modbus unit id."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.\-]{1,64}$")
    station: str
    profile: ConfigPath
    host: str = "127.0.0.1"
    port: int = Field(ge=1, le=65535)
    unit: int = Field(default=1, ge=1, le=247)
    seed: int = 0
    water_class: WaterClass = WaterClass.II

    @field_validator("water_class", mode="before")
    @classmethod
    def _parse_class(cls, value: object) -> object:
        return WaterClass.parse(value) if isinstance(value, str | int) else value


class SimConfig(Model):
    """A ``kind = "sim"`` file."""

    kind: Literal["sim"] = "sim"
    devices: tuple[SimDevice, ...] = Field(min_length=1)
