"""Pure encoding of what an instrument shows: values into registers, flags into status words.

"Unavailable" is shown the way analysers show it: the point's first sentinel when the profile gives
one, else all-ones words for floats (0xFFFF FFFF is a NaN in every word order) and the type's extreme
for integers (0x8000 for int16). Integer values outside the type are clipped, as a display would.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from stationpipe.kernel.reading import Flag
from stationpipe.kernel.registermap import DataType, Point, Profile, RegisterType, to_registers
from stationpipe.kernel.units import convert

_FLOATS = (DataType.FLOAT32, DataType.FLOAT64)
_BOUNDS: dict[DataType, tuple[int, int]] = {
    DataType.INT16: (-(2**15), 2**15 - 1),
    DataType.UINT16: (0, 2**16 - 1),
    DataType.INT32: (-(2**31), 2**31 - 1),
    DataType.UINT32: (0, 2**32 - 1),
}
#: Raw value an integer point shows for "no value" when its profile names no sentinel.
_NO_VALUE: dict[DataType, int] = {
    DataType.INT16: -(2**15),
    DataType.UINT16: 2**16 - 1,
    DataType.INT32: -(2**31),
    DataType.UINT32: 2**32 - 1,
}


def raw_value(point: Point, value: float) -> float:
    """Engineering value (canonical unit) -> the raw number in the point's unit, before encoding."""
    return (convert(point.parameter, value, point.unit) - point.offset) / point.scale


def point_registers(point: Point, value: float) -> list[int]:
    """The registers ``point`` shows for ``value`` (canonical unit; NaN = unavailable)."""
    raw = raw_value(point, value) if math.isfinite(value) else math.nan
    if not math.isfinite(raw):
        if point.sentinels:
            return to_registers(point.sentinels[0], point.type, point.order)
        if point.type in _FLOATS:
            return [0xFFFF] * point.words
        raw = _NO_VALUE[point.type]
    if point.type not in _FLOATS:
        low, high = _BOUNDS[point.type]
        raw = min(max(round(raw), low), high)
    return to_registers(raw, point.type, point.order)


def status_words(profile: Profile, flags: Iterable[Flag]) -> dict[tuple[RegisterType, int], int]:
    """Every status register of the profile (table, PDU address) with the bits of ``flags`` set."""
    active = set(flags)
    words: dict[tuple[RegisterType, int], int] = {}
    for sb in profile.status:
        key = (RegisterType(sb.table), profile.pdu_address(sb.address))
        words[key] = words.get(key, 0) | ((1 << sb.bit) if sb.flag in active else 0)
    return words


def span(profile: Profile, table: RegisterType) -> tuple[int, int] | None:
    """PDU ``(start, end)`` (end exclusive) of every point and status register in ``table``."""
    starts_ends = [
        (profile.pdu_address(p.address), profile.pdu_address(p.address) + p.words)
        for p in profile.points
        if p.table is table
    ]
    starts_ends += [(addr, addr + 1) for (tab, addr) in status_words(profile, ()) if tab is table]
    starts_ends += [
        (profile.pdu_address(first), profile.pdu_address(end))
        for block in profile.qc
        if block.table == table.value
        for first, end in [block.span()]
    ]
    if not starts_ends:
        return None
    return min(s for s, _ in starts_ends), max(e for _, e in starts_ends)
