"""Single-factor evaluation of a section (GB 3838-2002)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stationpipe.kernel.reading import Flag, Reading
from stationpipe.kernel.registry import WaterBody, WaterClass
from stationpipe.standards.gb3838_section import evaluate_readings, evaluate_values

RIVER, LAKE = WaterBody.RIVER, WaterBody.LAKE_RESERVOIR
III = WaterClass.III
T0 = datetime(2026, 3, 1, tzinfo=UTC)


def test_acceptance_river_section() -> None:
    result = evaluate_values({"ph": 7.4, "do": 5.5, "nh3n": 1.3, "tp": 0.18}, III, RIVER)
    assert result.water_class is WaterClass.IV
    assert result.worst == ("nh3n",)
    items = {i.parameter: i for i in result.items}
    assert items["nh3n"].exceedance_iii == 0.3
    assert items["nh3n"].exceedance == 0.3
    assert items["tp"].exceedance is None
    assert items["ph"].exceedance is None
    assert items["do"].exceedance is None
    assert result.main_pollutants == ("nh3n",)
    assert not result.meets_target
    assert result.quality == "轻度污染"


def test_meets_target_and_no_main_pollutant_at_iii() -> None:
    result = evaluate_values({"do": 5.5, "nh3n": 0.9}, III, RIVER)
    assert result.water_class is III
    assert result.meets_target
    assert result.main_pollutants == ()
    assert result.worst == ("do", "nh3n")


def test_target_ii_exceedance_is_against_the_target() -> None:
    result = evaluate_values({"nh3n": 0.6, "do": 5.5}, WaterClass.II, RIVER)
    items = {i.parameter: i for i in result.items}
    assert items["nh3n"].exceedance == pytest.approx(0.2)
    assert items["nh3n"].exceedance_iii is None
    assert items["do"].do_shortfall == 0.5
    assert items["do"].exceeds_target


def test_ph_out_of_range_is_worse_than_v() -> None:
    result = evaluate_values({"ph": 9.2, "nh3n": 0.1}, III, RIVER)
    assert result.water_class is WaterClass.WORSE_THAN_V
    assert result.worst == ("ph",)
    assert result.items[0].ph_out_of_range
    assert result.quality == "重度污染"


def test_do_below_2_is_worse_than_v() -> None:
    assert evaluate_values({"do": 1.5}, III, RIVER).water_class is WaterClass.WORSE_THAN_V


def test_excluded_and_separate_tn() -> None:
    values = {"nh3n": 0.4, "temp": 21.0, "tn": 1.2, "fcoli": 500.0, "cond": 300.0}
    river = evaluate_values(values, III, RIVER)
    assert river.excluded == ("temp", "tn", "fcoli", "cond")
    assert river.separate == ()
    assert river.water_class is WaterClass.II
    lake = evaluate_values(values, III, LAKE)
    assert lake.water_class is WaterClass.II  # TN does not decide the class
    assert [(i.parameter, i.water_class) for i in lake.separate] == [("tn", WaterClass.IV)]
    assert "tn" in lake.excluded


def test_main_pollutants_toxic_first_then_class_then_multiple() -> None:
    values = {"nh3n": 2.5, "codmn": 14.0, "tp": 0.35, "bod5": 5.0, "pb": 0.06, "do": 6.0}
    result = evaluate_values(values, III, RIVER)
    assert result.water_class is WaterClass.WORSE_THAN_V
    # pb (V) leads because heavy metals take precedence; then nh3n (劣V); then codmn vs tp (both V)
    # by multiple against III: codmn (14-6)/6 = 1.33 > tp (0.35-0.2)/0.2 = 0.75.
    assert result.main_pollutants == ("pb", "nh3n", "codmn")
    assert result.worst == ("nh3n",)


def test_nothing_to_evaluate_is_an_error() -> None:
    with pytest.raises(ValueError, match="no evaluated"):
        evaluate_values({"temp": 20.0}, III, RIVER)


def test_target_must_be_i_to_v() -> None:
    with pytest.raises(ValueError, match="target"):
        evaluate_values({"nh3n": 0.1}, WaterClass.WORSE_THAN_V, RIVER)


def _r(parameter: str, value: float | None, minutes: int = 0, flag: Flag = Flag.N) -> Reading:
    return Reading("s1", parameter, value, "mg/L", T0 + timedelta(minutes=minutes), flag)


def test_readings_only_valid_and_latest_count() -> None:
    readings = [
        _r("nh3n", 0.4, 0),
        _r("nh3n", 1.3, 10),  # latest valid
        _r("nh3n", 5.0, 20, Flag.C),  # calibration: ignored
        _r("do", None, 30),  # no value: ignored
        _r("do", 1.0, 40, Flag.D),  # fault: ignored
        _r("tp", 0.18, 5),
    ]
    result = evaluate_readings(readings, III, RIVER)
    assert result.water_class is WaterClass.IV
    assert [i.parameter for i in result.items] == ["nh3n", "tp"]


@given(value=st.floats(0, 5), worse=st.floats(0, 5))
def test_section_class_never_improves_as_one_value_worsens(value: float, worse: float) -> None:
    base = {"ph": 7.0, "do": 6.5, "tp": 0.05}
    better = evaluate_values({**base, "nh3n": min(value, worse)}, III, RIVER).water_class
    poorer = evaluate_values({**base, "nh3n": max(value, worse)}, III, RIVER).water_class
    assert better <= poorer
