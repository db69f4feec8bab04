"""Device register maps as data (profiles), shared by the simulators and the edge agent,
and the pure word/byte-order codec both sides use.

A profile file (``kind = "profile"``) describes one instrument model: its points (parameter, register
type, address, data type, word/byte order, scale and offset, unit, range) and its status bits. A point
of an analyser read over Bavarian-Hessen names its ``channel`` (the component number in the DA reply)
instead of a register address; a profile's points either all name a channel or none does.

Profiles ship with the kernel (``stationpipe/kernel/profiles/*.toml``, package data): a config names one by
its file stem (``profile = "teledyne-t400"``), or gives a path to a file of its own (a ``/`` or a ``.toml``
suffix makes it a path, taken from the config file's directory). Each shipped profile names its ``source``:
a vendor manual or published integration for a real ``model``, or ``invented = true`` for the simulators.
"""

from __future__ import annotations

import difflib
import math
import re
import struct
from enum import StrEnum
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, ValidationInfo, field_validator, model_validator

from stationpipe.kernel.catalogue import is_known
from stationpipe.kernel.config import Model, load, read_toml, validate
from stationpipe.kernel.errors import ConfigError
from stationpipe.kernel.reading import Flag
from stationpipe.kernel.units import check_unit


class RegisterType(StrEnum):
    """Modbus data tables."""

    COIL = "coil"
    DISCRETE = "discrete"
    HOLDING = "holding"
    INPUT = "input"


class DataType(StrEnum):
    """Register data types; the digit says the bits."""

    INT16 = "int16"
    UINT16 = "uint16"
    INT32 = "int32"
    UINT32 = "uint32"
    FLOAT32 = "float32"
    FLOAT64 = "float64"

    @property
    def words(self) -> int:
        """16-bit registers per value."""
        return {"16": 1, "32": 2, "64": 4}[self.value[-2:]]


class Order(StrEnum):
    """Byte order of the value's big-endian bytes ``A B C D …`` as they sit in the registers."""

    ABCD = "ABCD"  # big-endian words, high word first
    CDAB = "CDAB"  # low word first ("float inverse"), bytes big-endian in each word
    BADC = "BADC"  # high word first, bytes swapped in each word
    DCBA = "DCBA"  # fully little-endian


_STRUCT = {
    DataType.INT16: ">h",
    DataType.UINT16: ">H",
    DataType.INT32: ">i",
    DataType.UINT32: ">I",
    DataType.FLOAT32: ">f",
    DataType.FLOAT64: ">d",
}


def _reorder(words: list[int], order: Order) -> list[int]:
    if order in (Order.BADC, Order.DCBA):
        words = [((w & 0xFF) << 8) | (w >> 8) for w in words]
    if order in (Order.CDAB, Order.DCBA):
        words = words[::-1]
    return words


def to_registers(value: float, dtype: DataType, order: Order) -> list[int]:
    """Encode a raw value (before scale) into registers; integers are rounded to the nearest."""
    raw: float | int = value if dtype in (DataType.FLOAT32, DataType.FLOAT64) else round(value)
    data = struct.pack(_STRUCT[dtype], raw)
    words = [int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2)]
    return _reorder(words, order)


def from_registers(words: list[int] | tuple[int, ...], dtype: DataType, order: Order) -> float:
    """Decode registers into the raw value (before scale); NaN comes back as NaN."""
    if len(words) != dtype.words:
        raise ValueError(f"{dtype} needs {dtype.words} registers, got {len(words)}")
    plain = _reorder(list(words), order)  # the reorder is its own inverse
    data = b"".join(w.to_bytes(2, "big") for w in plain)
    return float(struct.unpack(_STRUCT[dtype], data)[0])


class Point(Model):
    """One value an instrument exposes. ``value = raw * scale + offset``."""

    parameter: str
    table: RegisterType = Field(default=RegisterType.HOLDING, alias="register")
    address: int = Field(ge=0, le=65535)
    type: DataType = DataType.FLOAT32
    order: Order = Order.ABCD
    scale: float = 1.0
    offset: float = 0.0
    unit: str
    sentinels: tuple[float, ...] = Field(default=(), description="raw values that mean 'no value'")
    range: tuple[float, float] | None = Field(default=None, description="measuring range; above -> flag T")
    channel: int | None = Field(
        default=None, ge=0, le=999, description="Bavarian-Hessen component number (then no address)"
    )

    @model_validator(mode="before")
    @classmethod
    def _channel_or_address(cls, data: object) -> object:
        if isinstance(data, dict) and data.get("channel") is not None:
            if "address" in data:
                raise ValueError("a point names a channel or a register address, not both")
            return {**data, "address": data["channel"]}  # never read from registers
        return data

    @field_validator("parameter")
    @classmethod
    def _known(cls, code: str) -> str:
        if not is_known(code):
            raise ValueError(f"{code!r} is not a catalogue parameter code")
        return code

    @model_validator(mode="after")
    def _unit_converts(self) -> Point:
        check_unit(self.parameter, self.unit)  # the edge publishes the catalogue's unit
        return self

    @property
    def words(self) -> int:
        """Registers this point occupies (a coil or discrete input is one bit)."""
        if self.table in (RegisterType.COIL, RegisterType.DISCRETE):
            return 1
        return self.type.words

    def is_unavailable(self, raw: float) -> bool:
        """NaN, infinities and the profile's sentinels are 'no value', never data."""
        return not math.isfinite(raw) or raw in self.sentinels


class StatusBit(Model):
    """A status register bit that flags the device's points while it is set."""

    table: Literal["holding", "input"] = Field(default="input", alias="register")
    address: int = Field(ge=0, le=65535)
    bit: int = Field(ge=0, le=15)
    flag: Flag
    meaning: str = ""


class Profile(Model):
    """The register map of one instrument model."""

    kind: Literal["profile"] = "profile"
    name: str
    description: str = ""
    model: str = Field(default="", description="the real instrument: manufacturer and model")
    source: str = Field(default="", description="where the map is from: document and URL, or repo and path")
    invented: bool = Field(default=False, description="made up for the simulators; no instrument has it")
    partial: bool = Field(default=False, description="reads part of what the source lists (see description)")
    address_base: Literal[0, 1] = Field(default=0, description="1 when addresses are manual numbers (PDU+1)")
    points: tuple[Point, ...] = Field(min_length=1)
    status: tuple[StatusBit, ...] = ()
    channel_status: dict[int, Flag] | None = Field(
        default=None,
        description="Bavarian-Hessen status byte: bit (0-7) -> flag it raises; default: the Serinus bit map",
    )

    @field_validator("channel_status")
    @classmethod
    def _bits(cls, bits: dict[int, Flag] | None) -> dict[int, Flag] | None:
        if bits is not None and any(not 0 <= bit <= 7 for bit in bits):
            raise ValueError(f"status byte bits are 0-7: {sorted(bits)}")
        return bits

    @model_validator(mode="after")
    def _provenance(self) -> Profile:
        if self.model and not self.source:
            raise ValueError("a profile that names a real model names its source too")
        if self.invented and self.model:
            raise ValueError("an invented profile names no real model")
        return self

    @model_validator(mode="after")
    def _channels_consistent(self) -> Profile:
        channels = [p.channel for p in self.points if p.channel is not None]
        if channels and (len(channels) != len(self.points) or self.status):
            raise ValueError("a channel profile gives every point a channel, and no register status bits")
        if self.channel_status is not None and not channels:
            raise ValueError("channel_status belongs to a channel (Bavarian-Hessen) profile")
        if len(set(channels)) != len(channels):
            raise ValueError(f"channels must be unique: {channels}")
        return self

    @property
    def by_channel(self) -> bool:
        """Whether the points are Bavarian-Hessen channels rather than registers."""
        return self.points[0].channel is not None

    def pdu_address(self, address: int) -> int:
        """Address on the wire for an address as written in this profile."""
        return address - self.address_base


_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")


def is_profile_name(ref: str) -> bool:
    """Whether ``ref`` names a shipped profile rather than a file (a path has a ``/`` or a ``.toml`` end)."""
    return not ref.endswith(".toml") and _NAME.match(ref) is not None


@cache
def profile_names() -> tuple[str, ...]:
    """The shipped profiles' names (their file stems), sorted."""
    folder = resources.files("stationpipe.kernel") / "profiles"
    return tuple(sorted(f.name.removesuffix(".toml") for f in folder.iterdir() if f.name.endswith(".toml")))


def unknown_profile(name: str) -> str:
    """The reason a name is no shipped profile, with the closest names."""
    close = difflib.get_close_matches(name, profile_names(), n=3, cutoff=0.5)
    hint = f"closest: {', '.join(close)}" if close else f"known: {', '.join(profile_names())}"
    return (
        f"no shipped profile is named {name!r} ({hint}; `stationpipe profiles` lists them; "
        "a file of your own needs a '/' or a .toml suffix)"
    )


@cache
def shipped_profile(name: str) -> Profile:
    """One shipped profile by name; ``ConfigError`` when there is none."""
    if name not in profile_names():
        raise ConfigError("stationpipe/kernel/profiles", name, unknown_profile(name))
    with resources.as_file(resources.files("stationpipe.kernel") / "profiles" / f"{name}.toml") as path:
        return validate(path, read_toml(path), Profile)


def shipped_profiles() -> list[Profile]:
    """Every shipped profile, by name."""
    return [shipped_profile(name) for name in profile_names()]


def load_profile(ref: Path | str) -> Profile:
    """A shipped profile by name (a ``str`` that :func:`is_profile_name`), otherwise a profile file."""
    if isinstance(ref, str) and is_profile_name(ref):
        return shipped_profile(ref)
    return load(ref, Profile)


def _profile_ref(value: str | Path, info: ValidationInfo) -> str | Path:
    if isinstance(value, str) and is_profile_name(value):
        if value not in profile_names():
            raise ValueError(unknown_profile(value))
        return value
    path = Path(value)
    base = (info.context or {}).get("base_dir")
    return path if path.is_absolute() or base is None else Path(base) / path


#: A config's ``profile``: a shipped profile's name (kept as ``str``), or a path (``Path``, relative ones
#: taken from the config file's directory); :func:`load_profile` takes either.
ProfileRef = Annotated[str | Path, AfterValidator(_profile_ref)]
