"""The public quality ranking (环境质量公开排序) of one period: cities and sections by water quality, cities
by air quality. Formulas in :mod:`stationpipe.ops.report.ranking_calc`; sources and policy in docs/ranking.md.

Water: a section's class is the GB 3838 single-factor class of its period means of valid readings; cities are
ranked by CWQI (ascending) and by the share of their sections at class III or better (descending); sections by
CWQI. Air: a city's daily value of a pollutant is the mean of its stations' daily values (daily mean of >= 20
valid hourly means; O3 the day's maximum 8-h mean); the composite index comes from those days; a day is good
when the AQI of the city's daily values is <= 100. Equal values, as shown, share a rank.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta

from stationpipe.kernel.registry import WaterBody, WaterClass
from stationpipe.ops.report.data import Station
from stationpipe.ops.report.ranking_calc import Composite, city_cwqi, competition_ranks, composite_index, cwqi
from stationpipe.ops.report.ranking_data import Period, PeriodData
from stationpipe.standards.aqi import POLLUTANTS, aqi_of, o3_8h_max
from stationpipe.standards.averages import MIN_HOURS_DAY
from stationpipe.standards.gb3095 import Gb3095Version
from stationpipe.standards.gb3838 import EVALUATED
from stationpipe.standards.gb3838_section import evaluate_values
from stationpipe.standards.hj633 import standard_for

#: AQI at or below which a day is good (优良, HJ 633: levels 一级 and 二级).
GOOD_AQI = 100
#: station daily values: pollutant -> day index -> value.
Daily = dict[str, dict[int, float]]
#: Decimals at which ranked values are compared (as published): indices, shares (%). *Policy.*
INDEX_DECIMALS, SHARE_DECIMALS = 2, 1


@dataclass(frozen=True, slots=True)
class Options:
    """*Policy* settings (docs/ranking.md). ``min_days`` ``None``: 27 days a month, 25 in February."""

    sample_minutes: int = 1
    min_days: int | None = None
    min_pollutants: int = 6
    air_limits: Gb3095Version = Gb3095Version.GB3095_2012

    def days_required(self, period: Period) -> int:
        """Daily values a pollutant needs in ``period`` for its statistic to count."""
        if self.min_days is not None:
            return self.min_days
        return 25 if period.start.month == 2 else 27


@dataclass(frozen=True, slots=True)
class SectionRank:
    """One section: its class, CWQI, the items used and their period means, and its rank by CWQI."""

    station: Station
    water_class: WaterClass
    cwqi: float
    means: dict[str, float]
    rank: int | None = None


@dataclass(frozen=True, slots=True)
class WaterCity:
    """One city's sections: counts, share at III or better (%), CWQI and the two ranks."""

    city: str
    sections: int
    iii_or_better: int
    worse_than_v: int
    cwqi: float
    rank_cwqi: int | None = None
    rank_share: int | None = None

    @property
    def share(self) -> float:
        """Share of sections at class III or better, %."""
        return 100 * self.iii_or_better / self.sections


@dataclass(frozen=True, slots=True)
class AirCity:
    """One city: stations, days with a daily value per pollutant, good and evaluated days, the composite index
    (``None`` when a pollutant has too few days) and the two ranks."""

    city: str
    stations: int
    days: dict[str, int]
    evaluated_days: int
    good_days: int
    composite: Composite | None
    rank_index: int | None = None
    rank_good: int | None = None

    @property
    def good_share(self) -> float | None:
        """优良天数比例, %."""
        return 100 * self.good_days / self.evaluated_days if self.evaluated_days else None


@dataclass(frozen=True, slots=True)
class Ranking:
    """Everything the table, the JSON and the page show."""

    period: Period
    options: Options
    sections: list[SectionRank] = field(default_factory=list)
    water_cities: list[WaterCity] = field(default_factory=list)
    air_cities: list[AirCity] = field(default_factory=list)


def _city(st: Station) -> str:
    return st.city or "—"


def sections(data: PeriodData) -> list[SectionRank]:
    """Every water section with a period mean of at least one evaluated item, ranked by CWQI."""
    out = []
    for sid, means in data.water.items():
        st = data.stations.get(sid)
        evaluated = {k: max(v, 0.0) for k, v in means.items() if k in EVALUATED}
        if st is None or st.kind != "water" or not evaluated:
            continue
        body = WaterBody(st.water_body)
        target = WaterClass(st.target) if st.target is not None and 1 <= st.target <= 5 else WaterClass.III
        try:
            index, _ = cwqi(evaluated, body)
        except ValueError as exc:
            raise ValueError(f"section {sid}: {exc}") from None
        out.append(SectionRank(st, evaluate_values(evaluated, target, body).water_class, index, evaluated))
    ranks = competition_ranks([s.cwqi for s in out], descending=False, decimals=INDEX_DECIMALS)
    ranked = [
        SectionRank(s.station, s.water_class, s.cwqi, s.means, r) for s, r in zip(out, ranks, strict=True)
    ]
    return sorted(ranked, key=lambda s: (s.rank or 0, s.station.id))


def water_cities(ranked: list[SectionRank]) -> list[WaterCity]:
    """Cities by CWQI and by share of sections at III or better."""
    groups: defaultdict[str, list[SectionRank]] = defaultdict(list)
    for s in ranked:
        groups[_city(s.station)].append(s)
    cities = [
        WaterCity(
            city,
            len(group),
            sum(s.water_class <= WaterClass.III for s in group),
            sum(s.water_class is WaterClass.WORSE_THAN_V for s in group),
            city_cwqi([(WaterBody(s.station.water_body), s.means) for s in group]),
        )
        for city, group in groups.items()
    ]
    by_index = competition_ranks([c.cwqi for c in cities], descending=False, decimals=INDEX_DECIMALS)
    by_share = competition_ranks([c.share for c in cities], descending=True, decimals=SHARE_DECIMALS)
    out = [
        WaterCity(c.city, c.sections, c.iii_or_better, c.worse_than_v, c.cwqi, ri, rs)
        for c, ri, rs in zip(cities, by_index, by_share, strict=True)
    ]
    return sorted(out, key=lambda c: (c.rank_cwqi or 0, c.city))


def station_daily(hourly: dict[str, dict[int, float]], days: int) -> Daily:
    """Per pollutant and day index: the daily mean (>= 20 hourly means) or, for O3, the maximum 8-h mean."""
    out: dict[str, dict[int, float]] = {}
    for pollutant, hours in hourly.items():
        for day in range(days):
            values = [hours.get(day * 24 + h) for h in range(24)]
            if pollutant == "o3":
                value = o3_8h_max(values)
            else:
                present = [v for v in values if v is not None]
                value = math.fsum(present) / len(present) if len(present) >= MIN_HOURS_DAY else None
            if value is not None:
                out.setdefault(pollutant, {})[day] = value
    return out


def city_daily(per_station: list[Daily]) -> Daily:
    """Per pollutant and day: the mean of the stations' daily values that exist."""
    acc: dict[str, dict[int, list[float]]] = {}
    for daily in per_station:
        for pollutant, days in daily.items():
            for day, value in days.items():
                acc.setdefault(pollutant, {}).setdefault(day, []).append(value)
    return {p: {d: math.fsum(v) / len(v) for d, v in days.items()} for p, days in acc.items()}


def _good_days(daily: Daily, period: Period, options: Options) -> tuple[int, int]:
    evaluated = good = 0
    for day in range(period.days):
        means = {p: daily[p][day] for p in POLLUTANTS if day in daily.get(p, {})}
        if len(means) < options.min_pollutants:
            continue
        evaluated += 1
        standard = standard_for(period.start + timedelta(days=day))
        good += aqi_of(means, standard, daily=True).aqi <= GOOD_AQI
    return evaluated, good


def air_city(
    city: str, stations: list[dict[str, dict[int, float]]], period: Period, options: Options
) -> AirCity:
    """One city's month: composite index (when every pollutant has enough days) and good days."""
    daily = city_daily(stations)
    days = {p: len(daily.get(p, {})) for p in POLLUTANTS}
    enough = all(n >= options.days_required(period) for n in days.values())
    values = {p: list(daily.get(p, {}).values()) for p in POLLUTANTS}
    composite = composite_index(values, options.air_limits) if enough else None
    evaluated, good = _good_days(daily, period, options)
    return AirCity(city, len(stations), days, evaluated, good, composite)


def air_cities(data: PeriodData, period: Period, options: Options) -> list[AirCity]:
    """Cities by composite index and by share of good days."""
    groups: defaultdict[str, list[Daily]] = defaultdict(list)
    for sid, hourly in data.air.items():
        st = data.stations.get(sid)
        if st is not None and st.kind == "air":
            groups[_city(st)].append(station_daily(hourly, period.days))
    cities = [air_city(city, group, period, options) for city, group in groups.items()]
    index = [c.composite.index if c.composite else None for c in cities]
    by_index = competition_ranks(index, descending=False, decimals=INDEX_DECIMALS)
    by_good = competition_ranks([c.good_share for c in cities], descending=True, decimals=SHARE_DECIMALS)
    out = [
        AirCity(c.city, c.stations, c.days, c.evaluated_days, c.good_days, c.composite, ri, rg)
        for c, ri, rg in zip(cities, by_index, by_good, strict=True)
    ]
    return sorted(out, key=lambda c: (c.rank_index is None, c.rank_index or 0, c.city))


def rank(data: PeriodData, period: Period, options: Options) -> Ranking:
    """The whole ranking of ``period``."""
    ranked = sections(data)
    return Ranking(period, options, ranked, water_cities(ranked), air_cities(data, period, options))
