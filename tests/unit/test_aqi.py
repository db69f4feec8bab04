"""AQI from IAQIs: levels, primary pollutant, each version's missing-pollutant rule, ppb conversion."""

from __future__ import annotations

import pytest

from stationpipe.standards.aqi import LEVELS, compute_aqi, level_of, ppb_to_concentration
from stationpipe.standards.common import Period
from stationpipe.standards.hj633 import AqiStandard, Item, SubstituteRequiredError

V12, V26 = AqiStandard.HJ633_2012, AqiStandard.HJ633_2026
H1, H8, H24 = Period.H1, Period.H8, Period.H24
DAILY_CLEAN = {
    Item("so2", H24): 10.0,
    Item("no2", H24): 20.0,
    Item("pm10", H24): 40.0,
    Item("co", H24): 0.8,
    Item("o3", H8): 90.0,
    Item("pm25", H24): 20.0,
}


@pytest.mark.parametrize(
    ("aqi", "number", "category", "colour"),
    [
        (0, 1, "优", "#00E400"),
        (50, 1, "优", "#00E400"),
        (51, 2, "良", "#FFFF00"),
        (100, 2, "良", "#FFFF00"),
        (101, 3, "轻度污染", "#FF7E00"),
        (150, 3, "轻度污染", "#FF7E00"),
        (151, 4, "中度污染", "#FF0000"),
        (200, 4, "中度污染", "#FF0000"),
        (201, 5, "重度污染", "#99004C"),
        (300, 5, "重度污染", "#99004C"),
        (301, 6, "严重污染", "#7E0023"),
        (500, 6, "严重污染", "#7E0023"),
    ],
)
def test_levels(aqi: int, number: int, category: str, colour: str) -> None:
    level = level_of(aqi)
    assert (level.number, level.category_zh, level.hex) == (number, category, colour)


def test_level_out_of_range() -> None:
    with pytest.raises(ValueError, match="501"):
        level_of(501)
    assert [lv.grade_zh for lv in LEVELS] == ["一级", "二级", "三级", "四级", "五级", "六级"]


def test_acceptance_pm25_and_pm10_2026() -> None:
    result = compute_aqi({Item("pm25", H24): 80, Item("pm10", H24): 100}, V26)
    assert result.aqi == 119
    assert result.level.number == 3
    assert result.primary == ("pm25",)
    assert dict(result.iaqi) == {Item("pm25", H24): 119, Item("pm10", H24): 86}


def test_primary_lists_ties_in_standard_order() -> None:
    result = compute_aqi({Item("pm25", H24): 75, Item("pm10", H24): 150, Item("no2", H24): 80}, V12)
    assert result.aqi == 100
    assert result.primary == ("no2", "pm10", "pm25")


def test_no_primary_at_or_below_50() -> None:
    assert compute_aqi({Item("pm25", H24): 35}, V12).primary == ()
    assert compute_aqi({Item("pm25", H24): 35.5}, V12).primary == ("pm25",)  # IAQI 51


def test_complete_and_publishable_2012() -> None:
    full = compute_aqi(DAILY_CLEAN, V12)
    assert full.complete
    assert full.publishable
    partial = compute_aqi({Item("pm25", H24): 200}, V12)
    assert not partial.complete
    assert not partial.publishable  # 2012: all six needed


@pytest.mark.parametrize(("pm25", "publishable"), [(60, False), (61, True)])
def test_missing_pollutants_2026(pm25: float, publishable: bool) -> None:
    result = compute_aqi({Item("pm25", H24): pm25}, V26)
    assert not result.complete
    assert result.publishable is publishable  # only an AQI above 100 is published when items are missing


def test_aqi_range_2026_starts_at_1() -> None:
    assert compute_aqi({Item("pm25", H24): 0}, V26).aqi == 1
    assert compute_aqi({Item("pm25", H24): 0}, V12).aqi == 0


def test_2012_so2_1h_above_800_uses_the_24h_iaqi() -> None:
    result = compute_aqi({Item("so2", H1): 900, Item("so2", H24): 200}, V12)
    assert result.iaqi[Item("so2", H1)] == 108  # 100 + 50 * 50 / 325 = 107.7 -> 108
    assert result.aqi == 108
    with pytest.raises(SubstituteRequiredError):
        compute_aqi({Item("so2", H1): 900}, V12)


def test_2012_o3_8h_above_800_uses_the_1h_iaqi() -> None:
    result = compute_aqi({Item("o3", H8): 900, Item("o3", H1): 900}, V12)
    assert result.iaqi[Item("o3", H8)] == 350  # 300 + 100 * 100 / 200
    assert result.primary == ("o3",)


def test_2026_above_800_fixed_values() -> None:
    result = compute_aqi({Item("so2", H1): 900, Item("o3", H8): 900}, V26)
    assert dict(result.iaqi) == {Item("so2", H1): 200, Item("o3", H8): 300}
    assert result.aqi == 300
    assert result.primary == ("o3",)


def test_empty_is_an_error() -> None:
    with pytest.raises(ValueError, match="at least one"):
        compute_aqi({}, V26)


@pytest.mark.parametrize(
    ("pollutant", "ppb", "expected"),
    [
        ("so2", 1.0, 2.619),  # µg/m³
        ("no2", 1.0, 1.880),
        ("o3", 1.0, 1.962),
        ("co", 1000.0, 1.145),  # 1 ppm -> mg/m³
    ],
)
def test_ppb_at_the_reference_state(pollutant: str, ppb: float, expected: float) -> None:
    assert ppb_to_concentration(pollutant, ppb) == pytest.approx(expected, abs=0.001)


def test_ppb_of_a_particle_is_refused() -> None:
    with pytest.raises(KeyError, match="pm25"):
        ppb_to_concentration("pm25", 1.0)
