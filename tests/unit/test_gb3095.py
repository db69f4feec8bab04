"""GB 3095 class II limits: every limit of every version, just below, at and above it."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime

import pytest

from stationpipe.standards.common import Period
from stationpipe.standards.gb3095 import LIMITS, Gb3095Version, exceedance, exceeds, limit, version_for

A, D, H8, H1 = Period.ANNUAL, Period.H24, Period.H8, Period.H1
V12 = Gb3095Version.GB3095_2012
VT = Gb3095Version.GB3095_2026_TRANSITION
VF = Gb3095Version.GB3095_2026

REF_2012 = {
    ("so2", A): 60, ("so2", D): 150, ("so2", H1): 500,
    ("no2", A): 40, ("no2", D): 80, ("no2", H1): 200,
    ("co", D): 4, ("co", H1): 10,
    ("o3", H8): 160, ("o3", H1): 200,
    ("pm10", A): 70, ("pm10", D): 150,
    ("pm25", A): 35, ("pm25", D): 75,
}  # fmt: skip
REF = {
    V12: REF_2012,
    VT: {**REF_2012, ("pm25", A): 30, ("pm25", D): 60, ("pm10", A): 60, ("pm10", D): 120},
    VF: {
        **REF_2012,
        ("pm25", A): 25,
        ("pm25", D): 50,
        ("pm10", A): 50,
        ("pm10", D): 100,
        ("so2", A): 20,
        ("so2", D): 50,
        ("so2", H1): 150,
        ("no2", A): 30,
        ("no2", D): 50,
        ("no2", H1): 200,
    },
}  # fmt: skip


def test_module_tables_match_reference() -> None:
    for version, table in REF.items():
        assert dict(LIMITS[version]) == table


@pytest.mark.parametrize(
    ("version", "pollutant", "period", "lim"),
    [(v, p, per, lim) for v, t in REF.items() for (p, per), lim in t.items()],
)
def test_below_at_above_each_limit(
    version: Gb3095Version, pollutant: str, period: Period, lim: float
) -> None:
    assert limit(pollutant, period, version) == lim
    assert not exceeds(pollutant, period, math.nextafter(lim, 0), version)
    assert not exceeds(pollutant, period, lim, version)
    assert exceedance(pollutant, period, lim, version) is None
    assert exceeds(pollutant, period, math.nextafter(lim, math.inf), version)
    assert exceedance(pollutant, period, lim * 1.5, version) == 0.5


def test_exceedance_is_exact() -> None:
    assert exceedance("pm25", D, 90, V12) == 0.2
    assert exceedance("pm25", D, 90, VT) == 0.5
    assert exceedance("pm25", D, 90, VF) == 0.8


def test_missing_limit_names_the_item() -> None:
    with pytest.raises(KeyError, match="co annual"):
        limit("co", A, V12)


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        (date(2026, 2, 28), V12),
        (date(2026, 3, 1), VT),
        (date(2030, 12, 31), VT),
        (date(2031, 1, 1), VF),
        (datetime(2030, 12, 31, 16, 0, tzinfo=UTC), VF),  # already 1 January 2031 in China
    ],
)
def test_version_by_date(when: date | datetime, expected: Gb3095Version) -> None:
    assert version_for(when) is expected
