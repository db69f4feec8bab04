"""HJ 212 data segments <-> JSON objects named with the protocol's own field names (for the CLI and tools).

Shape: ``{"QN": "…", "ST": "32", "CN": "2011", "PW": "…", "MN": "…", "Flag": 5, "PNUM": 2, "PNO": 1,
"CP": {"DataTime": "20160801085857", "RtdInterval": "30", "w01018": {"Rtd": 12.5, "Flag": "N"}}}``.
Absent header fields are omitted. In ``CP``, an object is a factor (numeric fields as numbers,
``Flag``/``SampleTime``/others as text) and text is a parameter. Times are CST ``YYYYMMDDhhmmss``.
``from_json`` is strict: it raises ``SegmentError``/``CpError`` naming the key that does not fit.
HJ 212-2025 re-sent data carries ``"RF": 1`` (absent otherwise; there is no RF=0).
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from stationpipe.hj212.codes import format_time, parse_time
from stationpipe.hj212.cp import DATA_TIME, NUMERIC_FIELDS, CpArea, FactorValue, format_number
from stationpipe.hj212.errors import CpError, SegmentError
from stationpipe.hj212.segment import DataSegment

_TEXT_HEADERS = (("QN", "qn"), ("ST", "st"), ("CN", "cn"), ("PW", "pw"), ("MN", "mn"))
_INT_HEADERS = (("Flag", "flag"), ("PNUM", "pnum"), ("PNO", "pno"))
_IGNORED = frozenset({"crc_ok", "encrypted"})
_RF = "RF"


def segment_to_json(segment: DataSegment) -> dict[str, Any]:
    """The JSON object of a segment (header fields, then ``CP``)."""
    out: dict[str, Any] = {}
    for name, attr in (*_TEXT_HEADERS, *_INT_HEADERS):
        value = getattr(segment, attr)
        if value is not None:
            out[name] = str(value) if isinstance(value, str) else value
    if segment.rf:
        out[_RF] = 1
    out["CP"] = cp_to_json(segment.cp)
    return out


def cp_to_json(cp: CpArea) -> dict[str, Any]:
    """The JSON object of a CP area."""
    out: dict[str, Any] = {}
    if cp.data_time is not None:
        out[DATA_TIME] = format_time(cp.data_time)
    out.update(cp.params)
    for factor in cp.factors:
        fields: dict[str, Any] = {}
        for name, attr in NUMERIC_FIELDS:
            if (number := getattr(factor, attr)) is not None:
                fields[name] = number
        if factor.flag is not None:
            fields["Flag"] = factor.flag
        if factor.sample_time is not None:
            fields["SampleTime"] = format_time(factor.sample_time)
        fields.update(factor.extra)
        out[factor.code] = fields
    return out


def segment_from_json(obj: object) -> DataSegment:
    """The segment a JSON object describes; ``crc_ok``/``encrypted`` (printed by decode) are ignored."""
    if not isinstance(obj, dict):
        raise SegmentError(f"expected a JSON object, got {type(obj).__name__}")
    unknown = set(obj) - {n for n, _ in (*_TEXT_HEADERS, *_INT_HEADERS)} - {"CP", _RF} - _IGNORED
    if unknown:
        raise SegmentError(f"unknown keys {sorted(unknown)}")
    values: dict[str, Any] = {"flag": None}  # an absent Flag stays absent, as decode printed it
    for name, attr in _TEXT_HEADERS:
        if name in obj:
            values[attr] = _text(name, obj[name])
    for name, attr in _INT_HEADERS:
        if name in obj:
            values[attr] = _int(name, obj[name])
    for required in ("st", "cn"):
        if required not in values:
            raise SegmentError(f"{required.upper()} missing")
    values["rf"] = _rf(obj)
    values["cp"] = cp_from_json(obj.get("CP", {}))
    return DataSegment(**values)


def _rf(obj: dict[str, Any]) -> bool:
    """``RF`` (HJ 212-2025): absent, or 1 for re-sent data."""
    if _RF not in obj:
        return False
    if obj[_RF] not in (1, "1") or isinstance(obj[_RF], bool):
        raise SegmentError(f"RF: only RF=1 (re-sent data) exists, got {obj[_RF]!r}")
    return True


def cp_from_json(obj: object) -> CpArea:
    """The CP area a JSON object describes."""
    if not isinstance(obj, dict):
        raise CpError(f"CP: expected an object, got {type(obj).__name__}")
    data_time = None
    params: list[tuple[str, str]] = []
    factors: list[FactorValue] = []
    for key, value in obj.items():
        if key == DATA_TIME:
            data_time = _time(key, value)
        elif isinstance(value, dict):
            factors.append(_factor(key, value))
        else:
            params.append((key, _text(f"CP.{key}", value)))
    return CpArea(data_time, tuple(params), tuple(factors))


def _factor(code: str, obj: dict[str, Any]) -> FactorValue:
    fields = dict(obj)
    numbers = {
        attr: _number(f"CP.{code}.{name}", fields.pop(name))
        for name, attr in NUMERIC_FIELDS
        if name in fields
    }
    flag = _text(f"CP.{code}.Flag", fields.pop("Flag")) if "Flag" in fields else None
    sample = _time(f"CP.{code}.SampleTime", fields.pop("SampleTime")) if "SampleTime" in fields else None
    extra = tuple((name, _text(f"CP.{code}.{name}", value)) for name, value in fields.items())
    return FactorValue(code, **numbers, flag=flag, sample_time=sample, extra=extra)


def _text(what: str, value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return format_number(value) if isinstance(value, float) else str(value)
    raise SegmentError(f"{what}: expected text, got {value!r}")


def _int(what: str, value: object) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    raise SegmentError(f"{what}: expected an integer, got {value!r}")


def _number(what: str, value: object) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    raise CpError(f"{what}: expected a finite number, got {value!r}")


def _time(what: str, value: object) -> datetime:
    if not isinstance(value, str):
        raise CpError(f"{what}: expected YYYYMMDDhhmmss text, got {value!r}")
    try:
        return parse_time(value)
    except ValueError as exc:
        raise CpError(f"{what}: {exc}") from exc
