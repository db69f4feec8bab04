"""HJ 633 IAQI: every breakpoint of every column of both versions, the special rules, rounding.

The breakpoint table below is typed again from docs/domain.md (never from an AQI package, one of which
has the SO2 24h column wrong).
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stationpipe.standards.common import Period
from stationpipe.standards.hj633 import (
    BREAKPOINTS,
    AqiStandard,
    Item,
    SubstituteRequiredError,
    iaqi,
    prepare,
    standard_for,
)

V12, V26 = AqiStandard.HJ633_2012, AqiStandard.HJ633_2026
H1, H8, H24 = Period.H1, Period.H8, Period.H24
STEPS = (0, 50, 100, 150, 200, 300, 400, 500)

REF_2012: dict[Item, tuple[int, ...]] = {
    Item("so2", H24): (0, 50, 150, 475, 800, 1600, 2100, 2620),
    Item("so2", H1): (0, 150, 500, 650, 800),
    Item("no2", H24): (0, 40, 80, 180, 280, 565, 750, 940),
    Item("no2", H1): (0, 100, 200, 700, 1200, 2340, 3090, 3840),
    Item("pm10", H24): (0, 50, 150, 250, 350, 420, 500, 600),
    Item("co", H24): (0, 2, 4, 14, 24, 36, 48, 60),
    Item("co", H1): (0, 5, 10, 35, 60, 90, 120, 150),
    Item("o3", H1): (0, 160, 200, 300, 400, 800, 1000, 1200),
    Item("o3", H8): (0, 100, 160, 215, 265, 800),
    Item("pm25", H24): (0, 35, 75, 115, 150, 250, 350, 500),
}
PM25_26 = (0, 35, 60, 115, 150, 250, 350, 500)
PM10_26 = (0, 50, 120, 250, 350, 420, 500, 600)
REF_2026 = {
    **REF_2012,
    Item("pm25", H24): PM25_26,
    Item("pm10", H24): PM10_26,
    Item("pm25", H1): PM25_26,
    Item("pm10", H1): PM10_26,
}
REF = {V12: REF_2012, V26: REF_2026}


def test_module_tables_match_reference() -> None:
    for standard, table in REF.items():
        assert dict(BREAKPOINTS[standard]) == table


def _breakpoint_cases() -> list[tuple[AqiStandard, Item, int, int]]:
    return [
        (standard, item, bp, STEPS[k])
        for standard, table in REF.items()
        for item, column in table.items()
        for k, bp in enumerate(column)
    ]


@pytest.mark.parametrize(("standard", "item", "bp", "expected"), _breakpoint_cases())
def test_every_breakpoint(standard: AqiStandard, item: Item, bp: int, expected: int) -> None:
    assert iaqi(item.pollutant, item.period, bp, standard) == expected


def _neighbour_cases() -> list[tuple[Item, int, int]]:
    """(item, k, breakpoint) for every breakpoint above 0 and below each column's end."""
    return [(item, k, bp) for item, column in REF_2012.items() for k, bp in enumerate(column) if k > 0]


@pytest.mark.parametrize(("item", "k", "bp"), _neighbour_cases())
def test_2012_just_below_and_above_each_breakpoint(item: Item, k: int, bp: int) -> None:
    below = iaqi(item.pollutant, item.period, bp - 0.001, V12)
    assert below == STEPS[k]  # rounded up onto the breakpoint's IAQI
    column = REF_2012[item]
    two_units = 2 * (bp - column[k - 1]) / (STEPS[k] - STEPS[k - 1])  # concentration of 2 IAQI points
    assert iaqi(item.pollutant, item.period, bp - two_units, V12) == STEPS[k] - 2
    if k < len(column) - 1:
        assert iaqi(item.pollutant, item.period, bp + 0.001, V12) == STEPS[k] + 1


@pytest.mark.parametrize(
    ("item", "k", "bp"), [(i, k, bp) for i, c in REF_2026.items() for k, bp in enumerate(c)]
)
def test_2026_rounds_first_then_indexes(item: Item, k: int, bp: int) -> None:
    half = 0.04 if item.pollutant == "co" else 0.4
    assert iaqi(item.pollutant, item.period, bp + half, V26) == STEPS[k]  # rounded back onto bp
    if k > 0:
        assert iaqi(item.pollutant, item.period, bp - half, V26) == STEPS[k]


def test_acceptance_pm25_80() -> None:
    assert iaqi("pm25", H24, 80, V12) == 107
    assert iaqi("pm25", H24, 80, V26) == 119


def test_so2_24h_is_not_the_1h_column() -> None:
    # The package bug: SO2 24h copied from 1h would give 100 at 500 µg/m³.
    assert iaqi("so2", H24, 150, V12) == 100
    assert iaqi("so2", H24, 500, V12) == 154  # 150 + 50 * 25 / 325 = 153.8 -> 154
    assert iaqi("so2", H1, 500, V12) == 100


@pytest.mark.parametrize(("standard", "expected"), [(V12, None), (V26, 200)])
def test_so2_1h_above_800(standard: AqiStandard, expected: int | None) -> None:
    assert iaqi("so2", H1, 800, standard) == 200
    if expected is None:
        with pytest.raises(SubstituteRequiredError) as info:
            iaqi("so2", H1, 800.5, standard)
        assert info.value.substitute == Item("so2", H24)
    else:
        assert iaqi("so2", H1, 801, standard) == expected
        assert iaqi("so2", H1, 5000, standard) == expected


@pytest.mark.parametrize(("standard", "expected"), [(V12, None), (V26, 300)])
def test_o3_8h_above_800(standard: AqiStandard, expected: int | None) -> None:
    assert iaqi("o3", H8, 800, standard) == 300
    if expected is None:
        with pytest.raises(SubstituteRequiredError) as info:
            iaqi("o3", H8, 801, standard)
        assert info.value.substitute == Item("o3", H1)
    else:
        assert iaqi("o3", H8, 801, standard) == expected


def test_2026_rounding_happens_before_the_800_rule() -> None:
    assert iaqi("so2", H1, 800.4, V26) == 200
    assert iaqi("o3", H8, 800.4, V26) == 300


def test_above_the_scale_is_capped_at_500() -> None:
    assert iaqi("pm25", H24, 501, V12) == 500
    assert iaqi("co", H1, 1000, V26) == 500


def test_hourly_pm_only_in_2026() -> None:
    assert iaqi("pm25", H1, 80, V26) == 119
    assert iaqi("pm10", H1, 120, V26) == 100
    with pytest.raises(KeyError, match="pm25 1h"):
        iaqi("pm25", H1, 80, V12)


@pytest.mark.parametrize(
    ("pollutant", "value", "standard", "expected"),
    [
        ("pm25", 74.5, V26, "74"),  # GB/T 8170: half to even
        ("pm25", 75.5, V26, "76"),
        ("pm25", 75.49, V26, "75"),
        ("co", 1.25, V26, "1.2"),
        ("co", 1.35, V26, "1.4"),
        ("co", 1.26, V26, "1.3"),
        ("pm25", 74.5, V12, "74.5"),
        ("co", 1.25, V12, "1.25"),
    ],
)
def test_rounding(pollutant: str, value: float, standard: AqiStandard, expected: str) -> None:
    assert str(prepare(pollutant, value, standard)) == expected


@pytest.mark.parametrize("value", [-1.0, math.nan, math.inf])
def test_bad_concentrations_are_refused(value: float) -> None:
    with pytest.raises(ValueError, match="pm25"):
        iaqi("pm25", H24, value, V12)


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        (date(2026, 2, 28), V12),
        (date(2026, 3, 1), V26),
        (datetime(2026, 2, 28, 15, 59, 59, tzinfo=UTC), V12),
        (datetime(2026, 2, 28, 16, 0, tzinfo=UTC), V26),  # 00:00 on 1 March in China
    ],
)
def test_standard_by_date(when: date | datetime, expected: AqiStandard) -> None:
    assert standard_for(when) is expected


def test_naive_datetime_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        standard_for(datetime(2026, 3, 1))  # noqa: DTZ001 - the naive value is the point of the test


def _column_and_top() -> list[tuple[AqiStandard, Item, float]]:
    cases: list[tuple[AqiStandard, Item, float]] = []
    for standard, table in REF.items():
        for item, column in table.items():
            truncated = len(column) < len(STEPS)
            top = column[-1] if truncated and standard is V12 else column[-1] * 1.5
            cases.append((standard, item, top))
    return cases


@given(case=st.sampled_from(_column_and_top()), a=st.floats(0, 1), b=st.floats(0, 1))
def test_iaqi_never_falls_as_concentration_rises(
    case: tuple[AqiStandard, Item, float], a: float, b: float
) -> None:
    standard, item, top = case
    low, high = sorted((a * top, b * top))
    i_low = iaqi(item.pollutant, item.period, low, standard)
    i_high = iaqi(item.pollutant, item.period, high, standard)
    assert 0 <= i_low <= i_high <= 500
