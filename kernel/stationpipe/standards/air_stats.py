"""Official air statistics of one station-day: hourly values, daily means, the O3 daily maximum 8-hour mean,
the daily AQI and the good-day share, with the validity rules of GB 3095 / HJ 663 (docs/domain.md).

- an hourly value needs >= 45 minutes with data (a reading stands for ``sample_minutes``: 1 for minute
  data, 60 for data logged once an hour);
- a daily (24 h) mean needs >= 20 hourly values;
- an O3 8-hour mean needs >= 6 of its 8 hourly values; the windows of a day start at 00:00 … 16:00 (the
  8-hour means labelled 08:00 … 24:00), 17 in all;
- the O3 daily maximum 8-hour mean needs >= 14 valid 8-hour means; with fewer it still counts when it
  exceeds the 8-hour limit (it can only understate);
- a day counts for the good-day share when its AQI is publishable (HJ 633: all six pollutants; 2026 also a
  partial AQI above 100); a good day has AQI <= 100.

:class:`AirRules` selects HJ 663-2013 or the 2026 options (exceptional events deducted, rounded
concentrations, a moving average over years for rankings); the numbers the 2026 text could not confirm
are fields, not constants.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from types import MappingProxyType

from stationpipe.kernel.reading import Reading, require_utc
from stationpipe.standards.aqi import POLLUTANTS, AqiResult, aqi_of
from stationpipe.standards.common import Share, exact
from stationpipe.standards.hj633 import ROUNDING, AqiStandard

HOURS_A_DAY = 24
_MINUTE = timedelta(minutes=1)
_HOUR = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class AirRules:
    """The validity and evaluation rules of one edition of HJ 663 (numbers: docs/domain.md)."""

    name: str
    aqi_standard: AqiStandard
    exclude_exceptional: bool
    round_concentrations: bool
    ranking_years: int
    min_minutes_hour: int = 45
    min_hours_day: int = 20
    min_hours_8h: int = 6
    min_windows_o3: int = 14
    o3_8h_limit: float = 160.0


HJ663_2013 = AirRules(
    "HJ 663-2013",
    AqiStandard.HJ633_2012,
    exclude_exceptional=False,
    round_concentrations=False,
    ranking_years=1,
)
#: The 2026 options: exceptional-event marks deducted, concentrations rounded (GB/T 8170) before they are
#: compared, rankings on a three-year moving average. *Configurable*: docs/domain.md says what is confirmed.
HJ663_2026 = AirRules(
    "HJ 663-2026",
    AqiStandard.HJ633_2026,
    exclude_exceptional=True,
    round_concentrations=True,
    ranking_years=3,
)
RULES: MappingProxyType[str, AirRules] = MappingProxyType({"2013": HJ663_2013, "2026": HJ663_2026})


def hourly_values(
    readings: Iterable[Reading], parameter: str, day_start: datetime, *, sample_minutes: int, min_minutes: int
) -> tuple[float | None, ...]:
    """The day's 24 hourly values of ``parameter`` from valid readings (flag N, with a value).

    Readings are bucketed by minute and averaged per minute first; an hour counts when its minutes with
    data times ``sample_minutes`` (capped at 60) reach ``min_minutes``.
    """
    require_utc(day_start, "day_start")
    end = day_start + HOURS_A_DAY * _HOUR
    minutes: defaultdict[int, list[float]] = defaultdict(list)
    for r in readings:
        if r.parameter == parameter and day_start <= r.ts < end and r.flag.valid and r.value is not None:
            minutes[(r.ts - day_start) // _MINUTE].append(r.value)
    hours: defaultdict[int, list[float]] = defaultdict(list)
    for minute, values in minutes.items():
        hours[minute // 60].append(math.fsum(values) / len(values))
    out: list[float | None] = []
    for hour in range(HOURS_A_DAY):
        means = hours.get(hour, [])
        enough = means and min(60, len(means) * sample_minutes) >= min_minutes
        out.append(math.fsum(means) / len(means) if enough else None)
    return tuple(out)


def daily_mean(hourly: Sequence[float | None], rules: AirRules) -> float | None:
    """The 24 h mean of the day's hourly values; ``None`` with fewer than ``min_hours_day`` of them."""
    values = [v for v in hourly if v is not None]
    return math.fsum(values) / len(values) if len(values) >= rules.min_hours_day else None


def o3_8h_means(hourly: Sequence[float | None], rules: AirRules) -> tuple[float | None, ...]:
    """The day's 17 O3 8-hour means (windows starting 00:00 … 16:00); ``None`` with < 6 of 8 hours."""
    out: list[float | None] = []
    for start in range(HOURS_A_DAY - 7):
        values = [v for v in hourly[start : start + 8] if v is not None]
        out.append(math.fsum(values) / len(values) if len(values) >= rules.min_hours_8h else None)
    return tuple(out)


def o3_daily_max_8h(hourly: Sequence[float | None], rules: AirRules) -> float | None:
    """The O3 daily maximum 8-hour mean: valid with >= 14 valid 8-hour means, or fewer above the limit."""
    windows = [v for v in o3_8h_means(hourly, rules) if v is not None]
    if not windows:
        return None
    top = max(windows)
    return top if len(windows) >= rules.min_windows_o3 or top > rules.o3_8h_limit else None


def rounded(pollutant: str, value: float) -> float:
    """GB/T 8170 rounding of a reported concentration: CO (mg/m³) to 0.1, the others (µg/m³) to 1."""
    step = Decimal("0.1") if pollutant == "co" else Decimal(1)
    return float(exact(value).quantize(step, rounding=ROUNDING))


@dataclass(frozen=True, slots=True)
class AirDay:
    """One station-day: the daily values (24 h means, O3 daily max 8 h) and, when any, its AQI.

    ``counted`` is true when the AQI is publishable (the day enters the good-day share).
    """

    values: Mapping[str, float | None]
    aqi: AqiResult | None

    @property
    def counted(self) -> bool:
        """True when the day enters the good-day share."""
        return self.aqi is not None and self.aqi.publishable

    @property
    def good(self) -> bool:
        """A good air day (优良天): a counted day with AQI <= 100."""
        return self.aqi is not None and self.counted and self.aqi.aqi <= 100


def air_day(hourly: Mapping[str, Sequence[float | None]], rules: AirRules) -> AirDay:
    """The day of one station from its hourly values per pollutant (the six of the AQI)."""
    values: dict[str, float | None] = {}
    for pollutant in POLLUTANTS:
        hours = hourly.get(pollutant, (None,) * HOURS_A_DAY)
        value = o3_daily_max_8h(hours, rules) if pollutant == "o3" else daily_mean(hours, rules)
        if value is not None and rules.round_concentrations:
            value = rounded(pollutant, value)
        values[pollutant] = value
    present = {p: v for p, v in values.items() if v is not None}
    aqi = aqi_of(present, rules.aqi_standard, daily=True) if present else None
    return AirDay(MappingProxyType(values), aqi)


def good_day_share(days: Iterable[AirDay]) -> Share:
    """优良天数比率: good days / counted days."""
    kept = [d for d in days if d.counted]
    return Share(sum(d.good for d in kept), len(kept))


def moving_average(yearly: Sequence[float], years: int) -> float | None:
    """The mean of the last ``years`` yearly values (a ranking's moving average); ``None`` with fewer."""
    if years < 1:
        raise ValueError("years must be >= 1")
    if len(yearly) < years:
        return None
    return math.fsum(yearly[-years:]) / years
