"""What the daily report shows, read from InfluxDB for one Beijing-time day (00:00–24:00 +08:00).

Daily water class: the class the rules engine reported last in the day, and the worst of the day.
Daily AQI: the mean of the hourly AQI values (the dashboards use the same approximation).
Audited day class and exceedances: daily means of the valid (flag N) readings the audit marks leave
(audited data, :mod:`~stationpipe.ops.report.audited`), single-factor against the target (GB 3838-2002).
"""

# ruff: noqa: S608 - InfluxQL text built from constants and validated dates only

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from stationpipe.kernel.audit import MarkIndex, apply_marks
from stationpipe.kernel.reading import Reading
from stationpipe.kernel.registry import WaterBody, WaterClass
from stationpipe.ops.report import audited
from stationpipe.ops.report.influx import InfluxSource
from stationpipe.standards.gb3838 import EVALUATED, SEPARATE, exceedance, has_class, limits_for
from stationpipe.standards.water_stats import section_class

BEIJING = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True, slots=True)
class Station:
    """Registry facts as stored in the ``stations`` measurement."""

    id: str
    kind: str
    name: str
    city: str
    river: str
    section: str
    target: int | None
    water_body: str
    drinking_source: bool = False


@dataclass(frozen=True, slots=True)
class SectionDay:
    """One water section's day: last and worst class, and its hourly classes (hour 0..23 -> class)."""

    station: Station
    last: int
    worst: int
    main: str
    hourly: dict[int, int]
    #: The class of the day's means of audited readings (the official day class); ``None`` without data.
    audited: int | None = None

    @property
    def meets(self) -> bool:
        """True when the day's class is the target class or better."""
        return self.station.target is not None and self.last <= self.station.target


@dataclass(frozen=True, slots=True)
class Exceedance:
    """A parameter whose daily mean exceeds the section's target-class limit."""

    station: Station
    parameter: str
    mean: float
    limit: float
    multiple: float


@dataclass(frozen=True, slots=True)
class AirDay:
    """One air station's day: mean of hourly AQI, its peak, the last primary pollutant, hourly AQI."""

    station: Station
    aqi: float
    peak: int
    primary: str
    hourly: dict[int, int]


@dataclass(frozen=True, slots=True)
class DayReport:
    """Everything the page shows."""

    day: date
    sections: list[SectionDay]
    exceedances: list[Exceedance]
    air: list[AirDay]
    warnings: list[dict[str, Any]]
    names: dict[str, str]
    #: What the report says about its data, and how many readings the audit marks took out.
    note: str = (
        "审核后数据 audited data for the audited day class and the exceedances (audit marks applied, "
        "raw data unchanged); the day class, worst class and AQI are the rules engine's live figures"
    )
    excluded: int = 0


def day_filter(day: date) -> str:
    """``time >= … AND time < …`` for the Beijing-time day, in UTC RFC 3339."""
    start = datetime.combine(day, time(0), BEIJING).astimezone(UTC)
    end = start + timedelta(days=1)
    fmt = "%Y-%m-%dT%H:%M:%SZ"
    return f"time >= '{start.strftime(fmt)}' AND time < '{end.strftime(fmt)}'"


def beijing_hour(ts_ns: int) -> int:
    """Hour of day (0..23) in Beijing time of a nanosecond UTC timestamp."""
    return datetime.fromtimestamp(ts_ns / 1e9, BEIJING).hour


def stations(src: InfluxSource) -> dict[str, Station]:
    """The registry as last written (all time: it changes rarely)."""
    rows = src.rows(
        'SELECT last("name") AS "name", last("section") AS "section", last("target_class") AS "target", '
        'last("water_body") AS "water_body", last("drinking_source") AS "source" '
        'FROM "stations" GROUP BY "station", "kind", "city", "river"',
        "stations",
    )
    return {
        r["station"]: Station(
            r["station"],
            r.get("kind") or "",
            r["name"] or r["station"],
            r.get("city") or "",
            r.get("river") or "",
            r["section"] or "",
            None if r["target"] is None else int(r["target"]),
            r["water_body"] or WaterBody.RIVER.value,
            bool(r.get("source")),
        )
        for r in rows
    }


def _known(known: dict[str, Station], station_id: str, kind: str) -> Station:
    default = Station(station_id, kind, station_id, "", "", "", None, WaterBody.RIVER.value)
    return known.get(station_id, default)


def sections(src: InfluxSource, known: dict[str, Station], day: date) -> list[SectionDay]:
    """The day of every section that has a class that day."""
    where = day_filter(day)
    rows = src.rows(
        'SELECT last("class") AS "last", max("class") AS "worst", last("worst") AS "main" '
        f'FROM "water_class" WHERE {where} GROUP BY "station"',
        "water classes",
    )
    hourly: dict[str, dict[int, int]] = {}
    for r in src.rows(
        f'SELECT max("class") AS "c" FROM "water_class" WHERE {where} '
        'GROUP BY time(1h), "station" fill(none)',
        "hourly classes",
    ):
        hourly.setdefault(r["station"], {})[beijing_hour(r["time"])] = int(r["c"])
    out = [
        SectionDay(
            _known(known, r["station"], "water"),
            int(r["last"]),
            int(r["worst"]),
            r["main"] or "",
            hourly.get(r["station"], {}),
        )
        for r in rows
    ]
    return sorted(out, key=lambda s: (s.station.city, s.station.river, s.station.id))


def day_means(kept: Iterable[Reading]) -> dict[str, dict[str, float]]:
    """Per station and parameter, the mean of the valid readings (those the marks left)."""
    values: defaultdict[tuple[str, str], list[float]] = defaultdict(list)
    for r in kept:
        if r.flag.valid and r.value is not None:
            values[r.station, r.parameter].append(r.value)
    out: dict[str, dict[str, float]] = {}
    for (station, code), vs in values.items():
        out.setdefault(station, {})[code] = math.fsum(vs) / len(vs)
    return out


def exceedances(known: dict[str, Station], means: dict[str, dict[str, float]]) -> list[Exceedance]:
    """Parameters whose daily mean of audited valid readings exceeds the target-class limit."""
    out = []
    for station, items in means.items():
        st = known.get(station)
        if st is None or st.target is None or st.kind != "water":
            continue
        target, body = WaterClass(st.target), WaterBody(st.water_body)
        for code, mean in items.items():
            if not has_class(code):
                continue
            multiple = exceedance(code, max(mean, 0.0), target, body)
            if multiple is not None:
                out.append(Exceedance(st, code, mean, limits_for(code, body).limit(target), multiple))
    return sorted(out, key=lambda e: -e.multiple)


def audited_class(st: Station, means: dict[str, float]) -> int | None:
    """The single-factor class of a section's audited day means (``None`` without an evaluated item)."""
    if st.target is None:
        return None
    result = section_class(means, WaterClass(st.target), WaterBody(st.water_body))
    return None if result is None else int(result.water_class)


def air(src: InfluxSource, known: dict[str, Station], day: date) -> list[AirDay]:
    """The day of every air station with an AQI that day."""
    where = day_filter(day)
    rows = src.rows(
        'SELECT mean("aqi") AS "aqi", max("aqi") AS "peak", last("primary") AS "primary" FROM "aqi" '
        f'WHERE {where} GROUP BY "station"',
        "AQI",
    )
    hourly: dict[str, dict[int, int]] = {}
    for r in src.rows(
        f'SELECT last("aqi") AS "a" FROM "aqi" WHERE {where} GROUP BY time(1h), "station" fill(none)',
        "hourly AQI",
    ):
        hourly.setdefault(r["station"], {})[beijing_hour(r["time"])] = int(r["a"])
    out = [
        AirDay(
            _known(known, r["station"], "air"),
            float(r["aqi"]),
            int(r["peak"]),
            r["primary"] or "",
            hourly.get(r["station"], {}),
        )
        for r in rows
    ]
    return sorted(out, key=lambda a: (a.station.city, a.station.id))


def warnings(src: InfluxSource, day: date) -> list[dict[str, Any]]:
    """Every warning state change of the day, newest first."""
    rows = src.rows(
        'SELECT "state", "parameter", "value", "limit", "message", "started", "ended" FROM "warnings" '
        f'WHERE {day_filter(day)} GROUP BY "station", "rule", "level"',
        "warnings",
    )
    return sorted(rows, key=lambda r: -int(r["time"]))


def collect(src: InfluxSource, day: date) -> DayReport:
    """Read everything for ``day`` (Beijing time); water figures from audited data."""
    known = stations(src)
    raw = audited.readings(src, day_filter(day), EVALUATED | SEPARATE)
    kept = apply_marks(raw, MarkIndex(audited.marks(src)))
    means = day_means(kept)
    days = [
        replace(s, audited=audited_class(s.station, means.get(s.station.id, {})))
        for s in sections(src, known, day)
    ]
    return DayReport(
        day,
        days,
        exceedances(known, means),
        air(src, known, day),
        warnings(src, day),
        {sid: st.name for sid, st in known.items()},
        excluded=len(raw) - len(kept),
    )
