"""GB 3095 ambient air quality class II concentration limits, for exceedance checks.

Versions: GB 3095-2012; GB 3095-2026 in its transition period (2026-03-01 .. 2030-12-31) and its final
limits (from 2031-01-01). Units: µg/m³, CO mg/m³. A value equal to the limit meets it.
GB 3095-2026 changes only the limits it names; the others carry over from 2012.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from types import MappingProxyType

from stationpipe.standards.common import Period, check_concentration, china_date, exceedance_multiple


class Gb3095Version(StrEnum):
    """Which set of GB 3095 limits applies."""

    GB3095_2012 = "GB3095-2012"
    GB3095_2026_TRANSITION = "GB3095-2026-transition"
    GB3095_2026 = "GB3095-2026"


#: First day (China time) of GB 3095-2026's transition limits, and of its final limits.
TRANSITION_START = date(2026, 3, 1)
FINAL_START = date(2031, 1, 1)

_A, _D, _8, _1 = Period.ANNUAL, Period.H24, Period.H8, Period.H1
_LIMITS_2012: dict[tuple[str, Period], float] = {
    ("so2", _A): 60,
    ("so2", _D): 150,
    ("so2", _1): 500,
    ("no2", _A): 40,
    ("no2", _D): 80,
    ("no2", _1): 200,
    ("co", _D): 4,
    ("co", _1): 10,
    ("o3", _8): 160,
    ("o3", _1): 200,
    ("pm10", _A): 70,
    ("pm10", _D): 150,
    ("pm25", _A): 35,
    ("pm25", _D): 75,
}
_LIMITS_TRANSITION = {
    **_LIMITS_2012,
    ("pm25", _A): 30,
    ("pm25", _D): 60,
    ("pm10", _A): 60,
    ("pm10", _D): 120,
}
_LIMITS_FINAL = {
    **_LIMITS_2012,
    ("pm25", _A): 25,
    ("pm25", _D): 50,
    ("pm10", _A): 50,
    ("pm10", _D): 100,
    ("so2", _A): 20,
    ("so2", _D): 50,
    ("so2", _1): 150,
    ("no2", _A): 30,
    ("no2", _D): 50,
    ("no2", _1): 200,
}

#: Class II limits by version and (pollutant, period).
LIMITS: MappingProxyType[Gb3095Version, MappingProxyType[tuple[str, Period], float]] = MappingProxyType(
    {
        Gb3095Version.GB3095_2012: MappingProxyType(_LIMITS_2012),
        Gb3095Version.GB3095_2026_TRANSITION: MappingProxyType(_LIMITS_TRANSITION),
        Gb3095Version.GB3095_2026: MappingProxyType(_LIMITS_FINAL),
    }
)


def version_for(when: date | datetime) -> Gb3095Version:
    """The limits in force on ``when`` (a date in China, or an aware datetime)."""
    day = china_date(when)
    if day < TRANSITION_START:
        return Gb3095Version.GB3095_2012
    if day < FINAL_START:
        return Gb3095Version.GB3095_2026_TRANSITION
    return Gb3095Version.GB3095_2026


def limit(pollutant: str, period: Period, version: Gb3095Version) -> float:
    """The class II limit; ``KeyError`` naming the item when the version sets none."""
    try:
        return LIMITS[version][pollutant, period]
    except KeyError:
        raise KeyError(f"{version} sets no class II limit for {pollutant} {period}") from None


def exceeds(pollutant: str, period: Period, value: float, version: Gb3095Version) -> bool:
    """True when ``value`` is above the limit (equal meets it)."""
    check_concentration(value, pollutant)
    return value > limit(pollutant, period, version)


def exceedance(pollutant: str, period: Period, value: float, version: Gb3095Version) -> float | None:
    """超标倍数 ``(C - limit) / limit``, exact; ``None`` when the value meets the limit."""
    check_concentration(value, pollutant)
    return exceedance_multiple(value, limit(pollutant, period, version))
