"""What the daily report shows, read from InfluxDB for one Beijing-time day (00:00–24:00 +08:00).

Every headline figure comes from audited data (:mod:`~stationpipe.ops.report.audited`: the day's readings
with the audit marks applied, raw data unchanged), computed as ``stationpipe report stats`` computes it
(:mod:`~stationpipe.ops.report.day_figures`): each section's day class, worst class and main items, each
air station's daily AQI and level, the exceedances (audited day means against the target, GB 3838-2002)
and the province figures. Beside them, labelled raw/live: the rules engine's last class of the day and the
mean and peak of its hourly AQI, and the hourly charts, all from raw data.
"""

# ruff: noqa: S608 - InfluxQL text built from constants and validated dates only

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from stationpipe.kernel.reading import Reading
from stationpipe.kernel.registry import WaterBody, WaterClass
from stationpipe.ops.report import audited, day_figures
from stationpipe.ops.report.day_figures import air_station_day, day_start, water_day
from stationpipe.ops.report.influx import InfluxSource
from stationpipe.standards.air_stats import HJ663_2026, AirRules
from stationpipe.standards.aqi import POLLUTANTS
from stationpipe.standards.gb3838 import EVALUATED, SEPARATE, exceedance, has_class, limits_for

#: Beijing time, the reports' time zone.
BEIJING = day_figures.BEIJING
#: What the daily report says about its data.
DAILY_NOTE = (
    "审核后数据 audited data: day class, worst class, AQI, exceedances and province figures from the "
    "day's readings with the audit marks applied (raw data unchanged); 原始/实时 raw/live columns and the "
    "hourly charts are the rules engine's figures from raw data"
)


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
    """One water section's day from audited data: class, worst hourly class, main items, hourly classes
    (hour 0..23 -> class); ``live``: the rules engine's last class of the day from raw data (raw/live)."""

    station: Station
    day_class: int | None
    worst: int | None
    main: tuple[str, ...]
    hourly: dict[int, int]
    live: int | None = None

    @property
    def meets(self) -> bool:
        """True when the audited day class is the target class or better."""
        target = self.station.target
        return target is not None and self.day_class is not None and self.day_class <= target


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
    """One air station's day: the daily AQI of audited data (``counted``: publishable, HJ 633) and its
    primary pollutants; raw/live: the mean and peak of the rules engine's hourly AQI, and the hourly AQI."""

    station: Station
    aqi: int | None
    counted: bool
    primary: tuple[str, ...]
    live_aqi: float | None = None
    peak: int | None = None
    hourly: dict[int, int] = field(default_factory=dict)

    @property
    def good(self) -> bool:
        """A good air day (优良天): a counted day with AQI <= 100."""
        return self.counted and self.aqi is not None and self.aqi <= 100


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
    note: str = DAILY_NOTE
    excluded: int = 0
    rules: str = ""


def day_filter(day: date) -> str:
    """``time >= … AND time < …`` for the Beijing-time day, in UTC RFC 3339."""
    start = day_start(day)
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


def live_classes(src: InfluxSource, day: date) -> dict[str, int]:
    """Raw/live: the class the rules engine reported last in the day, per section."""
    rows = src.rows(
        f'SELECT last("class") AS "last" FROM "water_class" WHERE {day_filter(day)} GROUP BY "station"',
        "water classes",
    )
    return {r["station"]: int(r["last"]) for r in rows}


def _by_station(readings: Iterable[Reading]) -> dict[str, list[Reading]]:
    out: defaultdict[str, list[Reading]] = defaultdict(list)
    for r in readings:
        out[r.station].append(r)
    return out


def _ids(known: dict[str, Station], kind: str, *extra: Iterable[str]) -> set[str]:
    found = {sid for part in extra for sid in part}
    return {sid for sid in found if sid not in known or known[sid].kind == kind}


def section_days(
    known: dict[str, Station], kept: dict[str, list[Reading]], live: dict[str, int], day: date
) -> list[SectionDay]:
    """The day of every section with an audited or a live class that day."""
    out = []
    for sid in _ids(known, "water", kept, live):
        st = _known(known, sid, "water")
        figures = water_day(kept.get(sid, []), day, WaterBody(st.water_body))
        if figures.day_class is None and sid not in live:
            continue
        out.append(
            SectionDay(st, figures.day_class, figures.worst, figures.main, figures.hourly, live.get(sid))
        )
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


@dataclass(frozen=True, slots=True)
class LiveAir:
    """Raw/live: the mean and peak of the rules engine's hourly AQI of a day, and the hourly AQI."""

    mean: float
    peak: int
    hourly: dict[int, int]


def live_air(src: InfluxSource, day: date) -> dict[str, LiveAir]:
    """The rules engine's AQI of the day, per air station (raw/live)."""
    where = day_filter(day)
    rows = src.rows(
        f'SELECT mean("aqi") AS "aqi", max("aqi") AS "peak" FROM "aqi" WHERE {where} GROUP BY "station"',
        "AQI",
    )
    hourly: dict[str, dict[int, int]] = {}
    for r in src.rows(
        f'SELECT last("aqi") AS "a" FROM "aqi" WHERE {where} GROUP BY time(1h), "station" fill(none)',
        "hourly AQI",
    ):
        hourly.setdefault(r["station"], {})[beijing_hour(r["time"])] = int(r["a"])
    return {
        r["station"]: LiveAir(float(r["aqi"]), int(r["peak"]), hourly.get(r["station"], {})) for r in rows
    }


def air_days(
    known: dict[str, Station],
    kept: dict[str, list[Reading]],
    live: dict[str, LiveAir],
    day: date,
    options: DayOptions,
) -> list[AirDay]:
    """The day of every air station with an audited or a live AQI that day."""
    out = []
    for sid in _ids(known, "air", kept, live):
        mine = [r for r in kept.get(sid, []) if r.parameter in POLLUTANTS]
        result = air_station_day(mine, day, options.rules, sample_minutes=options.sample_minutes)
        raw = live.get(sid)
        if result.aqi is None and raw is None:
            continue
        aqi = result.aqi
        out.append(
            AirDay(
                _known(known, sid, "air"),
                None if aqi is None else aqi.aqi,
                result.counted,
                () if aqi is None else aqi.primary,
                None if raw is None else raw.mean,
                None if raw is None else raw.peak,
                {} if raw is None else raw.hourly,
            )
        )
    return sorted(out, key=lambda a: (a.station.city, a.station.id))


def warnings(src: InfluxSource, day: date) -> list[dict[str, Any]]:
    """Every warning state change of the day, newest first."""
    rows = src.rows(
        'SELECT "state", "parameter", "value", "limit", "message", "started", "ended" FROM "warnings" '
        f'WHERE {day_filter(day)} GROUP BY "station", "rule", "level"',
        "warnings",
    )
    return sorted(rows, key=lambda r: -int(r["time"]))


@dataclass(frozen=True, slots=True)
class DayOptions:
    """Policy of the audited day figures, as ``stationpipe report stats`` takes it (docs/domain.md)."""

    rules: AirRules = HJ663_2026
    sample_minutes: int = 60


def collect(src: InfluxSource, day: date, options: DayOptions | None = None) -> DayReport:
    """Read everything for ``day`` (Beijing time); the headline figures from audited data."""
    opts = options or DayOptions()
    known = stations(src)
    raw = audited.readings(src, day_filter(day), EVALUATED | SEPARATE | set(POLLUTANTS))
    data = audited.audited(raw, audited.marks(src), exclude_exceptional=opts.rules.exclude_exceptional)
    kept = _by_station(data.audited)
    return DayReport(
        day,
        section_days(known, kept, live_classes(src, day), day),
        exceedances(known, day_means(data.audited)),
        air_days(known, kept, live_air(src, day), day, opts),
        warnings(src, day),
        {sid: st.name for sid, st in known.items()},
        excluded=data.excluded,
        rules=opts.rules.name,
    )
