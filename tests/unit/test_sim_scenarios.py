"""Scenarios and the board: what each kind does to values, flags and the protocol, and when it ends."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import TypeAdapter

from stationpipe.kernel.reading import Flag
from stationpipe.kernel.registry import WaterClass
from stationpipe.simulators.board import Board, UnknownScenarioError
from stationpipe.simulators.model import StationModel
from stationpipe.simulators.scenarios import Pollution, Scenario

T0 = datetime(2025, 7, 1, 2, 0, tzinfo=UTC)
MODEL = StationModel.typical(WaterClass.II, 3)
_ADAPTER: TypeAdapter[Scenario] = TypeAdapter(Scenario)


def scenario(**kw: Any) -> Scenario:
    return _ADAPTER.validate_python({"name": kw.pop("name", "s"), **kw})


def board(*scenarios: Scenario) -> Board:
    b = Board.of(scenarios)
    for s in scenarios:
        b.start(s.name, T0)
    return b


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_pollution_rises_to_a_multiple_of_class_iii_holds_and_decays() -> None:
    event = scenario(kind="pollution", parameter="nh3n", multiple=4, rise=3600, hold=600, decay=3600)
    assert isinstance(event, Pollution)
    b = board(event)
    series = {t: b.effects("d", at(t)).value(MODEL, "nh3n", at(t)) for t in (0, 1800, 3600, 4000, 5900, 7799)}
    assert series[0] == pytest.approx(MODEL.value("nh3n", at(0)))
    assert 1.0 < series[1800] < 4.0
    assert series[3600] == pytest.approx(4.0)  # 4 × 1.0 mg/L
    assert series[4000] == pytest.approx(4.0)
    assert series[3600] > series[5900] > series[7799]
    assert b.effects("d", at(7800)).is_normal()  # ended by itself
    assert "s" not in b.active


def test_pollution_touches_only_its_parameter() -> None:
    b = board(scenario(kind="pollution", parameter="tp", rise=1, hold=10, decay=1))
    assert b.effects("d", at(2)).value(MODEL, "tp", at(2)) == pytest.approx(0.8)  # 4 × 0.2 mg/L
    assert b.effects("d", at(2)).value(MODEL, "nh3n", at(2)) == MODEL.value("nh3n", at(2))


def test_flatline_shows_the_value_of_its_start() -> None:
    b = board(scenario(kind="flatline", parameters=["do"]))
    values = {b.effects("d", at(t)).value(MODEL, "do", at(t)) for t in (0, 5, 60, 3600)}
    assert values == {MODEL.value("do", T0)}
    assert b.effects("d", at(60)).value(MODEL, "ph", at(60)) == MODEL.value("ph", at(60))


def test_drift_adds_its_rate_per_hour() -> None:
    b = board(scenario(kind="drift", parameters=["ph"], rate=0.2))
    shown = b.effects("d", at(7200)).value(MODEL, "ph", at(7200))
    assert shown == pytest.approx(MODEL.value("ph", at(7200)) + 0.4)


@pytest.mark.parametrize(
    ("kind", "flag", "nan"),
    [("fault", Flag.D, True), ("maintenance", Flag.M, False), ("calibration", Flag.C, False)],
)
def test_status_scenarios_set_their_flag(kind: str, flag: Flag, nan: bool) -> None:
    e = board(scenario(kind=kind)).effects("d", at(1))
    assert e.flags == {flag}
    assert math.isnan(e.value(MODEL, "do", at(1))) is nan


def test_calibration_shows_the_standard_value() -> None:
    e = board(scenario(kind="calibration", parameters=["nh3n"], value=0.5)).effects("d", at(1))
    assert e.value(MODEL, "nh3n", at(1)) == 0.5
    assert e.value(MODEL, "tp", at(1)) == MODEL.value("tp", at(1))


@pytest.mark.parametrize(
    ("spec", "field", "expected"),
    [
        ({"kind": "silent"}, "silent", True),
        ({"kind": "exception", "code": 6}, "exception", 6),
        ({"kind": "slow", "delay": 2.5}, "delay", 2.5),
        ({"kind": "garbage", "count": 9}, "garbage", 9),
    ],
)
def test_protocol_scenarios(spec: dict[str, Any], field: str, expected: object) -> None:
    e = board(scenario(**spec)).effects("d", at(1))
    assert getattr(e, field) == expected
    assert e.value(MODEL, "do", at(1)) == MODEL.value("do", at(1))


def test_scenarios_apply_only_to_their_devices() -> None:
    b = board(scenario(kind="fault", devices=["a"]))
    assert b.effects("a", at(1)).flags == {Flag.D}
    assert b.effects("b", at(1)).is_normal()


def test_duration_ends_a_scenario_and_stop_ends_it_early() -> None:
    b = board(scenario(name="m", kind="maintenance", duration=60), scenario(name="f", kind="fault"))
    assert b.effects("d", at(59)).flags == {Flag.M, Flag.D}
    assert b.effects("d", at(61)).flags == {Flag.D}
    b.stop("f")
    assert b.effects("d", at(62)).is_normal()
    with pytest.raises(UnknownScenarioError):
        b.start("nope")


def test_active_from_start_up() -> None:
    b = Board.of((scenario(kind="fault", active=True),), T0)
    assert b.effects("d", at(1)).flags == {Flag.D}
    assert [row["active"] for row in b.describe(at(1))] == [True]


def test_pollution_needs_a_pollutant_with_a_class_iii_limit() -> None:
    with pytest.raises(ValueError, match="parameter"):
        scenario(kind="pollution", parameter="ph")
