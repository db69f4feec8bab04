"""Device register maps as data (profiles), shared by the simulators and the edge agent,
and the pure word/byte-order codec both sides use.

A profile file (``kind = "profile"``) describes one instrument model: its points (parameter, register
type, address, data type, word/byte order, scale and offset, unit, range) and its status bits. A point
of an analyser read over Bavarian-Hessen names its ``channel`` (the component number in the DA reply)
instead of a register address; a profile's points either all name a channel or none does.
"""

from __future__ import annotations

import math
import struct
from enum import StrEnum
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from stationpipe.kernel.catalogue import is_known
from stationpipe.kernel.config import Model, load
from stationpipe.kernel.qc import QcCheck
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


#: Default codes of the check-kind register of a QC block (0: no check yet).
DEFAULT_QC_CODES: dict[int, QcCheck] = dict(enumerate(QcCheck, start=1))


class QcBlock(Model):
    """The registers where an analyser shows the result of its latest quality-control check of one
    parameter (docs/domain.md#quality-control-checks): the check kind (uint16, a code of ``codes``; 0
    none yet), the check's instant (uint32 seconds since the epoch, UTC), the standard value, the measured
    value and, for spike recovery and parallel samples, the unspiked or other sample (float32 each, in
    ``order``). Addresses are written as the profile writes its points (``address_base``).
    """

    parameter: str
    table: Literal["holding", "input"] = Field(default="holding", alias="register")
    order: Order = Order.ABCD
    unit: str
    check: int = Field(ge=0, le=65535, description="uint16: the check kind's code")
    time: int = Field(ge=0, le=65534, description="uint32: the check's instant, epoch seconds UTC")
    standard: int = Field(ge=0, le=65534, description="float32: the standard value (spike: amount added)")
    measured: int = Field(ge=0, le=65534, description="float32: the measured value")
    sample: int | None = Field(default=None, ge=0, le=65534, description="float32: the other sample")
    codes: dict[int, QcCheck] = Field(default_factory=lambda: dict(DEFAULT_QC_CODES))

    @field_validator("parameter")
    @classmethod
    def _known(cls, code: str) -> str:
        if not is_known(code):
            raise ValueError(f"{code!r} is not a catalogue parameter code")
        return code

    @model_validator(mode="after")
    def _unit_converts(self) -> QcBlock:
        check_unit(self.parameter, self.unit)
        return self

    def span(self) -> tuple[int, int]:
        """``(first, end)`` of the registers the block occupies, as written in the profile."""
        starts = [self.check, self.time, self.standard, self.measured] + (
            [self.sample] if self.sample is not None else []
        )
        ends = [self.check + 1, self.time + 2, self.standard + 2, self.measured + 2] + (
            [self.sample + 2] if self.sample is not None else []
        )
        return min(starts), max(ends)


class Profile(Model):
    """The register map of one instrument model."""

    kind: Literal["profile"] = "profile"
    name: str
    description: str = ""
    address_base: Literal[0, 1] = Field(default=0, description="1 when addresses are manual numbers (PDU+1)")
    points: tuple[Point, ...] = Field(min_length=1)
    status: tuple[StatusBit, ...] = ()
    qc: tuple[QcBlock, ...] = Field(default=(), description="quality-control result registers, per parameter")
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


def load_profile(path: Path | str) -> Profile:
    """Load and validate a profile file."""
    return load(path, Profile)
