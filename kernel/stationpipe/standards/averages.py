"""Averages as GB 3095-2026 defines them, over valid (flag N, with a value) readings only.

- an hourly mean needs >= 45 minutes with data (:data:`MIN_MINUTES`);
- an O3 8-hour sliding mean needs >= 6 hourly values (:data:`MIN_HOURS_8H`);
- a daily mean needs >= 20 hourly values (:data:`MIN_HOURS_DAY`).

Each window is ``[start, end)`` in UTC. Values are grouped in buckets (a minute, or an hour): several values
in one bucket are averaged first, so a bucket counts once. An :class:`Average` whose ``value`` is ``None``
says there was not enough valid data (``count`` < ``required``); it never raises for that.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from stationpipe.kernel.reading import Reading, require_utc
from stationpipe.standards.common import china_day_start

MIN_MINUTES = 45
MIN_HOURS_8H = 6
MIN_HOURS_DAY = 20
MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class Average:
    """The mean of one parameter over ``[start, end)``; ``value`` is ``None`` when not enough valid data."""

    parameter: str
    start: datetime
    end: datetime
    value: float | None
    count: int
    required: int

    @property
    def sufficient(self) -> bool:
        """True when enough valid buckets were present for the mean to count."""
        return self.value is not None


def _window_mean(
    readings: Iterable[Reading],
    parameter: str,
    start: datetime,
    *,
    span: timedelta,
    bucket: timedelta,
    required: int,
) -> Average:
    require_utc(start, "start")
    end = start + span
    buckets: defaultdict[int, list[float]] = defaultdict(list)
    stations: set[str] = set()
    for r in readings:
        if r.parameter == parameter and start <= r.ts < end and r.flag.valid and r.value is not None:
            buckets[(r.ts - start) // bucket].append(r.value)
            stations.add(r.station)
    if len(stations) > 1:
        raise ValueError(f"readings of several stations in one average: {sorted(stations)}")
    means = [math.fsum(values) / len(values) for values in buckets.values()]
    value = math.fsum(means) / len(means) if len(means) >= required else None
    return Average(parameter, start, end, value, len(means), required)


def hourly_mean(readings: Iterable[Reading], parameter: str, hour_start: datetime) -> Average:
    """Hourly mean from minute data over ``[hour_start, +1 h)``: needs >= 45 minutes with valid data."""
    return _window_mean(readings, parameter, hour_start, span=HOUR, bucket=MINUTE, required=MIN_MINUTES)


def o3_8h_mean(hourly: Iterable[Reading], window_start: datetime, parameter: str = "o3") -> Average:
    """O3 8-hour sliding mean of the hourly values over ``[window_start, +8 h)``: needs >= 6 of them.

    Hourly values are readings stamped with their hour's start (as HJ 212 2061 data is).
    """
    return _window_mean(hourly, parameter, window_start, span=8 * HOUR, bucket=HOUR, required=MIN_HOURS_8H)


def daily_mean(hourly: Iterable[Reading], parameter: str, day_start: datetime) -> Average:
    """Daily mean of hourly values over ``[day_start, +24 h)``: needs >= 20 of them.

    For a natural day in China pass :func:`china_day` (00:00 CST, i.e. 16:00 UTC the day before).
    """
    return _window_mean(hourly, parameter, day_start, span=24 * HOUR, bucket=HOUR, required=MIN_HOURS_DAY)


def china_day(day: date) -> datetime:
    """UTC start of the natural day ``day`` in China, for :func:`daily_mean`."""
    return china_day_start(day)


def as_hourly_readings(station: str, unit: str, means: Iterable[Average]) -> tuple[Reading, ...]:
    """Sufficient hourly means as readings stamped with their hour's start, for the 8 h / daily means."""
    return tuple(Reading(station, m.parameter, m.value, unit, m.start) for m in means if m.value is not None)
