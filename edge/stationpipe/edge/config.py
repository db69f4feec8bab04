"""Edge agent configuration (``kind = "edge"``): one station, its devices, the broker, the spool."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from stationpipe.edge.connection import (
    PROTOCOLS,
    SPL1_RETIRED,
    Connection,
    DtuLink,
    Link,
    ProtocolName,
    SerialLink,
    Transport,
)
from stationpipe.edge.dtu import DtuListener
from stationpipe.edge.hj212_analyser import Hj212Analyser
from stationpipe.hj212.keyring import KeyRing, parse_key
from stationpipe.kernel.ascii_template import Template, resolve
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
from stationpipe.kernel.registermap import Profile, ProfileRef, load_profile
from stationpipe.kernel.registry import load_registry


class Device(Model):
    """One instrument polled on its own interval grid; reached by ``protocol`` over ``link`` (with ``unit``
    and ``gap``), or by the older ``transport`` table naming both (see :mod:`stationpipe.edge.connection`).


    Its values are described by a ``profile`` (register map), or, for ``ascii_template``, by a ``template``
    (:mod:`stationpipe.kernel.ascii_template`): a shipped template's name, a path, or an inline table. An
    HJ 212 analyser (``protocol = "hj212"``) has neither: its ``hj212`` table maps factor codes."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.\-]{1,64}$")
    profile: ProfileRef | None = Field(
        default=None, description="register map (Modbus, Bavarian-Hessen): a shipped name or a file"
    )
    template: Template | None = Field(default=None, description="ascii_template: a name, a path or a table")
    hj212: Hj212Analyser | None = Field(default=None, description='protocol = "hj212": MN, edition, factors')
    transport: Transport | None = None
    protocol: ProtocolName | None = None
    link: Link | None = None
    unit: int | None = Field(
        default=None, ge=0, le=999, description="Modbus unit (0-255) or Bavarian-Hessen id (0-999); default 1"
    )
    gap: float | None = Field(
        default=None, ge=0, description="seconds of silence between requests on the line (protocol's default)"
    )
    interval: float = Field(default=60.0, gt=0, description="seconds between polls, aligned to the clock")
    timeout: float = Field(default=2.0, gt=0, description="seconds for one request")
    max_gap: int = Field(default=4, ge=0, description="unused registers a coalesced request may span")
    one_request_per_point: bool = Field(
        default=False, description="escape hatch for devices that refuse spans"
    )

    @field_validator("template", mode="before")
    @classmethod
    def _load_template(cls, value: object, info: ValidationInfo) -> object:
        if value is None:
            return None
        try:
            return resolve(value, (info.context or {}).get("base_dir"))
        except ConfigError as exc:
            raise ValueError(str(exc)) from None

    @field_validator("protocol", mode="before")
    @classmethod
    def _not_retired(cls, value: object) -> object:
        if value == "ascii":
            raise ValueError(SPL1_RETIRED)
        return value

    @field_validator("unit")
    @classmethod
    def _unit_fits_protocol(cls, unit: int | None, info: ValidationInfo) -> int | None:
        protocol = info.data.get("protocol")
        if unit is not None and unit > 255 and protocol != "hessen":
            raise ValueError(f"a {protocol or 'Modbus'} unit id is 0-255 (ids up to 999 are Bavarian-Hessen)")
        return unit

    @field_validator("link")
    @classmethod
    def _protocol_runs_over_link(cls, link: Link | None, info: ValidationInfo) -> Link | None:
        protocol = info.data.get("protocol")
        if link is not None and protocol is not None and link.type not in PROTOCOLS[protocol]:
            over = ", ".join(PROTOCOLS[protocol])
            raise ValueError(
                f"protocol {protocol} does not run over a {link.type} link (it does over: {over})"
            )
        return link

    @model_validator(mode="after")
    def _one_spelling(self) -> Device:
        new = {"protocol": self.protocol, "link": self.link, "unit": self.unit, "gap": self.gap}
        given = [key for key, value in new.items() if value is not None]
        if self.transport is not None and given:
            raise ValueError(f"give either transport, or protocol and link (not both: {', '.join(given)})")
        if self.transport is None and (self.protocol is None or self.link is None):
            raise ValueError("give protocol and link (or a transport table)")
        hj212 = self.protocol == "hj212"
        if self.hj212 is not None and not hj212:
            raise ValueError('the hj212 table belongs to a protocol = "hj212" device')
        if hj212 and (self.profile is not None or self.template is not None):
            raise ValueError("an hj212 device maps factor codes in its hj212 table: no profile, no template")
        return self

    @property
    def analyser(self) -> Hj212Analyser:
        """The ``hj212`` table of an HJ 212 analyser (its defaults when not given)."""
        return self.hj212 if self.hj212 is not None else Hj212Analyser()

    @model_validator(mode="after")
    def _profile_or_template(self) -> Device:
        if self.connection.protocol == "hj212":
            return self  # checked in _one_spelling
        templated = self.connection.protocol == "ascii_template"
        if templated and (self.template is None or self.profile is not None):
            raise ValueError("an ascii_template device names its template (and no profile)")
        if not templated and (self.profile is None or self.template is not None):
            protocol = self.connection.protocol
            raise ValueError(f"a {protocol} device names its profile (a template is for ascii_template)")
        return self

    @cached_property
    def connection(self) -> Connection:
        """Protocol, link, unit and gap, whichever spelling configured them."""
        if self.transport is not None:
            return self.transport.connection()
        assert self.protocol is not None  # _one_spelling guarantees both
        assert self.link is not None
        gap = PROTOCOLS[self.protocol][self.link.type] if self.gap is None else self.gap
        return Connection(self.protocol, self.link, 1 if self.unit is None else self.unit, gap)

    @cached_property
    def register_map(self) -> Profile:
        """The device's profile, loaded once (validated at start-up by ``stationpipe check``/the agent)."""
        if self.profile is None:
            raise ConfigError(self.name, "profile", f"a {self.connection.protocol} device has no profile")
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
    fsync_interval: float | None = Field(
        default=5.0,
        ge=0,
        description="at most this many seconds between fsyncs of the spool (0: every message; above ~35 s "
        "the kernel's writeback comes first): what a power cut can lose, against flash wear (docs/design.md)",
    )
    fsync: bool = Field(default=False, description="fsync every message (the same as fsync_interval = 0)")

    def fsync_every(self) -> float | None:
        """The fsync interval in effect (``fsync = true`` means every message)."""
        return 0.0 if self.fsync else self.fsync_interval


class Hj212Uplink(Model):
    """Report this station's data upstream in HJ 212 to a platform over TCP (as a data logger does).

    Every upload asks for a 9014 reply and stays in its own on-disk outbox until the reply arrives.
    ``version = "2025"`` speaks HJ 212-2025: the data areas of uploads are SM4-encrypted with the station's
    key (``key_env`` or ``key_file``; without one they go in plaintext, as allowed on a private network),
    records re-sent after an outage carry ``RF=1``, and a 9015 heartbeat goes every ``heartbeat_interval``.
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
    version: Literal["2017", "2025"] = Field(default="2017", description="the edition of HJ 212 spoken")
    key_env: str | None = Field(default=None, description="environment variable holding the SM4 key (2025)")
    key_file: ConfigPath | None = Field(
        default=None, description="file holding the SM4 key: 32 hex digits, or 'MN=HEX' lines (2025)"
    )
    heartbeat_interval: float = Field(
        default=60.0, gt=0, description="seconds between 9015 heartbeats (2025)"
    )

    @model_validator(mode="after")
    def _secret_readable(self) -> Hj212Uplink:
        secret(self.password_env, self.password_file)
        return self

    @field_validator("key_env", "key_file", "heartbeat_interval")
    @classmethod
    def _only_for_2025(cls, value: object, info: ValidationInfo) -> object:
        if info.data.get("version", "2025") != "2025":
            raise ValueError(f'{info.field_name} is an HJ 212-2025 setting: set version = "2025"')
        return value

    @field_validator("key_env")
    @classmethod
    def _env_key_readable(cls, value: str | None) -> str | None:
        if value is not None:
            _key_from_env(value)
        return value

    @field_validator("key_file")
    @classmethod
    def _file_key_readable(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        if value is None:
            return None
        if info.data.get("key_env") is not None:
            raise ValueError("give key_env or key_file, not both")
        if "mn" in info.data:
            _key_from_file(value, info.data["mn"])
        return value

    def password(self) -> str:
        """The PW field (empty when none is configured)."""
        pw = secret(self.password_env, self.password_file)
        return pw.get_secret_value() if pw else ""

    def key(self) -> bytes | None:
        """The station's SM4 key, read now (``None`` when none is configured); ``ValueError`` says where it
        was looked for and what is wrong, never the key."""
        if self.key_env is not None:
            return _key_from_env(self.key_env)
        if self.key_file is not None:
            return _key_from_file(self.key_file, self.mn)
        return None


def _key_from_env(name: str) -> bytes:
    value = secret(name, None)
    assert value is not None  # secret() returns a value or raises when a name is given
    return parse_key(value.get_secret_value(), f"environment variable {name}")


def _key_from_file(path: Path, mn: str) -> bytes:
    """The key of ``mn`` in a key file (``stationpipe.hj212.keyring`` format: the MN's line, else the line
    with a key alone); ``ValueError`` naming the file and the line, never the key."""
    try:
        ring = KeyRing.from_file(path)
    except OSError as exc:
        raise ValueError(f"cannot read key file {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ValueError(f"key file {path} is not UTF-8 text") from None
    key = ring.key_for(mn)
    if key is None:
        raise ValueError(f"key file {path} has no key for MN {mn} (nor a key for every MN)")
    return key


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

    @property
    def connection(self) -> Connection:
        """NMEA 0183 over a serial link: a pushed device, never polled."""
        return Connection("nmea", SerialLink(type="serial", port=self.port, baudrate=self.baudrate), 0, 0.0)


def station_phase(station: str, interval: float) -> float:
    """A station's own offset into ``interval``: the first 8 bytes of SHA-256 of its id, modulo the
    interval in whole milliseconds. The same station has the same phase in every process and on every
    start (Python's ``hash()`` is salted per process); a fleet's phases spread evenly over the interval."""
    digest = int.from_bytes(hashlib.sha256(station.encode()).digest()[:8], "big")
    return (digest % max(1, round(interval * 1000))) / 1000


@dataclass(frozen=True, slots=True)
class Line:
    """One protocol on one link, and the devices configured with both (none for a pushed device)."""

    connection: Connection
    devices: tuple[Device, ...]


class EdgeConfig(Model):
    """A ``kind = "edge"`` file."""

    kind: Literal["edge"] = "edge"
    station: str = Field(pattern=r"^[A-Za-z0-9_.\-]{1,128}$")
    state_dir: ConfigPath = Field(description="where the agent keeps its spool (and with it the seq counter)")
    status_interval: float = Field(default=30.0, gt=0, description="seconds between status messages")
    poll_phase: Literal["auto", "off"] | Annotated[float, Field(ge=0)] = Field(
        default="auto",
        description='where in each interval the devices are polled: "auto" an offset from a hash of the '
        'station id (a fleet spreads over the interval), "off" on the clock grid (k * interval), or '
        "seconds after it (taken modulo each device's interval)",
    )
    mqtt: EdgeMqtt
    spool: SpoolSettings = SpoolSettings()
    metrics: MetricsSettings | None = None
    hj212: Hj212Uplink | None = None
    gnss: GnssReceiver | None = None
    dtu: DtuListener | None = None
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
            line = dev.connection.line
            first = lines.setdefault(line, dev)
            if (first.connection.link, first.connection.gap) != (dev.connection.link, dev.connection.gap):
                raise ValueError(
                    f"devices {first.name!r} and {dev.name!r} share {line} but disagree on its settings"
                )
            if first is not dev and any(d.template is not None and d.template.pushed for d in (first, dev)):
                raise ValueError(
                    f"devices {first.name!r} and {dev.name!r} share {line}, but an instrument that pushes "
                    "its records (a template without request) needs a line of its own"
                )
        return self

    def phase(self, interval: float) -> float:
        """The offset into ``interval`` at which this station's devices of that interval are polled."""
        if self.poll_phase == "auto":
            return station_phase(self.station, interval)
        if self.poll_phase == "off":
            return 0.0
        return self.poll_phase % interval

    @model_validator(mode="after")
    def _dtus_listened_for(self) -> EdgeConfig:
        protocols: dict[str, str] = {}
        for dev in self.devices:
            link = dev.connection.link
            if not isinstance(link, DtuLink):
                continue
            if self.dtu is None:
                raise ValueError(f"device {dev.name!r} is on DTU {link.id!r}: add a [dtu] listener")
            try:
                self.dtu.registration.normal(link.id)
            except ValueError as exc:
                raise ValueError(f"device {dev.name!r}: DTU id with hex registrations: {exc}") from None
            first = protocols.setdefault(link.id, dev.connection.protocol)
            if first != dev.connection.protocol:
                raise ValueError(
                    f"DTU {link.id!r} carries both {first} and {dev.connection.protocol}: "
                    "one protocol per DTU (one serial bus)"
                )
        return self

    def dtu_ids(self) -> tuple[str, ...]:
        """The ids of every DTU a device is on, in configuration order."""
        ids = (d.connection.link.id for d in self.devices if isinstance(d.connection.link, DtuLink))
        return tuple(dict.fromkeys(ids))

    def lines(self) -> list[Line]:
        """Every line with its devices, in configuration order; the GNSS receiver's line last. (The
        ``[dtu]`` listener is not a line: the agent runs it beside the lines on DTU links.)"""
        grouped: dict[str, list[Device]] = {}
        for dev in self.devices:
            grouped.setdefault(dev.connection.line, []).append(dev)
        lines = [Line(group[0].connection, tuple(group)) for group in grouped.values()]
        if self.gnss is not None:
            lines.append(Line(self.gnss.connection, ()))
        return lines

    def verify(self, path: Path) -> None:
        """Load every device's profile now, so a bad register map stops start-up (and ``check``)."""
        for i, dev in enumerate(self.devices):
            if dev.profile is None:
                continue  # an hj212 table or a template: validated with the configuration
            try:
                profile = dev.register_map
            except ConfigError as exc:
                raise ConfigError(str(path), f"devices[{i}].profile", str(exc)) from None
            if profile.by_channel != (dev.connection.protocol == "hessen"):
                reason = (
                    "a hessen device needs a profile whose points name channels"
                    if dev.connection.protocol == "hessen"
                    else f"a {dev.connection.protocol} device needs register points, not channels"
                )
                raise ConfigError(str(path), f"devices[{i}].profile", reason)
