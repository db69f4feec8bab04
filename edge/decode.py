"""Pure decoding: which requests cover a profile's points, and registers -> flagged Readings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from station.reading import Flag, Reading
from station.registermap import Point, Profile, RegisterType, from_registers

MAX_REGISTERS = 125  # Modbus limit for one read of holding/input registers


@dataclass(frozen=True, slots=True)
class Request:
    """One read: ``count`` registers of ``table`` from PDU ``address``, covering ``points``."""

    table: RegisterType
    address: int
    count: int
    points: tuple[Point, ...]


def plan_requests(profile: Profile, max_gap: int) -> tuple[Request, ...]:
    """Coalesce points of one table into as few reads as the gap and the 125-register limit allow."""
    requests: list[Request] = []
    for table in (RegisterType.HOLDING, RegisterType.INPUT):
        points = sorted((p for p in profile.points if p.table is table), key=lambda p: p.address)
        group: list[Point] = []
        for point in points:
            if group and not _fits(profile, group, point, max_gap):
                requests.append(_request(profile, table, group))
                group = []
            group.append(point)
        if group:
            requests.append(_request(profile, table, group))
    return tuple(requests)


def _fits(profile: Profile, group: list[Point], point: Point, max_gap: int) -> bool:
    start = profile.pdu_address(group[0].address)
    end = max(profile.pdu_address(p.address) + p.words for p in group)
    here = profile.pdu_address(point.address)
    return here - end <= max_gap and here + point.words - start <= MAX_REGISTERS


def _request(profile: Profile, table: RegisterType, group: list[Point]) -> Request:
    start = profile.pdu_address(group[0].address)
    end = max(profile.pdu_address(p.address) + p.words for p in group)
    return Request(table, start, end - start, tuple(group))


def decode_point(point: Point, raw: float, station: str, ts: datetime) -> Reading:
    """One point's reading: unavailable -> no value (flag D), above range -> flag T, else N."""
    if point.is_unavailable(raw):
        return Reading(station, point.parameter, None, point.unit, ts, Flag.D)
    value = raw * point.scale + point.offset
    flag = Flag.N
    if point.range is not None and not point.range[0] <= value <= point.range[1]:
        flag = Flag.T
    return Reading(station, point.parameter, value, point.unit, ts, flag)


def decode_request(
    profile: Profile, req: Request, registers: list[int], station: str, ts: datetime
) -> list[Reading]:
    """Readings of every point a request covers, from the registers it returned."""
    out = []
    for point in req.points:
        offset = profile.pdu_address(point.address) - req.address
        raw = from_registers(registers[offset : offset + point.words], point.type, point.order)
        out.append(decode_point(point, raw, station, ts))
    return out


def failed_request(req: Request, station: str, ts: datetime) -> list[Reading]:
    """Readings for a request that failed: no value, flag B (communication failure)."""
    return [Reading(station, p.parameter, None, p.unit, ts, Flag.B) for p in req.points]
