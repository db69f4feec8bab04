"""What the daily report shows, read from InfluxDB for one Beijing-time day (00:00–24:00 +08:00).

Daily water class: the class the rules engine reported last in the day, and the worst of the day.
Daily AQI: the mean of the hourly AQI values (the dashboards use the same approximation).
Exceedances: daily means of valid (flag N) readings against the section's target class (GB 3838-2002).
"""

# ruff: noqa: S608 - InfluxQL text built from constants and validated dates only

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from stationpipe.kernel.registry import WaterBody, WaterClass
from stationpipe.ops.report.influx import InfluxSource
from stationpipe.standards.gb3838 import exceedance, has_class, limits_for

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


def exceedances(src: InfluxSource, known: dict[str, Station], day: date) -> list[Exceedance]:
    """Parameters whose daily mean of valid readings exceeds the target-class limit."""
    rows = src.rows(
        f'SELECT mean("value") AS "mean" FROM "readings" WHERE "flag" = \'N\' AND {day_filter(day)} '
        'GROUP BY "station", "parameter"',
        "daily means",
    )
    out = []
    for r in rows:
        st = known.get(r["station"])
        if st is None or st.target is None or st.kind != "water" or not has_class(r["parameter"]):
            continue
        target, body = WaterClass(st.target), WaterBody(st.water_body)
        multiple = exceedance(r["parameter"], max(float(r["mean"]), 0.0), target, body)
        if multiple is not None:
            limit = limits_for(r["parameter"], body).limit(target)
            out.append(Exceedance(st, r["parameter"], float(r["mean"]), limit, multiple))
    return sorted(out, key=lambda e: -e.multiple)


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
    """Read everything for ``day`` (Beijing time)."""
    known = stations(src)
    return DayReport(
        day,
        sections(src, known, day),
        exceedances(src, known, day),
        air(src, known, day),
        warnings(src, day),
        {sid: st.name for sid, st in known.items()},
    )
