"""The ranking's formulas against hand-computed values (docs/ranking.md shows the same arithmetic)."""

from __future__ import annotations

from datetime import date

import pytest

from stationpipe.kernel.registry import WaterBody, WaterClass
from stationpipe.ops.report.data import Station
from stationpipe.ops.report.ranking import (
    Options,
    air_city,
    city_daily,
    sections,
    station_daily,
    water_cities,
)
from stationpipe.ops.report.ranking_calc import (
    city_cwqi,
    competition_ranks,
    composite_index,
    cwqi,
    cwqi_item,
    percentile,
)
from stationpipe.ops.report.ranking_data import Period, PeriodData, beijing_month
from stationpipe.standards.gb3095 import Gb3095Version

RIVER, LAKE = WaterBody.RIVER, WaterBody.LAKE_RESERVOIR
FEB = Period.month(2025, 2)


@pytest.mark.parametrize(
    ("code", "value", "body", "index"),
    [
        ("codmn", 3.0, RIVER, 0.5),  # 3 / 6
        ("cod", 20.0, RIVER, 1.0),  # at the class III limit
        ("nh3n", 1.5, RIVER, 1.5),  # 1.5 / 1.0
        ("tp", 0.1, RIVER, 0.5),  # 0.1 / 0.2 (rivers)
        ("tp", 0.1, LAKE, 2.0),  # 0.1 / 0.05 (lakes and reservoirs)
        ("hg", 0.00005, RIVER, 0.5),  # 0.00005 / 0.0001
        ("do", 10.0, RIVER, 0.5),  # inverted: 5 / 10
        ("do", 2.5, RIVER, 2.0),  # 5 / 2.5
        ("ph", 7.0, RIVER, 0.0),
        ("ph", 6.5, RIVER, 0.5),  # (7 - 6.5) / (7 - 6)
        ("ph", 6.0, RIVER, 1.0),
        ("ph", 8.0, RIVER, 0.5),  # (8 - 7) / (9 - 7)
        ("ph", 9.5, RIVER, 1.25),
    ],
)
def test_cwqi_item(code: str, value: float, body: WaterBody, index: float) -> None:
    assert cwqi_item(code, value, body) == pytest.approx(index)


def test_cwqi_of_a_section_sums_the_evaluated_items_only() -> None:
    means = {
        "ph": 7.5,
        "do": 6.25,
        "codmn": 4.5,
        "nh3n": 0.5,
        "tp": 0.15,
        "temp": 20.0,
        "tn": 2.0,
        "turb": 9.0,
    }
    index, items = cwqi(means, RIVER)
    assert index == pytest.approx(0.25 + 0.8 + 0.75 + 0.5 + 0.75)  # 3.05
    assert items == ("codmn", "do", "nh3n", "ph", "tp")  # no water temperature, no TN


def test_city_cwqi_averages_concentrations_then_weights_by_sections() -> None:
    a = {"codmn": 3.0, "nh3n": 0.5, "do": 10.0}
    b = {"codmn": 6.0, "nh3n": 1.5, "do": 5.0}
    lake = {"codmn": 3.0, "tp": 0.05}
    # rivers: codmn 4.5 -> 0.75, NH3-N 1.0 -> 1.0, DO 7.5 -> 5/7.5; the mean of the two section indices would
    # give DO (0.5 + 1.0) / 2 = 0.75 instead: concentrations are averaged first
    river = 0.75 + 1.0 + 5 / 7.5
    assert city_cwqi([(RIVER, a), (RIVER, b)]) == pytest.approx(river)
    # a lake: codmn 0.5 + TP 0.05/0.05 = 1.5; the city weights the two kinds by their numbers of sections
    assert city_cwqi([(RIVER, a), (RIVER, b), (LAKE, lake)]) == pytest.approx((2 * river + 1.5) / 3)
    with pytest.raises(ValueError, match="at least one section"):
        city_cwqi([])


@pytest.mark.parametrize(
    ("values", "p", "expected"),
    [
        (list(range(1, 11)), 90, 9.1),  # k = 1 + 9 x 0.9 = 9.1: X9 + 0.1 (X10 - X9)
        (list(range(1, 32)), 95, 29.5),  # k = 1 + 30 x 0.95 = 29.5
        ([9, 1, 2, 3, 4, 5, 6, 7, 7, 7, 7, 8], 90, 7.9),  # k = 10.9: between the 10th (7) and 11th (8)
        ([3.0], 95, 3.0),
        ([5.0, 1.0], 100, 5.0),
        ([5.0, 1.0], 0, 1.0),
        ([0.6] * 26 + [3.0] * 2, 95, 2.16),  # k = 26.65: 0.6 + 0.65 x (3.0 - 0.6)
    ],
)
def test_percentile(values: list[float], p: float, expected: float) -> None:
    assert percentile(values, p) == pytest.approx(expected)


def test_composite_index_hand_computed() -> None:
    daily = {"so2": [10.0], "no2": [20.0], "pm10": [35.0], "pm25": [35.0], "co": [1.0], "o3": [80.0]}
    result = composite_index(daily, Gb3095Version.GB3095_2012)
    # 10/60 + 20/40 + 35/70 + 35/35 + 1/4 + 80/160
    assert result.index == pytest.approx(10 / 60 + 0.5 + 0.5 + 1.0 + 0.25 + 0.5)
    assert result.largest == "pm25"
    assert result.indices["co"] == pytest.approx(0.25)
    final = composite_index(daily, Gb3095Version.GB3095_2026)  # PM2.5 25, PM10 50, SO2 20, NO2 30
    assert final.index == pytest.approx(10 / 20 + 20 / 30 + 35 / 50 + 35 / 25 + 0.25 + 0.5)


def test_composite_index_uses_percentiles_of_co_and_o3() -> None:
    daily = {
        "so2": [6.0] * 20,
        "no2": [20.0] * 20,
        "pm10": [50.0] * 20,
        "pm25": [20.0] * 20,
        "co": [0.5] * 19 + [2.0],  # P95: k = 19.05 -> 0.5 + 0.05 x 1.5 = 0.575
        "o3": [float(v) for v in range(100, 200, 5)],  # P90: k = 18.1 -> 185 + 0.1 x 5 = 185.5
    }
    result = composite_index(daily, Gb3095Version.GB3095_2012)
    assert result.statistics["co"] == pytest.approx(0.575)
    assert result.statistics["o3"] == pytest.approx(185.5)
    assert result.indices["o3"] == pytest.approx(185.5 / 160)
    assert result.largest == "o3"
    with pytest.raises(ValueError, match="no daily values of o3"):
        composite_index({**daily, "o3": []}, Gb3095Version.GB3095_2012)


def test_competition_ranks_compare_shown_values() -> None:
    assert competition_ranks([1.004, 1.0, 2.5, None, 1.001], descending=False, decimals=2) == [
        1,
        1,
        4,
        None,
        1,
    ]
    assert competition_ranks([95.04, 95.0, 80.0, 99.0], descending=True, decimals=1) == [2, 2, 4, 1]
    assert competition_ranks([], descending=True, decimals=1) == []


def test_station_daily_needs_20_hours_and_takes_the_o3_8h_maximum() -> None:
    hourly = {
        "so2": dict.fromkeys(range(20), 10.0) | {24 + h: 10.0 for h in range(19)},  # day 1 has only 19 hours
        "o3": {h: (200.0 if 12 <= h < 20 else 40.0) for h in range(24)},  # 8 h at 200 from 12:00
    }
    daily = station_daily(hourly, days=2)
    assert daily["so2"] == {0: 10.0}
    assert daily["o3"] == {0: 200.0}


def test_city_daily_is_the_mean_of_its_stations() -> None:
    assert city_daily([{"so2": {0: 8.0, 1: 4.0}}, {"so2": {0: 12.0}}]) == {"so2": {0: 10.0, 1: 4.0}}


def _month(values: dict[str, float], bad_days: int = 0) -> dict[str, dict[int, float]]:
    out = {p: dict.fromkeys(range(28), v) for p, v in values.items()}
    for day in range(bad_days):
        out["pm25"][day] = 90.0  # PM2.5 24 h IAQI 100 + 15 x 50/40 = 118.75 -> 119: not good
    return out


CLEAN = {"so2": 6.0, "no2": 20.0, "pm10": 50.0, "pm25": 25.0, "co": 0.6, "o3": 90.0}


def test_air_city_good_days_and_composite() -> None:
    city = air_city("宁波", [_month(CLEAN, bad_days=4)], FEB, Options())
    assert (city.evaluated_days, city.good_days) == (28, 24)
    assert city.good_share == pytest.approx(100 * 24 / 28)
    assert city.composite is not None
    pm25 = (24 * 25 + 4 * 90) / 28
    expected = 6 / 60 + 20 / 40 + 50 / 70 + pm25 / 35 + 0.6 / 4 + 90 / 160
    assert city.composite.index == pytest.approx(expected)


def test_air_city_policy_thresholds() -> None:
    short = {p: dict.fromkeys(range(24), v) for p, v in CLEAN.items()}  # 24 days: Feb needs 25
    assert air_city("x", [short], FEB, Options()).composite is None
    assert air_city("x", [short], FEB, Options(min_days=24)).composite is not None
    no_o3 = {p: d for p, d in _month(CLEAN).items() if p != "o3"}
    assert air_city("x", [no_o3], FEB, Options()).evaluated_days == 0  # six pollutants needed
    assert air_city("x", [no_o3], FEB, Options(min_pollutants=5)).evaluated_days == 28
    assert Options().days_required(Period.month(2025, 3)) == 27


def _station(sid: str, city: str, target: int, body: str = "river") -> Station:
    return Station(sid, "water", sid, city, "", "", target, body)


def test_sections_and_cities_from_period_means() -> None:
    data = PeriodData(
        {
            "w1": _station("w1", "杭州", 2),
            "w2": _station("w2", "杭州", 3),
            "w3": _station("w3", "湖州", 3),
            "w4": _station("w4", "台州", 3, "lake_reservoir"),
        },
        {
            "w1": {"ph": 7.5, "do": 8.0, "codmn": 3.0, "nh3n": 0.4, "tp": 0.1, "temp": 20.0},
            "w2": {"ph": 7.0, "do": 5.0, "codmn": 6.0, "nh3n": 1.3, "tp": 0.2},
            "w3": {"ph": 8.0, "do": 6.0, "codmn": 4.0, "nh3n": 0.8, "tp": 0.15},
            "w4": {"ph": 7.0, "do": 7.5, "codmn": 5.0, "nh3n": 2.5, "tp": 0.06},
        },
        {},
    )
    ranked = sections(data)
    assert [(s.station.id, s.water_class, s.rank) for s in ranked] == [
        ("w1", WaterClass.II, 1),
        ("w3", WaterClass.III, 2),
        ("w2", WaterClass.IV, 3),
        ("w4", WaterClass.WORSE_THAN_V, 4),
    ]
    assert [round(s.cwqi, 4) for s in ranked] == [2.275, 3.55, 4.3, 5.2]
    cities = {c.city: c for c in water_cities(ranked)}
    # 杭州: means pH 7.25, DO 6.5, CODMn 4.5, NH3-N 0.85, TP 0.15
    assert cities["杭州"].cwqi == pytest.approx(0.125 + 5 / 6.5 + 0.75 + 0.85 + 0.75)
    assert (cities["杭州"].rank_cwqi, cities["湖州"].rank_cwqi, cities["台州"].rank_cwqi) == (1, 2, 3)
    assert (cities["杭州"].share, cities["湖州"].share, cities["台州"].share) == (50.0, 100.0, 0.0)
    assert (cities["湖州"].rank_share, cities["杭州"].rank_share, cities["台州"].rank_share) == (1, 2, 3)
    assert cities["台州"].worse_than_v == 1


def test_periods() -> None:
    assert (FEB.start, FEB.end, FEB.days) == (date(2025, 2, 1), date(2025, 3, 1), 28)
    assert FEB.where() == "time >= '2025-01-31T16:00:00Z' AND time < '2025-02-28T16:00:00Z'"
    assert Period.month(2025, 12).end == date(2026, 1, 1)
    assert beijing_month(None, today=date(2025, 3, 1)).label == "2025-02"
    assert beijing_month(None, today=date(2025, 1, 15)).label == "2024-12"
    assert beijing_month("2024-02").days == 29
    with pytest.raises(ValueError, match="not a month"):
        beijing_month("2024/02")
