"""The HJ 212 CP area (``CP=&&…&&``): ``DataTime``, per-factor values and other parameters.

Syntax: items ``key=value`` separated by ``;`` (between factors) or ``,`` (within one factor); both are
accepted anywhere, and empty items (a trailing ``;``) are skipped. ``DataTime`` is China Standard Time.
A key ``<code>-<Field>`` is a factor field (``w01018-Rtd``); any other key is a parameter kept as text
(``RtdInterval``, ``QnRtn``, ``SystemTime``…). Factor codes outside the catalogue are kept as they are.
Encoding is canonical: ``DataTime`` first, then parameters, then one ``;``-group per factor.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from stationpipe.hj212.codes import format_time, parse_time
from stationpipe.hj212.errors import CpError
from stationpipe.kernel.reading import Flag

DATA_TIME = "DataTime"
#: Numeric per-factor fields and their attribute names, in encoding order.
NUMERIC_FIELDS: tuple[tuple[str, str], ...] = (
    ("Rtd", "rtd"),
    ("Avg", "avg"),
    ("Min", "min"),
    ("Max", "max"),
    ("Cou", "cou"),
)
KNOWN_FIELDS = frozenset({name for name, _ in NUMERIC_FIELDS} | {"Flag", "SampleTime"})

_MAX_POSITIONAL = 24
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_FORBIDDEN_KEY = re.compile(r"[;,&=\s]")
_FORBIDDEN_VALUE = re.compile(r"[;,&\r\n]")


def check_key(what: str, key: str) -> None:
    """Raise ``CpError`` unless ``key`` is non-empty and free of separators."""
    if not key or _FORBIDDEN_KEY.search(key):
        raise CpError(f"{what}: {key!r} is not a valid key (empty, or contains one of ';,&=' or space)")


def check_value(what: str, value: str) -> None:
    """Raise ``CpError`` if ``value`` holds a separator (``; , &`` or a line break)."""
    if _FORBIDDEN_VALUE.search(value):
        raise CpError(f"{what}: value {value!r} contains one of ';,&' or a line break")


def parse_number(what: str, text: str) -> float:
    """Parse a decimal number (an exponent is tolerated); raise ``CpError`` naming ``what``."""
    if not _NUMBER.fullmatch(text):
        raise CpError(f"{what}: {text!r} is not a number")
    return float(text)


def format_number(value: float) -> str:
    """Shortest text that reads back as exactly ``value``: ``30.0`` -> ``30``, ``1e-05`` -> ``0.00001``.

    The exponent form (``1e-300``) is used only when positional notation would exceed 24 characters.
    """
    if not math.isfinite(value):
        raise CpError(f"{value!r} is not a finite number")
    shortest = repr(float(value))
    text = format(Decimal(shortest), "f").removesuffix(".0")
    # Positional notation is what loggers and platforms read; beyond measurement-like magnitudes the
    # exponent form is kept rather than hundreds of digits (decoders accept both).
    return text if len(text) <= _MAX_POSITIONAL else shortest


@dataclass(frozen=True, slots=True)
class FactorValue:
    """The fields of one factor (pollutant code) in a CP area; numbers are floats in the station's unit.

    ``flag`` is the data flag letter as sent (``N``, ``F``, ``M``, ``S``, ``D``, ``C``, ``T``, ``B``; other
    letters are kept, see ``data_flag``). ``extra`` holds any other fields (``ZsRtd``, ``EFlag``…) as text,
    in order. At least one field is present.
    """

    code: str
    rtd: float | None = None
    avg: float | None = None
    min: float | None = None
    max: float | None = None
    cou: float | None = None
    flag: str | None = None
    sample_time: datetime | None = None
    extra: tuple[tuple[str, str], ...] = field(default=())

    def __post_init__(self) -> None:
        check_key("factor code", self.code)
        if "-" in self.code:
            raise CpError(f"factor code {self.code!r} must not contain '-'")
        for name, attr in NUMERIC_FIELDS:
            value = getattr(self, attr)
            if value is not None and not math.isfinite(value):
                raise CpError(f"{self.code}-{name}: {value!r} is not a finite number")
        if self.flag is not None:
            check_value(f"{self.code}-Flag", self.flag)
            if not self.flag:
                raise CpError(f"{self.code}-Flag: empty flag")
        if self.sample_time is not None and self.sample_time.tzinfo is None:
            raise CpError(f"{self.code}-SampleTime: must be timezone-aware")
        self._check_extra()
        if not self.fields():
            raise CpError(f"factor {self.code}: no fields")

    def _check_extra(self) -> None:
        seen: set[str] = set()
        for name, value in self.extra:
            check_key(f"{self.code} field", name)
            check_value(f"{self.code}-{name}", value)
            if name in KNOWN_FIELDS or name in seen:
                raise CpError(f"{self.code}-{name}: field given twice")
            seen.add(name)

    @property
    def data_flag(self) -> Flag:
        """The flag as a ``Flag``; raise ``CpError`` when it is absent or not an HJ 212-2017 letter."""
        try:
            return Flag(self.flag or "")
        except ValueError:
            raise CpError(f"{self.code}-Flag: {self.flag!r} is not one of N F M S D C T B") from None

    def fields(self) -> list[tuple[str, str]]:
        """``(field, wire text)`` pairs, in order SampleTime, Rtd, Avg, Min, Max, Cou, Flag, extra."""
        out = [] if self.sample_time is None else [("SampleTime", format_time(self.sample_time))]
        out.extend(
            (name, format_number(value))
            for name, attr in NUMERIC_FIELDS
            if (value := getattr(self, attr)) is not None
        )
        if self.flag is not None:
            out.append(("Flag", self.flag))
        out.extend(self.extra)
        return out


@dataclass(frozen=True, slots=True)
class CpArea:
    """The CP area: ``data_time`` (aware; CST on the wire), ``params`` (other items, as text), ``factors``.

    Factor codes are unique, parameter keys are unique and contain no ``-``.
    """

    data_time: datetime | None = None
    params: tuple[tuple[str, str], ...] = ()
    factors: tuple[FactorValue, ...] = ()

    def __post_init__(self) -> None:
        if self.data_time is not None and self.data_time.tzinfo is None:
            raise CpError("DataTime: must be timezone-aware")
        keys: set[str] = set()
        for key, value in self.params:
            check_key("CP key", key)
            check_value(key, value)
            if "-" in key or key == DATA_TIME or key in keys:
                raise CpError(f"CP parameter {key!r}: repeated, or not a parameter name")
            keys.add(key)
        codes = [f.code for f in self.factors]
        if len(set(codes)) != len(codes):
            raise CpError(f"factor codes repeated: {codes}")

    def factor(self, code: str) -> FactorValue:
        """The factor ``code``; raise ``CpError`` when it is not in this CP area."""
        for factor in self.factors:
            if factor.code == code:
                return factor
        raise CpError(f"factor {code} not in CP")

    def param(self, key: str) -> str:
        """The parameter ``key`` as text; raise ``CpError`` when it is absent."""
        for name, value in self.params:
            if name == key:
                return value
        raise CpError(f"CP parameter {key} missing")


def format_groups(cp: CpArea) -> list[str]:
    """The ``;``-separated groups of ``cp`` (DataTime, each parameter, each factor)."""
    groups = [] if cp.data_time is None else [f"{DATA_TIME}={format_time(cp.data_time)}"]
    groups.extend(f"{key}={value}" for key, value in cp.params)
    groups.extend(",".join(f"{f.code}-{name}={text}" for name, text in f.fields()) for f in cp.factors)
    return groups


def format_cp(cp: CpArea) -> str:
    """The CP value on the wire, ``&&…&&``."""
    return "&&" + ";".join(format_groups(cp)) + "&&"


class _CpBuilder:
    """Collects parsed items into a ``CpArea``; factor fields may arrive interleaved."""

    def __init__(self) -> None:
        self.data_time: datetime | None = None
        self.params: dict[str, str] = {}
        self.factors: dict[str, dict[str, str]] = {}

    def add(self, key: str, value: str) -> None:
        check_key("CP key", key)
        check_value(key, value)
        if key == DATA_TIME:
            if self.data_time is not None:
                raise CpError("DataTime given twice")
            self.data_time = _time(key, value)
            return
        code, dash, name = key.partition("-")
        target = self.factors.setdefault(code, {}) if dash else self.params
        slot = name if dash else key
        if not slot or slot in target:
            raise CpError(f"CP key {key!r} repeated or without field name")
        target[slot] = value

    def build(self) -> CpArea:
        factors = tuple(_factor(code, fields) for code, fields in self.factors.items())
        return CpArea(self.data_time, tuple(self.params.items()), factors)


def _time(what: str, text: str) -> datetime:
    try:
        return parse_time(text)
    except ValueError as exc:
        raise CpError(f"{what}: {exc}") from exc


def _factor(code: str, fields: dict[str, str]) -> FactorValue:
    numbers: dict[str, float] = {}
    for name, attr in NUMERIC_FIELDS:
        if name in fields:
            numbers[attr] = parse_number(f"{code}-{name}", fields.pop(name))
    flag = fields.pop("Flag", None)
    sample = fields.pop("SampleTime", None)
    sample_time = None if sample is None else _time(f"{code}-SampleTime", sample)
    return FactorValue(code, **numbers, flag=flag, sample_time=sample_time, extra=tuple(fields.items()))


def parse_cp(text: str) -> CpArea:
    """Parse the CP value (``&&…&&``, without ``CP=``); raise ``CpError`` naming the offending item."""
    if len(text) < 4 or not text.startswith("&&") or not text.endswith("&&"):
        raise CpError(f"CP must be enclosed in '&&…&&', got {text[:40]!r}")
    builder = _CpBuilder()
    for item in re.split(r"[;,]", text[2:-2]):
        if not item:
            continue
        key, eq, value = item.partition("=")
        if not eq:
            raise CpError(f"CP item {item!r} is not key=value")
        builder.add(key, value)
    return builder.build()
