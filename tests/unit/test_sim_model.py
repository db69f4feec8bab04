"""The station model: reproducible, daylight-following, and inside its water class all day."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from stationpipe.kernel.registry import WaterClass
from stationpipe.simulators.model import StationModel, local_hour

DAY = datetime(2025, 7, 1, tzinfo=UTC) - timedelta(hours=8)  # local midnight, China Standard Time

#: GB 3838-2002 limits (mg/L, TP rivers) per class, for the items the model must keep in class.
LIMITS = {
    "codmn": (2, 4, 6, 10, 15),
    "nh3n": (0.15, 0.5, 1.0, 1.5, 2.0),
    "tp": (0.02, 0.1, 0.2, 0.3, 0.4),
}
DO_MIN = (7.5, 6, 5, 3, 2)


def _day(model: StationModel, parameter: str, step_min: int = 10) -> list[float]:
    return [model.value(parameter, DAY + timedelta(minutes=m)) for m in range(0, 24 * 60, step_min)]


def _class_of(parameter: str, value: float) -> int:
    if parameter == "do":
        return next((i + 1 for i, low in enumerate(DO_MIN) if value >= low), 6)
    return next((i + 1 for i, high in enumerate(LIMITS[parameter]) if value <= high), 6)


def test_same_seed_and_instant_give_the_same_value() -> None:
    at = DAY + timedelta(hours=9, seconds=17.4)
    a, b = StationModel.typical(WaterClass.II, 7), StationModel.typical(WaterClass.II, 7)
    assert a.value("nh3n", at) == b.value("nh3n", at)
    assert a.value("nh3n", at) != StationModel.typical(WaterClass.II, 8).value("nh3n", at)


def test_value_is_constant_within_one_second() -> None:
    model = StationModel.typical(WaterClass.III, 1)
    at = DAY + timedelta(hours=3, seconds=5)
    assert model.value("ph", at) == model.value("ph", at + timedelta(milliseconds=999))


@pytest.mark.parametrize(
    "water_class", [WaterClass.I, WaterClass.II, WaterClass.III, WaterClass.IV, WaterClass.V]
)
@pytest.mark.parametrize("parameter", ["do", "codmn", "nh3n", "tp"])
def test_each_class_stays_in_its_class_all_day(water_class: WaterClass, parameter: str) -> None:
    for seed in (1, 2, 3):
        model = StationModel.typical(water_class, seed)
        classes = {_class_of(parameter, v) for v in _day(model, parameter)}
        if parameter == "do":
            assert max(classes) <= water_class, (parameter, classes)  # DO may be better than the class
        else:
            assert classes == {int(water_class)}, (parameter, classes)


def test_worse_than_v_section_is_worse_than_v() -> None:
    model = StationModel.typical(WaterClass.WORSE_THAN_V, 1)
    assert min(_day(model, "nh3n")) > 2.0


def _at_hour(model: StationModel, parameter: str, hour: float) -> float:
    return sum(model.value(parameter, DAY + timedelta(hours=hour, seconds=s)) for s in range(30)) / 30


@pytest.mark.parametrize("parameter", ["do", "o3", "chla"])
def test_daylight_parameters_peak_in_the_afternoon(parameter: str) -> None:
    model = StationModel.typical(WaterClass.II, 3)
    assert _at_hour(model, parameter, 15) > _at_hour(model, parameter, 4) + 0.5
    night = [_at_hour(model, parameter, h) for h in (0, 2, 4)]
    assert max(night) - min(night) < max(night) * 0.1  # flat at night: no sun


def test_water_temperature_lags_the_sun() -> None:
    model = StationModel.typical(WaterClass.II, 3)
    temps = {h: _at_hour(model, "temp", h) for h in range(24)}
    assert max(temps, key=lambda h: temps[h]) in {16, 17, 18}


def test_air_level_scales_pollution() -> None:
    at = DAY + timedelta(hours=8)
    clean, dirty = StationModel.typical(WaterClass.II, 1, 0.5), StationModel.typical(WaterClass.II, 1, 2.0)
    assert dirty.value("pm25", at) > 3 * clean.value("pm25", at)


def test_drift_moves_slowly_over_days() -> None:
    model = StationModel.typical(WaterClass.II, 5)
    noon = [_at_hour(model, "cond", 12 + 24 * d) for d in range(8)]
    assert max(noon) - min(noon) > 2.0  # it wanders between days …
    assert all(math.isfinite(v) for v in noon)


def test_local_hour_is_china_standard_time() -> None:
    assert local_hour(datetime(2025, 1, 1, 0, 30, tzinfo=UTC)) == pytest.approx(8.5)
