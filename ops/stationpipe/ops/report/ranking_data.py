"""What the ranking reads from InfluxDB for one period (Beijing time): the registry, period means of the water
items per station, and hourly means of the air pollutants per station (docs/design.md#influxdb; InfluxQL).

Only valid readings (flag ``N``) count, and only those the audit marks leave (audited data: the marks are
applied as the data is read, :mod:`~stationpipe.ops.report.audited`). An hourly air mean is valid with at
least 45 minutes of data (GB 3095-2026, as :mod:`~stationpipe.standards.averages`): the minute means come
from the database, and each minute with data stands for ``sample_minutes`` (1 for minute data, 60 for data
logged once an hour).
"""

# ruff: noqa: S608 - InfluxQL text built from constants and validated dates only

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from stationpipe.kernel.audit import MarkIndex
from stationpipe.ops.report import audited
from stationpipe.ops.report.data import BEIJING, Station, stations
from stationpipe.ops.report.influx import InfluxSource
from stationpipe.standards.aqi import POLLUTANTS
from stationpipe.standards.averages import MIN_MINUTES
from stationpipe.standards.gb3838 import EVALUATED

_HOUR_NS = 3600 * 10**9
#: station -> pollutant -> hour index from the period's start -> hourly mean.
Hourly = dict[str, dict[str, dict[int, float]]]


@dataclass(frozen=True, slots=True)
class Period:
    """``[start, end)`` in Beijing time, whole days."""

    label: str
    start: date
    end: date

    @classmethod
    def month(cls, year: int, month: int) -> Period:
        """A calendar month."""
        end = date(year + month // 12, month % 12 + 1, 1)
        return cls(f"{year:04d}-{month:02d}", date(year, month, 1), end)

    @property
    def days(self) -> int:
        """Number of days."""
        return (self.end - self.start).days

    def utc(self, day: date) -> datetime:
        """00:00 Beijing time of ``day``, in UTC."""
        return datetime(day.year, day.month, day.day, tzinfo=BEIJING).astimezone(UTC)

    def where(self) -> str:
        """The InfluxQL time condition."""
        fmt = "%Y-%m-%dT%H:%M:%SZ"
        return (
            f"time >= '{self.utc(self.start).strftime(fmt)}' AND time < '{self.utc(self.end).strftime(fmt)}'"
        )


@dataclass(frozen=True, slots=True)
class PeriodData:
    """Registry, water means (station -> item -> mg/L), and hourly air means (station -> pollutant ->
    hour index from the period's start -> value)."""

    stations: dict[str, Station]
    water: dict[str, dict[str, float]]
    air: Hourly


def _any_of(codes: frozenset[str] | tuple[str, ...]) -> str:
    return "(" + " OR ".join(f"\"parameter\" = '{c}'" for c in sorted(codes)) + ")"


def water_means(
    src: InfluxSource, period: Period, marks: MarkIndex | None = None
) -> dict[str, dict[str, float]]:
    """Period mean of the valid readings of every evaluated GB 3838 item, per station, marks applied."""
    kept = audited.readings(src, period.where(), EVALUATED)
    values: defaultdict[tuple[str, str], list[float]] = defaultdict(list)
    for r in kept:
        if (
            r.flag.valid
            and r.value is not None
            and not (marks and marks.invalidated(r.station, r.parameter, r.ts))
        ):
            values[r.station, r.parameter].append(r.value)
    out: dict[str, dict[str, float]] = {}
    for (station, code), vs in values.items():
        out.setdefault(station, {})[code] = math.fsum(vs) / len(vs)
    return out


def air_hourly(
    src: InfluxSource, period: Period, sample_minutes: int, marks: MarkIndex | None = None
) -> Hourly:
    """Valid hourly means of the six AQI pollutants per station, keyed by hour index from the start.

    Minute means come from the database; a minute the marks invalidate (at its start) is left out before
    the minutes of an hour are counted.
    """
    rows = src.rows(
        f'SELECT mean("value") AS "m" FROM "readings" WHERE "flag" = \'N\' AND {_any_of(POLLUTANTS)} '
        f'AND {period.where()} GROUP BY time(1m), "station", "parameter" fill(none)',
        "minute air means",
    )
    start_ns = int(period.utc(period.start).timestamp()) * 10**9
    minutes: defaultdict[tuple[str, str, int], list[float]] = defaultdict(list)
    for r in rows:
        if r["m"] is None:
            continue
        at = datetime.fromtimestamp(int(r["time"]) // 10**9, UTC)
        if marks and marks.invalidated(r["station"], r["parameter"], at):
            continue
        minutes[r["station"], r["parameter"], (int(r["time"]) - start_ns) // _HOUR_NS].append(float(r["m"]))
    out: Hourly = {}
    for (station, pollutant, hour), means in minutes.items():
        if min(60, len(means) * sample_minutes) >= MIN_MINUTES:
            out.setdefault(station, {}).setdefault(pollutant, {})[hour] = math.fsum(means) / len(means)
    return out


def collect(
    src: InfluxSource, period: Period, sample_minutes: int = 1, *, exclude_exceptional: bool = True
) -> PeriodData:
    """Everything the ranking needs for ``period``, from audited data (the stored marks applied)."""
    marks = MarkIndex(audited.marks(src), exclude_exceptional=exclude_exceptional)
    return PeriodData(
        stations(src), water_means(src, period, marks), air_hourly(src, period, sample_minutes, marks)
    )


def beijing_month(text: str | None, today: date | None = None) -> Period:
    """``YYYY-MM``, or (``None``) the last complete month in Beijing time."""
    if text is None:
        today = today or datetime.now(BEIJING).date()
        last = today.replace(day=1) - timedelta(days=1)
        return Period.month(last.year, last.month)
    try:
        year, month = (int(part) for part in text.split("-"))
        return Period.month(year, month)
    except ValueError:
        raise ValueError(f"{text!r} is not a month YYYY-MM") from None
