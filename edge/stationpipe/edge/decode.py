"""Pure decoding: which requests cover a profile's points and status bits, and registers -> flagged Readings.

Values leave as the instrument meant them (docs/design.md#values): a float32 register as float32's
shortest decimal, a scaled, offset or converted value without float64 noise.

Flags, in order of precedence: B (the request failed) > status bits (D, C, M as the profile maps them)
> D for "no value" (NaN or a sentinel) > T (outside the measuring range) > N.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from stationpipe.kernel.catalogue import is_known
from stationpipe.kernel.catalogue import parameter as catalogue_row
from stationpipe.kernel.precision import clean, float32_shortest
from stationpipe.kernel.reading import Flag, Reading
from stationpipe.kernel.registermap import DataType, Point, Profile, RegisterType, StatusBit, from_registers
from stationpipe.kernel.units import to_canonical

MAX_REGISTERS = 125  # Modbus limit for one read of holding/input registers
MAX_BITS = 2000  # … and of coils/discrete inputs
_STATUS_PRECEDENCE = (Flag.D, Flag.C, Flag.M, Flag.F, Flag.S, Flag.T)


@dataclass(frozen=True, slots=True)
class Request:
    """One read: ``count`` registers (or bits) of ``table`` from PDU ``address``."""

    table: RegisterType
    address: int
    count: int
    points: tuple[Point, ...] = ()
    status: tuple[StatusBit, ...] = ()


@dataclass(frozen=True, slots=True)
class _Span:
    table: RegisterType
    address: int
    words: int
    item: Point | StatusBit


def _spans(profile: Profile) -> list[_Span]:
    spans = [_Span(p.table, profile.pdu_address(p.address), p.words, p) for p in profile.points]
    spans += [_Span(RegisterType(s.table), profile.pdu_address(s.address), 1, s) for s in profile.status]
    return spans


def plan_requests(profile: Profile, max_gap: int, *, one_per_point: bool = False) -> tuple[Request, ...]:
    """Coalesce the profile's points and status registers into as few reads as the gap and limits allow."""
    requests: list[Request] = []
    for table in RegisterType:
        spans = sorted((s for s in _spans(profile) if s.table is table), key=lambda s: s.address)
        limit = MAX_BITS if table in (RegisterType.COIL, RegisterType.DISCRETE) else MAX_REGISTERS
        group: list[_Span] = []
        for span in spans:
            if group and (one_per_point or not _fits(group, span, max_gap, limit)):
                requests.append(_request(table, group))
                group = []
            group.append(span)
        if group:
            requests.append(_request(table, group))
    return tuple(requests)


def _end(group: list[_Span]) -> int:
    return max(s.address + s.words for s in group)


def _fits(group: list[_Span], span: _Span, max_gap: int, limit: int) -> bool:
    return span.address - _end(group) <= max_gap and span.address + span.words - group[0].address <= limit


def _request(table: RegisterType, group: list[_Span]) -> Request:
    points = tuple(s.item for s in group if isinstance(s.item, Point))
    status = tuple(s.item for s in group if isinstance(s.item, StatusBit))
    return Request(table, group[0].address, _end(group) - group[0].address, points, status)


def raw_value(profile: Profile, req: Request, point: Point, registers: list[int]) -> float:
    """The point's raw value (before scale) out of the request's registers or bits; a float32 as its
    shortest decimal (7.594095, not 7.594095230102539), so a profile's float32 sentinel matches whether
    it is written short (-9999.9) or in full (-9999.900390625)."""
    offset = profile.pdu_address(point.address) - req.address
    if point.table in (RegisterType.COIL, RegisterType.DISCRETE):
        return float(registers[offset])
    raw = from_registers(registers[offset : offset + point.words], point.type, point.order)
    if point.type is DataType.FLOAT32 and raw not in point.sentinels:  # a sentinel as the profile wrote it
        return float32_shortest(raw)
    return raw


def decode_point(point: Point, raw: float, station: str, ts: datetime) -> Reading:
    """One point's reading: unavailable -> no value (flag D), outside range -> flag T, else N."""
    if point.is_unavailable(raw):
        return Reading(station, point.parameter, None, point.unit, ts, Flag.D)
    return point_reading(point, raw * point.scale + point.offset, station, ts)


def point_reading(point: Point, value: float, station: str, ts: datetime) -> Reading:
    """A value in the point's unit (scaled registers, or an SPL/1 answer): flags D, T or N; published in the
    catalogue's unit (a gas read in ppb leaves as ug/m3). The range is the instrument's, in its unit.

    A point with a scale or offset, or a unit to convert, gives a value without float64 noise (3 * 0.1 is
    0.3); a converted value keeps 15 significant digits, so it converts back to what was read."""
    unit = catalogue_row(point.parameter).unit if is_known(point.parameter) else point.unit
    if not math.isfinite(value):  # no value, or a huge float64 that overflowed once scaled
        return Reading(station, point.parameter, None, unit, ts, Flag.D)
    if point.scale != 1.0 or point.offset != 0.0:
        value = clean(value)
    flag = Flag.N
    if point.range is not None and not point.range[0] <= value <= point.range[1]:
        flag = Flag.T
    if unit != point.unit:
        value = clean(to_canonical(point.parameter, value, point.unit))
    return Reading(station, point.parameter, value, unit, ts, flag)


def decode_request(
    profile: Profile, req: Request, registers: list[int], station: str, ts: datetime
) -> list[Reading]:
    """Readings of every point a request covers, from the registers it returned."""
    return [decode_point(p, raw_value(profile, req, p, registers), station, ts) for p in req.points]


def status_flags(profile: Profile, req: Request, registers: list[int]) -> set[Flag]:
    """Flags raised by the status bits this request read."""
    flags = set()
    for bit in req.status:
        word = registers[profile.pdu_address(bit.address) - req.address]
        if word >> bit.bit & 1:
            flags.add(bit.flag)
    return flags


def apply_status(readings: list[Reading], flags: set[Flag]) -> list[Reading]:
    """Overlay the device's status on its readings; B (no answer) is never overwritten."""
    chosen = next((f for f in _STATUS_PRECEDENCE if f in flags), None)
    if chosen is None:
        return readings
    return [
        r if r.flag is Flag.B else Reading(r.station, r.parameter, r.value, r.unit, r.ts, chosen)
        for r in readings
    ]


def failed_request(req: Request, station: str, ts: datetime) -> list[Reading]:
    """Readings for a request that failed: no value, flag B (communication failure)."""
    return [Reading(station, p.parameter, None, p.unit, ts, Flag.B) for p in req.points]
