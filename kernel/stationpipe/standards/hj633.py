"""HJ 633 air quality index: IAQI per pollutant and period, AQI, level and primary pollutant.

Two versions are kept side by side: HJ 633-2012 and HJ 633-2026 (in force from 2026-03-01, China time).
Units: µg/m³ at the reference state, CO in mg/m³. Invariants:

- IAQI is the linear interpolation between the breakpoints around C, rounded *up* (exact, via fractions);
- IAQI never decreases as C increases, and is capped at 500;
- 2026 first rounds C (µg/m³ to an integer, CO to one decimal) with :data:`ROUNDING`;
- SO2 1h above 800 / O3 8h above 800: 2012 uses the SO2 24h / O3 1h IAQI instead, 2026 gives 200 / 300.

AQI, level and primary pollutant are in :mod:`stationpipe.standards.aqi`.
"""

from __future__ import annotations

import math
from datetime import date, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from enum import StrEnum
from fractions import Fraction
from types import MappingProxyType
from typing import NamedTuple

from stationpipe.standards.common import Period, check_concentration, china_date, exact


class AqiStandard(StrEnum):
    """The HJ 633 version an AQI is computed under."""

    HJ633_2012 = "HJ633-2012"
    HJ633_2026 = "HJ633-2026"


#: First day (China time) HJ 633-2026 applies.
SWITCH_DATE = date(2026, 3, 1)
#: GB/T 8170 rounding (round half to even), which the environmental standards refer to for 数值修约.
ROUNDING = ROUND_HALF_EVEN
IAQI_MAX = 500
#: Above this concentration the SO2 1h and O3 8h columns stop (µg/m³).
SO2_1H_CAP = O3_8H_CAP = 800


class Item(NamedTuple):
    """One concentration to index: a pollutant code and its averaging period."""

    pollutant: str
    period: Period


IAQI_STEPS: tuple[int, ...] = (0, 50, 100, 150, 200, 300, 400, 500)
_H1, _H8, _H24 = Period.H1, Period.H8, Period.H24

_TABLE_2012: dict[Item, tuple[int, ...]] = {
    Item("so2", _H24): (0, 50, 150, 475, 800, 1600, 2100, 2620),
    Item("so2", _H1): (0, 150, 500, 650, 800),
    Item("no2", _H24): (0, 40, 80, 180, 280, 565, 750, 940),
    Item("no2", _H1): (0, 100, 200, 700, 1200, 2340, 3090, 3840),
    Item("pm10", _H24): (0, 50, 150, 250, 350, 420, 500, 600),
    Item("co", _H24): (0, 2, 4, 14, 24, 36, 48, 60),
    Item("co", _H1): (0, 5, 10, 35, 60, 90, 120, 150),
    Item("o3", _H1): (0, 160, 200, 300, 400, 800, 1000, 1200),
    Item("o3", _H8): (0, 100, 160, 215, 265, 800),
    Item("pm25", _H24): (0, 35, 75, 115, 150, 250, 350, 500),
}
_PM25_2026 = (0, 35, 60, 115, 150, 250, 350, 500)
_PM10_2026 = (0, 50, 120, 250, 350, 420, 500, 600)
_TABLE_2026: dict[Item, tuple[int, ...]] = {
    **_TABLE_2012,
    Item("pm25", _H24): _PM25_2026,
    Item("pm10", _H24): _PM10_2026,
    # Hourly PM in real-time reports uses the daily breakpoints.
    Item("pm25", _H1): _PM25_2026,
    Item("pm10", _H1): _PM10_2026,
}

#: Breakpoints (concentration at each of :data:`IAQI_STEPS`) by standard and item.
BREAKPOINTS: MappingProxyType[AqiStandard, MappingProxyType[Item, tuple[int, ...]]] = MappingProxyType(
    {
        AqiStandard.HJ633_2012: MappingProxyType(_TABLE_2012),
        AqiStandard.HJ633_2026: MappingProxyType(_TABLE_2026),
    }
)


class SubstituteRequiredError(ValueError):
    """HJ 633-2012 gives no IAQI for this concentration: use ``substitute``'s IAQI instead."""

    def __init__(self, item: Item, concentration: float, substitute: Item) -> None:
        self.item = item
        self.substitute = substitute
        super().__init__(
            f"{item.pollutant} {item.period} {concentration} is above {SO2_1H_CAP}: HJ 633-2012 uses the "
            f"{substitute.pollutant} {substitute.period} IAQI instead"
        )


def standard_for(when: date | datetime) -> AqiStandard:
    """The version in force on ``when`` (a date in China, or an aware datetime)."""
    return AqiStandard.HJ633_2026 if china_date(when) >= SWITCH_DATE else AqiStandard.HJ633_2012


def prepare(pollutant: str, concentration: float, standard: AqiStandard) -> Decimal:
    """The concentration the index is computed from: exact, and under 2026 rounded (CO to 0.1, else to 1)."""
    check_concentration(concentration, pollutant)
    value = exact(concentration)
    if standard is AqiStandard.HJ633_2026:
        value = value.quantize(Decimal("0.1") if pollutant == "co" else Decimal(1), rounding=ROUNDING)
    return value


def breakpoints(item: Item, standard: AqiStandard) -> tuple[int, ...]:
    """The breakpoint column of ``item``; ``KeyError`` naming it when the standard defines none."""
    try:
        return BREAKPOINTS[standard][item]
    except KeyError:
        raise KeyError(f"{standard} has no breakpoints for {item.pollutant} {item.period}") from None


def _interpolate(column: tuple[int, ...], c: Decimal) -> int:
    if c >= column[-1]:
        # 500 above the full columns (capped); the truncated SO2 1h / O3 8h columns end at 800 itself.
        return IAQI_STEPS[len(column) - 1]
    exact_c = Fraction(c)
    for k in range(1, len(column)):
        if c <= column[k]:
            lo, hi = column[k - 1], column[k]
            i_lo, i_hi = IAQI_STEPS[k - 1], IAQI_STEPS[k]
            return math.ceil(i_lo + (exact_c - lo) * (i_hi - i_lo) / (hi - lo))
    raise AssertionError("unreachable: c is below the last breakpoint")  # pragma: no cover


def iaqi(pollutant: str, period: Period, concentration: float, standard: AqiStandard) -> int:
    """IAQI (0-500) of one concentration.

    Raises ``KeyError`` for an item the standard does not index (e.g. PM 1h under 2012) and
    :class:`SubstituteRequiredError` for 2012's SO2 1h / O3 8h above 800.
    """
    item = Item(pollutant, period)
    column = breakpoints(item, standard)
    c = prepare(pollutant, concentration, standard)
    above = c > SO2_1H_CAP and item in {Item("so2", _H1), Item("o3", _H8)}
    if above and standard is AqiStandard.HJ633_2026:
        return 200 if pollutant == "so2" else 300
    if above:
        substitute = Item("so2", _H24) if pollutant == "so2" else Item("o3", _H1)
        raise SubstituteRequiredError(item, concentration, substitute)
    return _interpolate(column, c)
