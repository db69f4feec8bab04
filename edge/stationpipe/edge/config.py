"""Edge agent configuration (``kind = "edge"``): one station, its devices, the broker, the spool."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Discriminator, Field, Tag, model_validator

from stationpipe.kernel.config import ConfigPath, Model, secret
from stationpipe.kernel.errors import ConfigError
from stationpipe.kernel.geo import (
    DEFAULT_FENCE_RADIUS_M,
    DEFAULT_MAX_DISPLACEMENT_M,
    DEFAULT_MAX_SPEED_M_S,
    DEFAULT_MOVE_WINDOW_S,
)
from stationpipe.kernel.metrics import MetricsSettings
from stationpipe.kernel.mqtt import MqttSettings
from stationpipe.kernel.registermap import Profile, load_profile
from stationpipe.kernel.registry import load_registry

_Unit = Annotated[int, Field(default=1, ge=0, le=255, description="Modbus unit (slave) id")]


class ModbusTcp(Model):
    """Modbus TCP (MBAP framing): an analyser or a Modbus TCP gateway."""

    type: Literal["tcp"] = "tcp"
    host: str
    port: int = Field(default=502, ge=1, le=65535)
    unit: _Unit = 1

    @property
    def line(self) -> str:
        """Devices on the same line share one connection and are polled one request at a time."""
        return f"tcp://{self.host}:{self.port}"


class RtuOverTcp(Model):
    """Modbus RTU frames over a TCP socket (serial device servers in transparent mode)."""

    type: Literal["rtu_over_tcp"]
    host: str
    port: int = Field(ge=1, le=65535)
    unit: _Unit = 1
    gap: float = Field(default=0.01, ge=0, description="seconds of silence between requests on the line")

    @property
    def line(self) -> str:
        """See ``ModbusTcp.line``."""
        return f"rtu+tcp://{self.host}:{self.port}"


class ModbusRtu(Model):
    """Modbus RTU on a local serial port (RS-485), several unit ids per line."""

    type: Literal["rtu"]
    port: str = Field(description="serial device, e.g. /dev/ttyUSB0")
    baudrate: int = Field(default=9600, gt=0)
    parity: Literal["N", "E", "O"] = "N"
    stopbits: Literal[1, 2] = 1
    bytesize: Literal[7, 8] = 8
    unit: _Unit = 1
    gap: float = Field(default=0.02, ge=0, description="seconds of silence between requests on the line")

    @property
    def line(self) -> str:
        """See ``ModbusTcp.line``."""
        return f"rtu://{self.port}"


class AsciiSerial(Model):
    """Plain-ASCII polled sensors (SPL/1, see edge/ascii_protocol.py) on a local serial port."""

    type: Literal["ascii"]
    port: str = Field(description="serial device, e.g. /dev/ttyUSB1")
    baudrate: int = Field(default=9600, gt=0)
    unit: _Unit = 1
    gap: float = Field(default=0.02, ge=0, description="seconds of silence between requests on the line")

    @property
    def line(self) -> str:
        """See ``ModbusTcp.line``."""
        return f"ascii://{self.port}"


def _transport_type(value: object) -> str:
    if isinstance(value, dict):
        return f"type={value.get('type', 'tcp')}"
    return f"type={getattr(value, 'type', 'tcp')}"


#: Which transport a device uses; ``type`` defaults to ``"tcp"``.
Transport = Annotated[
    Annotated[ModbusTcp, Tag("type=tcp")]
    | Annotated[RtuOverTcp, Tag("type=rtu_over_tcp")]
    | Annotated[ModbusRtu, Tag("type=rtu")]
    | Annotated[AsciiSerial, Tag("type=ascii")],
    Discriminator(_transport_type),
]


class Device(Model):
    """One instrument polled on its own interval grid."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.\-]{1,64}$")
    profile: ConfigPath
    transport: Transport
    interval: float = Field(default=60.0, gt=0, description="seconds between polls, aligned to the clock")
    timeout: float = Field(default=2.0, gt=0, description="seconds for one request")
    max_gap: int = Field(default=4, ge=0, description="unused registers a coalesced request may span")
    one_request_per_point: bool = Field(
        default=False, description="escape hatch for devices that refuse spans"
    )

    @cached_property
    def register_map(self) -> Profile:
        """The device's profile, loaded once (validated at start-up by ``stationpipe check``/the agent)."""
        return load_profile(self.profile)


class EdgeMqtt(MqttSettings):
    """The agent's broker connection: MQTT 5 by default, so the broker can say a message reached nobody."""

    protocol: Literal["3.1.1", "5"] = "5"
    require_subscriber: bool = Field(
        default=True,
        description="keep a message in the spool while the broker routes it to no subscriber (MQTT 5 only)",
    )


class SpoolSettings(Model):
    """Bounds of the on-disk spool and how fast a backlog drains after an outage."""

    max_messages: int = Field(default=1_000_000, ge=1)
    max_bytes: int = Field(default=512 * 1024 * 1024, ge=1024)
    max_age: float = Field(default=30 * 86_400.0, gt=0, description="seconds")
    drain_rate: float = Field(default=200.0, gt=0, description="backlog messages per second after an outage")
    window: int = Field(default=32, ge=1, le=1000, description="messages in flight awaiting PUBACK")
    fsync: bool = Field(default=False, description="synchronous=FULL: survive power loss, slower")


class Hj212Uplink(Model):
    """Report this station's data upstream in HJ 212-2017 to a platform over TCP (as a data logger does).

    Every upload asks for a 9014 reply and stays in its own on-disk outbox until the reply arrives.
    """

    host: str
    port: int = Field(ge=1, le=65535)
    mn: str = Field(min_length=1, max_length=64, description="this station's device id (MN)")
    password_env: str | None = None
    password_file: ConfigPath | None = None
    st: str = Field(default="21", pattern=r"^[0-9]{2}$", description="21 surface water, 22 ambient air, …")
    realtime: bool = Field(default=True, description="2011 real-time data for every poll")
    minute_period: float | None = Field(default=600.0, gt=0, description="seconds per 2051 minute record")
    hourly: bool = Field(default=True, description="2061 hourly records")
    reply_timeout: float = Field(default=10.0, gt=0, description="seconds to wait for 9014")

    @model_validator(mode="after")
    def _secret_readable(self) -> Hj212Uplink:
        secret(self.password_env, self.password_file)
        return self

    def password(self) -> str:
        """The PW field (empty when none is configured)."""
        pw = secret(self.password_env, self.password_file)
        return pw.get_secret_value() if pw else ""


class Fence(Model):
    """The electronic fence (电子围栏) of the station's monitoring section; every number here is *policy*.

    The centre is the registered position: ``lat``/``lon`` given here, or read from the ``registry`` file
    (the station's own entry). See docs/fence.md for the defaults and why readings are flagged ``flag``.
    """

    lat: float | None = Field(default=None, ge=-90, le=90, description="registered latitude, WGS 84")
    lon: float | None = Field(default=None, ge=-180, le=180, description="registered longitude, WGS 84")
    registry: ConfigPath | None = Field(default=None, description="take lat/lon from this registry file")
    radius: float = Field(default=DEFAULT_FENCE_RADIUS_M, gt=0, description="metres")
    max_speed: float = Field(default=DEFAULT_MAX_SPEED_M_S, gt=0, description="m/s over ground")
    window: float = Field(default=DEFAULT_MOVE_WINDOW_S, gt=0, description="seconds of displacement window")
    max_displacement: float = Field(default=DEFAULT_MAX_DISPLACEMENT_M, gt=0, description="metres in window")
    flag: Literal["D", "M", "F"] = Field(default="D", description="HJ 212 flag for readings taken outside")

    @model_validator(mode="after")
    def _one_centre(self) -> Fence:
        given = self.lat is not None, self.lon is not None
        if given[0] != given[1]:
            raise ValueError("give both lat and lon")
        if given[0] == (self.registry is not None):
            raise ValueError("give either lat and lon, or registry")
        return self

    def centre(self, station: str) -> tuple[float, float]:
        """The registered position (decimal degrees); ``KeyError`` when the registry lacks the station."""
        if self.lat is not None and self.lon is not None:
            return self.lat, self.lon
        assert self.registry is not None  # the validator guarantees one source
        info = load_registry(self.registry).get(station)
        return info.lat, info.lon


class GnssReceiver(Model):
    """An NMEA 0183 GNSS receiver on a serial port: it streams GGA/RMC sentences and is never polled.

    Its position readings (``gnss_lat``, ``gnss_lon``, ``gnss_speed``, ``fence_dist``, ``fence_move``) are
    published every ``interval`` seconds as device ``name``; see edge/fence.py.
    """

    name: str = Field(default="gnss", pattern=r"^[A-Za-z0-9_.\-]{1,64}$")
    port: str = Field(description="serial device, e.g. /dev/ttyUSB2")
    baudrate: int = Field(default=9600, gt=0, description="NMEA 0183 says 4800; most receivers ship 9600")
    interval: float = Field(default=10.0, gt=0, description="seconds between position readings")
    max_age: float = Field(default=10.0, gt=0, description="a fix older than this counts as none (seconds)")
    fence: Fence


class EdgeConfig(Model):
    """A ``kind = "edge"`` file."""

    kind: Literal["edge"] = "edge"
    station: str = Field(pattern=r"^[A-Za-z0-9_.\-]{1,128}$")
    state_dir: ConfigPath = Field(description="where the agent keeps its spool (and with it the seq counter)")
    status_interval: float = Field(default=30.0, gt=0, description="seconds between status messages")
    mqtt: EdgeMqtt
    spool: SpoolSettings = SpoolSettings()
    metrics: MetricsSettings | None = None
    hj212: Hj212Uplink | None = None
    gnss: GnssReceiver | None = None
    devices: tuple[Device, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _fence_centre_known(self) -> EdgeConfig:
        if self.gnss is not None:
            if self.gnss.name in {d.name for d in self.devices}:
                raise ValueError(f"gnss.name {self.gnss.name!r} is also a device name")
            try:
                self.gnss.fence.centre(self.station)
            except KeyError as exc:
                raise ValueError(f"gnss.fence.registry: {exc.args[0]}") from None
        return self

    @model_validator(mode="after")
    def _consistent(self) -> EdgeConfig:
        names = [d.name for d in self.devices]
        if len(names) != len(set(names)):
            raise ValueError("device names must be unique")
        lines: dict[str, Device] = {}
        for dev in self.devices:
            first = lines.setdefault(dev.transport.line, dev)
            if first.transport.model_dump(exclude={"unit"}) != dev.transport.model_dump(exclude={"unit"}):
                raise ValueError(
                    f"devices {first.name!r} and {dev.name!r} share {dev.transport.line} "
                    "but disagree on its settings"
                )
        return self

    def verify(self, path: Path) -> None:
        """Load every device's profile now, so a bad register map stops start-up (and ``check``)."""
        for i, dev in enumerate(self.devices):
            try:
                _ = dev.register_map
            except ConfigError as exc:
                raise ConfigError(str(path), f"devices[{i}].profile", str(exc)) from None
