"""HJ 633 AQI from several IAQIs: level, category, colour, primary pollutant(s), completeness.

AQI = the largest IAQI (already integers rounded up). Missing-pollutant rule: the AQI is computed from the
items given; under 2012 it is publishable only with all six pollutants, under 2026 also when it is > 100
(a partial AQI above 100 can only understate). 2026 reports the AQI in 1-500.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from stationpipe.kernel.units import MOLAR_MASS, to_canonical
from stationpipe.standards.common import Period
from stationpipe.standards.hj633 import IAQI_MAX, AqiStandard, Item, SubstituteRequiredError, iaqi

#: The six pollutants of a complete AQI, in the order HJ 633 lists them (ties in ``primary`` follow it).
POLLUTANTS: tuple[str, ...] = ("so2", "no2", "pm10", "co", "o3", "pm25")
#: A primary pollutant is named only above this AQI.
PRIMARY_ABOVE = 50


@dataclass(frozen=True, slots=True)
class Level:
    """One AQI level: ``number`` 1-6 covers AQI up to ``upper`` (inclusive)."""

    number: int
    upper: int
    grade_zh: str
    category_zh: str
    category_en: str
    colour: str
    hex: str


LEVELS: tuple[Level, ...] = (
    Level(1, 50, "一级", "优", "excellent", "green", "#00E400"),
    Level(2, 100, "二级", "良", "good", "yellow", "#FFFF00"),
    Level(3, 150, "三级", "轻度污染", "lightly polluted", "orange", "#FF7E00"),
    Level(4, 200, "四级", "中度污染", "moderately polluted", "red", "#FF0000"),
    Level(5, 300, "五级", "重度污染", "heavily polluted", "purple", "#99004C"),
    Level(6, IAQI_MAX, "六级", "严重污染", "severely polluted", "maroon", "#7E0023"),
)


def level_of(aqi_value: int) -> Level:
    """The level an AQI (0-500) falls in; ``ValueError`` outside that range."""
    if not 0 <= aqi_value <= IAQI_MAX:
        raise ValueError(f"AQI must be 0..{IAQI_MAX}, got {aqi_value}")
    return next(level for level in LEVELS if aqi_value <= level.upper)


@dataclass(frozen=True, slots=True)
class AqiResult:
    """AQI of a set of concentrations under one standard.

    ``iaqi`` maps each item given to its IAQI; ``primary`` is empty when AQI <= 50; ``complete`` is true when
    all six pollutants were given; ``publishable`` applies the version's missing-pollutant rule.
    """

    standard: AqiStandard
    aqi: int
    level: Level
    iaqi: MappingProxyType[Item, int]
    primary: tuple[str, ...]
    complete: bool
    publishable: bool


def _iaqi_all(concentrations: Mapping[Item, float], standard: AqiStandard) -> dict[Item, int]:
    """IAQI per item, resolving 2012's above-800 rule from the substitute item when it is given."""
    result: dict[Item, int] = {}
    for item, value in concentrations.items():
        try:
            result[item] = iaqi(item.pollutant, item.period, value, standard)
        except SubstituteRequiredError as exc:
            if exc.substitute not in concentrations:
                raise
            sub = concentrations[exc.substitute]
            result[item] = iaqi(exc.substitute.pollutant, exc.substitute.period, sub, standard)
    return result


def primary_pollutants(indices: Mapping[Item, int], aqi_value: int) -> tuple[str, ...]:
    """The pollutant(s) with the largest IAQI (ties all listed, HJ 633 order); empty when AQI <= 50."""
    if aqi_value <= PRIMARY_ABOVE:
        return ()
    top = {item.pollutant for item, value in indices.items() if value == aqi_value}
    return tuple(p for p in POLLUTANTS if p in top)


def compute_aqi(concentrations: Mapping[Item, float], standard: AqiStandard) -> AqiResult:
    """AQI of ``{Item(pollutant, period): concentration}`` (µg/m³, CO mg/m³) under ``standard``.

    ``ValueError`` when nothing is given; see :func:`~stationpipe.standards.hj633.iaqi` for the
    per-item errors.
    """
    if not concentrations:
        raise ValueError("an AQI needs at least one concentration")
    indices = _iaqi_all(concentrations, standard)
    top = max(indices.values())
    aqi_value = max(top, 1) if standard is AqiStandard.HJ633_2026 else top
    complete = {item.pollutant for item in indices} >= set(POLLUTANTS)
    lenient = standard is AqiStandard.HJ633_2026 and aqi_value > 100
    return AqiResult(
        standard=standard,
        aqi=aqi_value,
        level=level_of(aqi_value),
        iaqi=MappingProxyType(indices),
        primary=primary_pollutants(indices, aqi_value),
        complete=complete,
        publishable=complete or lenient,
    )


def ppb_to_concentration(pollutant: str, ppb: float) -> float:
    """Convert a gas mixing ratio in ppb to the AQI unit: µg/m³ (CO: mg/m³) at 298.15 K, 1013.25 hPa."""
    if pollutant not in MOLAR_MASS:
        raise KeyError(f"no molar mass for {pollutant!r}: only so2, no2, co, o3 are gases here")
    return to_canonical(pollutant, ppb, "ppb")


#: An O3 8-hour sliding mean needs at least this many of its eight hourly means (HJ 663 / GB 3095).
MIN_HOURS_8H = 6


def _item(pollutant: str, standard: AqiStandard, *, daily: bool) -> Item:
    if daily:
        return Item(pollutant, Period.H8 if pollutant == "o3" else Period.H24)
    hourly_pm = pollutant in {"pm10", "pm25"} and standard is AqiStandard.HJ633_2012
    return Item(pollutant, Period.H24 if hourly_pm else Period.H1)


def aqi_of(means: dict[str, float], standard: AqiStandard, *, daily: bool = False) -> AqiResult:
    """AQI of hourly (or daily) means; 2012's above-800 SO2 1h falls back to the 24 h column."""
    items = {_item(p, standard, daily=daily): v for p, v in means.items()}
    try:
        return compute_aqi(items, standard)
    except SubstituteRequiredError as exc:
        items[exc.substitute] = items.pop(exc.item)
        return compute_aqi(items, standard)


def o3_8h_max(hourly: list[float | None]) -> float | None:
    """Largest O3 8-hour sliding mean over a day's hourly means (each window needs >= 6 values)."""
    best: float | None = None
    for start in range(max(len(hourly) - 7, 1)):
        window = [v for v in hourly[start : start + 8] if v is not None]
        if len(window) >= MIN_HOURS_8H:
            mean = math.fsum(window) / len(window)
            best = mean if best is None else max(best, mean)
    return best
