"""Catalogue rows, registry fields, message words and simulator pieces of the chemical-park and radiation
programmes."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import TypeAdapter, ValidationError

from stationpipe.kernel.catalogue import CATALOGUE, Kind, parameter
from stationpipe.kernel.registermap import from_registers, load_profile
from stationpipe.kernel.registry import StationInfo, WaterClass
from stationpipe.rules.kinds.context import compass, place, span, wind_words
from stationpipe.simulators.board import Board
from stationpipe.simulators.encode import point_registers
from stationpipe.simulators.model import StationModel
from stationpipe.simulators.scenarios import Leak, Rain, Scenario, Washout
from tests.unit.programme_helpers import GAS, PARK, PLANT, RAD

GASES = ("benzene", "toluene", "xylene", "h2s", "nh3", "cl2", "nmhc", "tvoc")
_SCENARIO: TypeAdapter[Scenario] = TypeAdapter(Scenario)


@pytest.mark.parametrize("code", GASES)
def test_gas_rows_are_mg_m3_of_kind_gas(code: str) -> None:
    row = parameter(code)
    assert (row.unit, row.kind) == ("mg/m3", Kind.GAS)
    assert row.label.startswith(row.name_zh)


def test_gamma_row_and_gas_ammonia_is_not_water_ammonia_nitrogen() -> None:
    gamma = parameter("gamma")
    assert (gamma.unit, gamma.kind, gamma.label) == ("nGy/h", Kind.RADIATION, "γ辐射空气吸收剂量率 γ")
    assert (CATALOGUE["nh3"].kind, CATALOGUE["nh3n"].kind) == (Kind.GAS, Kind.WATER)
    assert CATALOGUE["nh3"].label == "氨 NH3"


def test_gas_station_needs_its_park_radiation_plant_is_optional() -> None:
    with pytest.raises(ValidationError, match="a gas station needs park"):
        StationInfo(id="g2", name="x", kind=Kind.GAS, lat=30, lon=120)
    assert StationInfo(id="r2", name="y", kind=Kind.RADIATION, lat=30, lon=120).plant == ""
    with pytest.raises(ValidationError, match="a water station needs target_class"):
        StationInfo(id="w2", name="z", kind=Kind.WATER, lat=30, lon=120)


@pytest.mark.parametrize(
    ("degrees", "zh", "en"),
    [
        (0.0, "北", "N"),
        (11.2, "北", "N"),
        (11.3, "北东北", "NNE"),
        (45.0, "东北", "NE"),
        (135.0, "东南", "SE"),
        (202.5, "南西南", "SSW"),
        (290.0, "西西北", "WNW"),
        (349.0, "北", "N"),
        (360.0, "北", "N"),
        (-90.0, "西", "W"),
    ],
)
def test_compass_sectors(degrees: float, zh: str, en: str) -> None:
    assert compass(degrees) == (zh, en)


def test_wind_place_and_span_words() -> None:
    assert wind_words(100.0) == ("风向 东 E 100° (下风向 西 W)", "wind from E 100° (downwind W)")
    assert place(GAS) == (f"化工园区 {PARK} 石化区东门站", f"{PARK} chemical park, station g1")
    assert place(RAD) == (f"核电厂 {PLANT} 外围 秦山北侧辐射站", f"around {PLANT} nuclear plant, station r1")
    plain = StationInfo(id="r3", name="城区站", kind=Kind.RADIATION, lat=30, lon=120)
    assert place(plain) == ("城区站", "station r3")
    assert span(30) == ("30 秒", "30 s")
    assert span(900) == ("15 分钟", "15 min")
    assert span(7200) == ("2 小时", "2 h")
    assert span(5400) == ("90 分钟", "90 min")


def test_leak_rises_holds_and_falls_linearly() -> None:
    leak = _SCENARIO.validate_python(
        {"name": "l", "kind": "leak", "parameter": "h2s", "peak": 15.0, "rise": 10, "hold": 20, "decay": 10}
    )
    assert isinstance(leak, Leak)
    assert [leak.share(t) for t in (0, 5, 10, 25, 30, 35, 40, 50)] == [0, 0.5, 1, 1, 1, 0.5, 0, 0]
    assert leak.lasts() == 40
    assert leak.touches("h2s")
    assert not leak.touches("cl2")
    with pytest.raises(ValidationError, match="unknown parameter code"):
        _SCENARIO.validate_python({"name": "l", "kind": "leak", "parameter": "h2so4", "peak": 1.0})


def test_rain_and_washout_on_the_board() -> None:
    start = datetime(2026, 6, 1, 4, tzinfo=UTC)
    rain = _SCENARIO.validate_python({"name": "rain", "kind": "rain", "amount": 0.4, "duration": 60})
    washout = _SCENARIO.validate_python(
        {"name": "wash", "kind": "washout", "increase": 30.0, "build": 10, "rain_for": 60, "half_life": 30}
    )
    assert isinstance(rain, Rain)
    assert isinstance(washout, Washout)
    assert washout.increment(0) == 0
    assert washout.increment(10) == pytest.approx(30 * (1 - math.exp(-1)))
    top = washout.increment(60)
    assert washout.increment(90) == pytest.approx(top / 2)  # one half-life after the rain
    assert washout.lasts() == 60 + 300
    model = StationModel.typical(WaterClass.II, 4)
    board = Board.of((rain, washout))
    board.start("rain", start)
    board.start("wash", start)
    later = start + timedelta(seconds=20)
    effects = board.effects("dev", later)
    assert effects.value(model, "rain", later) == 0.4
    assert effects.value(model, "gamma", later) == pytest.approx(
        model.value("gamma", later) + washout.increment(20)
    )
    after = start + timedelta(seconds=61)
    assert board.effects("dev", after).value(model, "rain", after) == 0.0  # the rain has ended


@pytest.mark.parametrize("name", ["chem_park_gas", "radiation_gamma"])
def test_profiles_encode_the_model_values(name: str) -> None:
    profile = load_profile(name)
    model = StationModel.typical(WaterClass.II, 9)
    now = datetime(2026, 6, 1, 6, tzinfo=UTC)
    for point in profile.points:
        want = model.value(point.parameter, now)
        got = from_registers(point_registers(point, want), point.type, point.order) * point.scale
        resolution = point.scale / 2 if point.type.name.startswith(("INT", "UINT")) else abs(want) * 1e-6
        assert got == pytest.approx(want, abs=resolution), point.parameter
        assert point.range is not None
        assert point.range[0] <= got <= point.range[1], point.parameter
    assert profile.points[0].parameter in {"wind_dir", "rain"}  # context first in every poll
