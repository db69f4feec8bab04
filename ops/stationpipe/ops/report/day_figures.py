"""The daily report's headline figures from audited readings (the marks already applied), computed with
the functions of ``stationpipe report stats`` (docs/domain.md#official-statistics-and-audit):

- a section's day class: the single-factor class of the day means of its valid readings
  (:func:`~stationpipe.standards.water_stats.section_class`); its worst class: the worst of the classes of
  its hourly means; its main pollutants: the items at the day class;
- an air station's daily AQI: :func:`~stationpipe.standards.air_stats.air_day` over the hourly values
  (validity rules of GB 3095 / HJ 663), publishable or not (``counted``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from stationpipe.kernel.reading import Reading
from stationpipe.kernel.registry import WaterBody, WaterClass
from stationpipe.standards.air_stats import AirDay, AirRules, air_day, hourly_values
from stationpipe.standards.aqi import POLLUTANTS
from stationpipe.standards.water_stats import period_means, section_class

BEIJING = ZoneInfo("Asia/Shanghai")
_HOUR = timedelta(hours=1)


def day_start(day: date) -> datetime:
    """00:00 Beijing time of ``day``, in UTC."""
    return datetime.combine(day, time(0), BEIJING).astimezone(UTC)


@dataclass(frozen=True, slots=True)
class WaterDay:
    """A section's audited day: its class, worst hourly class, main items and hourly classes (0..23)."""

    day_class: int | None
    worst: int | None
    main: tuple[str, ...]
    hourly: dict[int, int]


def _class_of(readings: Sequence[Reading], start: datetime, end: datetime, body: WaterBody) -> int | None:
    # the class does not depend on the target; III only fills the evaluation's target argument
    result = section_class(period_means(readings, start, end), WaterClass.III, body)
    return None if result is None else int(result.water_class)


def water_day(readings: Sequence[Reading], day: date, body: WaterBody) -> WaterDay:
    """One section's day from its audited readings (one station)."""
    start = day_start(day)
    result = section_class(period_means(readings, start, start + 24 * _HOUR), WaterClass.III, body)
    by_hour: defaultdict[int, list[Reading]] = defaultdict(list)
    for r in readings:  # bucket first: each hour's mean reads its own readings only
        by_hour[(r.ts - start) // _HOUR].append(r)
    hourly = {
        h: c
        for h in range(24)
        if (c := _class_of(by_hour[h], start + h * _HOUR, start + (h + 1) * _HOUR, body)) is not None
    }
    day_class = None if result is None else int(result.water_class)
    worst = max([*hourly.values(), *([day_class] if day_class is not None else [])], default=None)
    return WaterDay(day_class, worst, () if result is None else result.worst, hourly)


def air_station_day(
    readings: Iterable[Reading], day: date, rules: AirRules, *, sample_minutes: int
) -> AirDay:
    """One air station's day from its audited readings (one station): daily values and AQI."""
    by_param: defaultdict[str, list[Reading]] = defaultdict(list)
    for r in readings:
        by_param[r.parameter].append(r)
    start = day_start(day)
    hourly = {
        p: hourly_values(
            by_param[p], p, start, sample_minutes=sample_minutes, min_minutes=rules.min_minutes_hour
        )
        for p in POLLUTANTS
    }
    return air_day(hourly, rules)
