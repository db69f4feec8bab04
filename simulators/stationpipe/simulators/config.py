"""Simulator configuration (``kind = "sim"``): instruments, where they are served, scenarios, control.

Transports of a device:

- ``tcp``      Modbus TCP on ``host:port`` (several unit ids per port);
- ``rtu-tcp``  Modbus RTU frames over TCP on ``host:port`` (a serial-to-Ethernet converter);
- ``serial``   on the serial line ``line`` (a ``[[lines]]`` entry: a pty speaking ``rtu``, ``hessen``,
               Bavarian-Hessen air analysers whose profile points name channels, or ``template``,
               instruments printing ASCII records from their ``template``; a template line may be
               served on TCP instead, as a serial device server).

``[[analysers]]`` are HJ 212 analysers pushing real-time frames on a pty or a TCP port of their own.

A ``[[dtus]]`` entry is a 4G DTU (simulators/dtu.py) that dials in to an edge's ``[dtu]`` listener and
bridges bytes to a serial line on a pty (``line``) or to an ``rtu-tcp`` endpoint served here
(``target_port``).
"""

from __future__ import annotations

from collections import Counter
from typing import Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from stationpipe.hj212.keyring import parse_key
from stationpipe.kernel.ascii_template import Template, resolve
from stationpipe.kernel.catalogue import CATALOGUE
from stationpipe.kernel.config import ConfigPath, Model, secret
from stationpipe.kernel.errors import ConfigError
from stationpipe.kernel.registermap import ProfileRef
from stationpipe.kernel.registry import WaterClass
from stationpipe.simulators.model import StationModel
from stationpipe.simulators.scenarios import Scenario

_NAME = r"^[A-Za-z0-9_.\-]{1,64}$"


class SimDevice(Model):
    """One simulated instrument: a profile served under a unit id, on TCP or on a serial line; on a
    ``template`` line, a record template (a shipped name, a path, or an inline table) instead."""

    name: str = Field(pattern=_NAME)
    station: str
    profile: ProfileRef | None = None
    template: Template | None = None
    transport: Literal["tcp", "rtu-tcp", "serial"] = "tcp"
    host: str = "127.0.0.1"
    port: int | None = Field(default=None, ge=1, le=65535, description="tcp and rtu-tcp")
    line: str | None = Field(default=None, description="serial: the [[lines]] name")
    unit: int = Field(default=1, ge=1, le=247)
    seed: int = 0
    water_class: WaterClass = WaterClass.II
    air_level: float = Field(default=1.0, gt=0, le=10, description="air pollution relative to a typical day")

    @field_validator("water_class", mode="before")
    @classmethod
    def _parse_class(cls, value: object) -> object:
        return WaterClass.parse(value) if isinstance(value, str | int) else value

    @field_validator("template", mode="before")
    @classmethod
    def _load_template(cls, value: object, info: ValidationInfo) -> object:
        if value is None:
            return None
        try:
            return resolve(value, (info.context or {}).get("base_dir"))
        except ConfigError as exc:
            raise ValueError(str(exc)) from None

    @model_validator(mode="after")
    def _profile_or_template(self) -> SimDevice:
        if (self.profile is None) == (self.template is None):
            raise ValueError("give a profile, or a template (on a template line), not both")
        return self

    @model_validator(mode="after")
    def _endpoint(self) -> SimDevice:
        if self.transport == "serial" and (self.line is None or self.port is not None):
            raise ValueError("a serial device needs line (and no port)")
        if self.transport != "serial" and (self.port is None or self.line is not None):
            raise ValueError(f"a {self.transport} device needs port (and no line)")
        return self


class SerialLine(Model):
    """A serial line on a pseudo-terminal; ``link`` is an optional symlink to the pty path."""

    name: str = Field(pattern=_NAME)
    protocol: Literal["rtu", "hessen", "template"] = "rtu"
    baudrate: int = Field(default=9600, gt=0)
    link: ConfigPath | None = None
    bcc_errors: float = Field(
        default=0.0, ge=0, le=1, description="hessen: the fraction of replies sent with a garbled BCC"
    )
    checksum_errors: float = Field(
        default=0.0, ge=0, le=1, description="template: the fraction of records sent with a garbled checksum"
    )
    period: float = Field(default=1.0, gt=0, description="template: seconds between pushed records")
    host: str = Field(default="127.0.0.1", description="template: where the TCP port listens")
    port: int | None = Field(
        default=None, ge=1, le=65535, description="template: serve on TCP (a serial device server), no pty"
    )
    seed: int = 0

    @field_validator("protocol", mode="before")
    @classmethod
    def _not_retired(cls, value: object) -> object:
        if value == "ascii":
            raise ValueError(
                'the SPL/1 "ascii" line is retired: use protocol = "template" and give each device '
                'template = "spl1-water-five" (the SPL/1 example template) instead of a profile'
            )
        return value

    @model_validator(mode="after")
    def _settings_of_protocol(self) -> SerialLine:
        if self.bcc_errors and self.protocol != "hessen":
            raise ValueError("bcc_errors belongs to a hessen line")
        if (self.checksum_errors or self.port is not None) and self.protocol != "template":
            raise ValueError("checksum_errors and port belong to a template line")
        return self


class Control(Model):
    """The HTTP control channel (loopback only by default)."""

    host: str = "127.0.0.1"
    port: int = Field(ge=1, le=65535)


class HjLogger(Model):
    """A simulated HJ 212 data logger: uploads 2011 every ``interval`` s and 2061 at every full hour."""

    name: str = Field(pattern=_NAME)
    station: str
    mn: str = Field(min_length=1, max_length=64)
    password: str = Field(default="123456", description="the PW it sends (a simulator's, not a secret)")
    host: str = "127.0.0.1"
    port: int = Field(ge=1, le=65535, description="the platform's HJ 212 port")
    st: str = "21"
    parameters: tuple[str, ...] = ("temp", "ph", "do", "cond", "turb", "codmn", "nh3n", "tp", "tn")
    interval: float = Field(default=30.0, gt=0)
    hourly: bool = True
    seed: int = 0
    water_class: WaterClass = WaterClass.II
    version: Literal["2017", "2025"] = Field(default="2017", description="the edition of HJ 212 it speaks")
    key_env: str | None = Field(
        default=None, description="HJ 212-2025: variable holding its SM4 key (32 hex)"
    )
    heartbeat: float | None = Field(default=None, gt=0, description="HJ 212-2025: seconds between 9015")

    @model_validator(mode="after")
    def _key_is_2025(self) -> HjLogger:
        if (self.key_env or self.heartbeat) and self.version != "2025":
            raise ValueError("key_env and heartbeat are HJ 212-2025: set version = '2025'")
        self.key()
        return self

    def key(self) -> bytes | None:
        """Its SM4 key from ``key_env``, or ``None``; errors never show the key."""
        text = secret(self.key_env, None)
        return None if text is None else parse_key(text.get_secret_value(), f"key of logger {self.name}")

    @field_validator("water_class", mode="before")
    @classmethod
    def _parse_class(cls, value: object) -> object:
        return WaterClass.parse(value) if isinstance(value, str | int) else value


class HjAnalyserSim(Model):
    """An analyser speaking HJ 212 to its data logger (simulators/hj212_analyser.py) on its own pty (``link``)
    or as a TCP server on ``port`` (a serial device server): CN 2011 real-time data every ``interval`` s
    (``mode = "push"``) or in answer to a CN 2011 request (``mode = "request"``), at the line's baud rate.
    ``noise_every``, ``bad_crc_every`` and ``split_every`` (every n-th frame; 0: never) put line noise
    before a frame, send it with a wrong CRC, or write it in two parts with a pause between them.
    Scenarios act on it by ``name``: flags become its data flags, ``silent`` keeps it quiet."""

    name: str = Field(pattern=_NAME)
    mn: str = Field(min_length=1, max_length=64)
    password: str = Field(default="123456", description="the PW it sends (a simulator's, not a secret)")
    st: str = Field(default="21", pattern=r"^[0-9]{2}$")
    parameters: tuple[str, ...] = Field(default=("codmn",), min_length=1, description="catalogue codes")
    version: Literal["2017", "2025"] = "2017"
    key_env: str | None = Field(
        default=None, description="HJ 212-2025: variable holding its SM4 key (32 hex)"
    )
    mode: Literal["push", "request"] = "push"
    ack: bool = Field(default=True, description="its uploads ask for the logger's 9014 reply (Flag A bit)")
    interval: float = Field(default=10.0, gt=0, description="push: seconds between real-time frames")
    link: ConfigPath | None = Field(default=None, description="symlink to its pty")
    host: str = "127.0.0.1"
    port: int | None = Field(default=None, ge=1, le=65535, description="serve TCP here instead of a pty")
    baudrate: int = Field(default=9600, gt=0)
    noise_every: int = Field(default=0, ge=0)
    bad_crc_every: int = Field(default=0, ge=0)
    split_every: int = Field(default=0, ge=0)
    seed: int = 0
    water_class: WaterClass = WaterClass.II
    air_level: float = Field(default=1.0, gt=0, le=10)

    @field_validator("water_class", mode="before")
    @classmethod
    def _parse_class(cls, value: object) -> object:
        return WaterClass.parse(value) if isinstance(value, str | int) else value

    @field_validator("parameters")
    @classmethod
    def _coded(cls, parameters: tuple[str, ...]) -> tuple[str, ...]:
        for code in parameters:
            row = CATALOGUE.get(code)
            if row is None or row.hj212 is None:
                raise ValueError(f"{code!r} is not a catalogue parameter with an HJ 212 code")
            if code not in StationModel.typical(WaterClass.II).behaviours:
                raise ValueError(f"{code!r} is not simulated by the station model")
        return parameters

    @model_validator(mode="after")
    def _consistent(self) -> HjAnalyserSim:
        if self.key_env and self.version != "2025":
            raise ValueError("key_env is HJ 212-2025: set version = '2025'")
        if self.port is not None and self.link is not None:
            raise ValueError("give link (a pty) or port (TCP), not both")
        self.key()
        return self

    def key(self) -> bytes | None:
        """Its SM4 key from ``key_env``, or ``None``; errors never show the key."""
        text = secret(self.key_env, None)
        return None if text is None else parse_key(text.get_secret_value(), f"key of analyser {self.name}")


class GnssSim(Model):
    """A GNSS receiver (simulators/gnss_sensor.py) on its own pty: NMEA GGA + RMC every ``period`` seconds at
    (``lat``, ``lon``) with ``jitter`` metres of noise; ``drift`` scenarios on ``gnss_lat``/``gnss_lon``
    (degrees per hour) move it, ``fault`` takes its fix away, ``silent`` and ``garbage`` act on the line."""

    name: str = Field(pattern=_NAME)
    station: str
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    link: ConfigPath | None = None
    period: float = Field(default=1.0, gt=0)
    jitter: float = Field(default=1.0, ge=0, description="metres, one standard deviation per axis")
    talker: Literal["GP", "GN", "BD"] = "GN"
    seed: int = 0


def _bytes_of(text: str | None, hex_text: str | None, what: str) -> bytes | None:
    if text is not None and hex_text is not None:
        raise ValueError(f"give {what} or {what}_hex, not both")
    if hex_text is not None:
        try:
            return bytes.fromhex(hex_text)
        except ValueError:
            raise ValueError(f"{what}_hex is not hex bytes") from None
    return text.encode() if text is not None else None


class DtuSim(Model):
    """A 4G DTU: dials in to ``host:port`` (the edge's listener), sends its registration packet, a heartbeat
    every ``heartbeat_interval`` s, and bridges bytes to its serial bus: the ``[[lines]]`` entry ``line``
    (a pty, as a DTU's RS-485 port) or the ``rtu-tcp`` endpoint ``target_host:target_port`` served here.
    It drops the connection every ``drop_every`` s (if set) or while an ``offline`` scenario names it, and
    redials after ``redial`` s, doubling to ``redial_cap`` while dialling fails. ``split_replies`` sends a
    heartbeat in the middle of every reply (three packets), as a DTU may between two serial bursts."""

    name: str = Field(pattern=_NAME)
    host: str = "127.0.0.1"
    port: int = Field(ge=1, le=65535, description="the edge's DTU listener")
    registration: str | None = Field(default=None, description="registration packet as text")
    registration_hex: str | None = Field(default=None, description="registration packet as hex bytes")
    heartbeat: str | None = Field(default=None, description="heartbeat packet as text")
    heartbeat_hex: str | None = Field(default=None, description="heartbeat packet as hex bytes")
    heartbeat_interval: float = Field(default=30.0, gt=0)
    heartbeat_reply: str | None = Field(
        default=None, description="what the edge answers to a heartbeat (text): kept off the serial bus"
    )
    line: str | None = Field(default=None, description="the [[lines]] entry it bridges to")
    target_host: str = "127.0.0.1"
    target_port: int | None = Field(default=None, ge=1, le=65535, description="an rtu-tcp endpoint here")
    redial: float = Field(default=1.0, gt=0)
    redial_cap: float = Field(default=30.0, gt=0)
    drop_every: float | None = Field(default=None, gt=0, description="seconds connected before it drops")
    split_replies: bool = False

    @model_validator(mode="after")
    def _consistent(self) -> DtuSim:
        if self.registration_packet() is None:
            raise ValueError("give registration (text) or registration_hex")
        beat = self.heartbeat_packet()
        if (self.line is None) == (self.target_port is None):
            raise ValueError("give line or target_port (the serial bus it bridges to)")
        if self.split_replies and beat is None:
            raise ValueError("split_replies needs a heartbeat")
        if self.redial_cap < self.redial:
            raise ValueError("redial_cap is less than redial")
        return self

    def registration_packet(self) -> bytes | None:
        """The registration packet's bytes."""
        return _bytes_of(self.registration, self.registration_hex, "registration")

    def heartbeat_packet(self) -> bytes | None:
        """The heartbeat packet's bytes (``None``: it sends none)."""
        return _bytes_of(self.heartbeat, self.heartbeat_hex, "heartbeat")


class SimConfig(Model):
    """A ``kind = "sim"`` file."""

    kind: Literal["sim"] = "sim"
    control: Control | None = None
    lines: tuple[SerialLine, ...] = ()
    devices: tuple[SimDevice, ...] = ()
    loggers: tuple[HjLogger, ...] = ()
    scenarios: tuple[Scenario, ...] = ()
    gnss: tuple[GnssSim, ...] = ()
    analysers: tuple[HjAnalyserSim, ...] = ()
    dtus: tuple[DtuSim, ...] = ()

    @model_validator(mode="after")
    def _consistent(self) -> SimConfig:
        if not self.devices and not self.loggers and not self.gnss and not self.analysers:
            raise ValueError("nothing to simulate: give [[devices]], [[loggers]], [[gnss]] or [[analysers]]")
        _unique("device names", [d.name for d in self.devices])
        _unique("line names", [ln.name for ln in self.lines])
        _unique("scenario names", [s.name for s in self.scenarios])
        lines = {ln.name: ln for ln in self.lines}
        for d in self.devices:
            if d.line is not None and d.line not in lines:
                raise ValueError(f"device {d.name!r}: line {d.line!r} is not in [[lines]]")
            templated = d.line is not None and lines[d.line].protocol == "template"
            if templated != (d.template is not None):
                where = "a template goes on a template line, a profile elsewhere"
                raise ValueError(f"device {d.name!r}: {where}")
        _unique("unit ids on one endpoint", [f"{_where(d)} unit {d.unit}" for d in self.devices])
        framing: dict[str, str] = {}
        for d in self.devices:
            if framing.setdefault(_where(d), d.transport) != d.transport:
                raise ValueError(f"{_where(d)} is served as both {framing[_where(d)]} and {d.transport}")
        named = [
            *(d.name for d in self.devices),
            *(g.name for g in self.gnss),
            *(a.name for a in self.analysers),
            *(t.name for t in self.dtus),
        ]
        names = set(named)
        _unique("device, gnss, analyser and dtu names", named)
        for s in self.scenarios:
            if unknown := set(s.named()) - names:
                raise ValueError(f"scenario {s.name!r}: unknown devices {sorted(unknown)}")
        return self

    @model_validator(mode="after")
    def _dtus_have_a_bus(self) -> SimConfig:
        lines = {ln.name: ln for ln in self.lines}
        served = {(d.host, d.port) for d in self.devices if d.transport == "rtu-tcp"}
        for t in self.dtus:
            if t.line is not None and t.line not in lines:
                raise ValueError(f"dtu {t.name!r}: line {t.line!r} is not in [[lines]]")
            if t.line is not None and lines[t.line].port is not None:
                raise ValueError(f"dtu {t.name!r}: line {t.line!r} is served on TCP, not on a pty")
            if t.target_port is not None and (t.target_host, t.target_port) not in served:
                where = f"{t.target_host}:{t.target_port}"
                raise ValueError(f"dtu {t.name!r}: no rtu-tcp device is served on {where}")
        return self


def _where(d: SimDevice) -> str:
    return f"line {d.line}" if d.line is not None else f"{d.host}:{d.port}"


def _unique(what: str, names: list[str]) -> None:
    dupes = sorted(n for n, count in Counter(names).items() if count > 1)
    if dupes:
        raise ValueError(f"{what} must be unique: {', '.join(dupes)}")
