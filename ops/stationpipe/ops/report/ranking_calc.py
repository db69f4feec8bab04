"""Formulas of the public quality ranking (环境质量公开排序), pure; sources and policy in docs/ranking.md.

Water — 城市地表水环境质量指数 (CWQI), 《城市地表水环境质量排名技术规定（试行）》(环办监测〔2017〕51号):

- single-item index ``CWQI(i) = C(i) / S(i)`` with ``S(i)`` the GB 3838-2002 class III limit (TP: the river or
  the lake/reservoir column); dissolved oxygen inverted, ``S / C``; pH ``(7.0 - pH) / (7.0 - 6)`` at or below
  7.0, ``(pH - 7.0) / (9 - 7.0)`` above;
- ``CWQI = Σ CWQI(i)`` over the evaluated items (GB 3838 Table 1 less water temperature, TN, fecal coliform);
- a city: item concentrations averaged over its river sections give ``CWQI_river`` (likewise lakes and
  reservoirs), and the city's index is their mean weighted by the numbers of sections.

Air — 环境空气质量综合指数, HJ 663-2013: ``I_sum = Σ C(i) / S(i)`` over SO2, NO2, PM10, PM2.5 (period means,
GB 3095 class II annual limits), CO (95th percentile of daily means, 24-h limit) and O3 (90th percentile of
daily maximum 8-h means, 8-h limit); percentiles by HJ 663's linear interpolation (:func:`percentile`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from stationpipe.kernel.registry import WaterBody, WaterClass
from stationpipe.standards import gb3095
from stationpipe.standards.common import Period
from stationpipe.standards.gb3838 import DO, EVALUATED, PH_RANGE, limits_for

#: pH of zero index, and the class III limits of the range (GB 3838-2002 Table 1: 6-9).
PH_NEUTRAL = 7.0
#: The six pollutants of the composite index, each with its statistic and the GB 3095 averaging period.
AIR_ITEMS: tuple[tuple[str, str, Period], ...] = (
    ("so2", "mean", Period.ANNUAL),
    ("no2", "mean", Period.ANNUAL),
    ("pm10", "mean", Period.ANNUAL),
    ("pm25", "mean", Period.ANNUAL),
    ("co", "p95", Period.H24),
    ("o3", "p90", Period.H8),
)


def cwqi_item(code: str, concentration: float, water_body: WaterBody) -> float:
    """One item's index against its class III limit (dimensionless, 1.0 = exactly the limit)."""
    if code == "ph":
        low, high = PH_RANGE
        if concentration <= PH_NEUTRAL:
            return (PH_NEUTRAL - concentration) / (PH_NEUTRAL - low)
        return (concentration - PH_NEUTRAL) / (high - PH_NEUTRAL)
    if code == "do":
        if concentration <= 0:
            raise ValueError("dissolved oxygen must be > 0 for its index (S / C)")
        return DO.limit(WaterClass.III) / concentration
    return concentration / limits_for(code, water_body).limit(WaterClass.III)


def cwqi(means: Mapping[str, float], water_body: WaterBody) -> tuple[float, tuple[str, ...]]:
    """Σ of the item indices over the evaluated items present; returns the index and the items used."""
    items = tuple(sorted(code for code in means if code in EVALUATED))
    return math.fsum(cwqi_item(code, means[code], water_body) for code in items), items


def mean_concentrations(sections: Iterable[Mapping[str, float]]) -> dict[str, float]:
    """Per item, the arithmetic mean over the sections that have it."""
    sums: dict[str, list[float]] = {}
    for means in sections:
        for code, value in means.items():
            sums.setdefault(code, []).append(value)
    return {code: math.fsum(values) / len(values) for code, values in sums.items()}


def city_cwqi(sections: Sequence[tuple[WaterBody, Mapping[str, float]]]) -> float:
    """A city's CWQI: per water-body type, the index of the item means over its sections; then the mean of
    the two weighted by their numbers of sections."""
    total, count = 0.0, 0
    for body in (WaterBody.RIVER, WaterBody.LAKE_RESERVOIR):
        group = [means for b, means in sections if b is body]
        if group:
            index, _ = cwqi(mean_concentrations(group), body)
            total += index * len(group)
            count += len(group)
    if not count:
        raise ValueError("a city CWQI needs at least one section with data")
    return total / count


def percentile(values: Sequence[float], p: float) -> float:
    """The p-th percentile (0-100) as HJ 663-2013 defines it: sort ascending, ``k = 1 + (n - 1) p / 100``,
    ``s`` its integer part, ``X_p = X_s + (X_{s+1} - X_s)(k - s)`` (1-based ranks)."""
    if not values:
        raise ValueError("a percentile needs values")
    ordered = sorted(values)
    k = 1 + (len(ordered) - 1) * p / 100
    s = int(k)
    if s >= len(ordered):
        return ordered[-1]
    return ordered[s - 1] + (ordered[s] - ordered[s - 1]) * (k - s)


@dataclass(frozen=True, slots=True)
class Composite:
    """The composite index, each pollutant's statistic (µg/m³, CO mg/m³) and single index, and the
    pollutant of the largest single index (首要污染物 of the period)."""

    index: float
    statistics: dict[str, float]
    indices: dict[str, float]
    largest: str


def composite_index(daily: Mapping[str, Sequence[float]], version: gb3095.Gb3095Version) -> Composite:
    """``I_sum`` from a city's daily values of the period (O3: daily maximum 8-h means); each of the six
    pollutants needs at least one day."""
    stats: dict[str, float] = {}
    indices: dict[str, float] = {}
    for pollutant, statistic, period in AIR_ITEMS:
        values = daily.get(pollutant, ())
        if not values:
            raise ValueError(f"no daily values of {pollutant}")
        if statistic == "mean":
            stats[pollutant] = math.fsum(values) / len(values)
        else:
            stats[pollutant] = percentile(values, 95 if statistic == "p95" else 90)
        indices[pollutant] = stats[pollutant] / gb3095.limit(pollutant, period, version)
    largest = max(indices, key=lambda k: indices[k])
    return Composite(math.fsum(indices.values()), stats, indices, largest)


def competition_ranks(values: Sequence[float | None], *, descending: bool, decimals: int) -> list[int | None]:
    """Ranks 1, 2, 2, 4 … of ``values`` compared as rounded to ``decimals`` (equal values share a rank,
    ``None`` gets none): ascending for indices (smaller is better), descending for shares."""
    shown = [None if v is None else round(v, decimals) for v in values]
    present = sorted((v for v in shown if v is not None), reverse=descending)
    first: dict[float, int] = {}
    for position, v in enumerate(present, start=1):
        first.setdefault(v, position)
    return [None if v is None else first[v] for v in shown]
