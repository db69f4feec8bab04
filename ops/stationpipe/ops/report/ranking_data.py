"""What the ranking reads from InfluxDB for one period (Beijing time): the registry, period means of the water
items per station, and hourly means of the air pollutants per station (docs/design.md#influxdb; InfluxQL).

Only valid readings (flag ``N``) count. An hourly air mean is valid with at least 45 minutes of data (GB
3095-2026, as :mod:`~stationpipe.standards.averages`):
minutes with data are counted server-side in a subquery, each
standing for ``sample_minutes`` (1 for minute data, 60 for data logged once an hour).
"""

# ruff: noqa: S608 - InfluxQL text built from constants and validated dates only

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

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


def water_means(src: InfluxSource, period: Period) -> dict[str, dict[str, float]]:
    """Period mean of the valid readings of every evaluated GB 3838 item, per station."""
    rows = src.rows(
        f'SELECT mean("value") AS "mean" FROM "readings" WHERE "flag" = \'N\' AND {_any_of(EVALUATED)} '
        f'AND {period.where()} GROUP BY "station", "parameter"',
        "water means",
    )
    out: dict[str, dict[str, float]] = {}
    for r in rows:
        if r["mean"] is not None:
            out.setdefault(r["station"], {})[r["parameter"]] = float(r["mean"])
    return out


def air_hourly(src: InfluxSource, period: Period, sample_minutes: int) -> Hourly:
    """Valid hourly means of the six AQI pollutants per station, keyed by hour index from the start."""
    where = period.where()
    inner = (
        f'SELECT mean("value") AS "m" FROM "readings" WHERE "flag" = \'N\' AND {_any_of(POLLUTANTS)} '
        f'AND {where} GROUP BY time(1m), "station", "parameter" fill(none)'
    )
    rows = src.rows(
        f'SELECT count("m") AS "n", mean("m") AS "v" FROM ({inner}) WHERE {where} '
        'GROUP BY time(1h), "station", "parameter" fill(none)',
        "hourly air means",
    )
    start_ns = int(period.utc(period.start).timestamp()) * 10**9
    out: Hourly = {}
    for r in rows:
        if r["v"] is None or min(60, int(r["n"]) * sample_minutes) < MIN_MINUTES:
            continue
        hour = (int(r["time"]) - start_ns) // _HOUR_NS
        out.setdefault(r["station"], {}).setdefault(r["parameter"], {})[hour] = float(r["v"])
    return out


def collect(src: InfluxSource, period: Period, sample_minutes: int = 1) -> PeriodData:
    """Everything the ranking needs for ``period``."""
    return PeriodData(stations(src), water_means(src, period), air_hourly(src, period, sample_minutes))


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
