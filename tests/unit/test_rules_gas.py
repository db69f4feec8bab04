"""化工园区 gas kinds as tables: instantaneous limits, short-term means, rapid rises; park and wind named."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from stationpipe.kernel.reading import Flag, StationMessage
from stationpipe.rules.evaluator import Evaluator
from stationpipe.rules.kinds.base import Outcome, Series
from stationpipe.rules.lifecycle import Change
from tests.unit.programme_helpers import GAS, PARK, at, config, kind_of, rule
from tests.unit.rules_helpers import AIR, T0

MAC = {"kind": "gas_instant", "limits": {"h2s": 10.0, "cl2": 1.0}, "basis": "GBZ 2.1-2019 MAC"}


def levels(values: list[float], **fields: object) -> list[int]:
    kind, series = kind_of(**{**MAC, **fields}), Series()
    out = [kind.evaluate(GAS, at("h2s", v, i), series) for i, v in enumerate(values)]
    return [o.level if o else -1 for o in out]


@pytest.mark.parametrize(
    ("value", "level"),
    [
        (4.9, 0),
        (5.0, 1),  # approach: half the limit (GBZ/T 223-2009 预报值)
        (10.0, 1),  # equal to the MAC is not above it
        (10.5, 3),  # above the MAC: the rule's level
        (19.9, 3),
        (20.0, 4),  # 200 % of the limit (GB/T 50493-2019 second-level alarm)
    ],
)
def test_instant_levels_against_the_mac(value: float, level: int) -> None:
    assert levels([value]) == [level]


def test_instant_levels_are_configurable() -> None:
    assert levels([6.0, 12.0, 25.0], approach=None, red_multiple=None, level=2) == [0, 2, 2]


def test_instant_hysteresis_below_the_approach_band() -> None:
    kind, series = kind_of(**MAC), Series()
    assert kind.evaluate(GAS, at("h2s", 4.5, 0), series) == Outcome(0, clear=False, value=4.5, limit=10.0)
    assert kind.evaluate(GAS, at("h2s", 3.9, 1), series) == Outcome(0, clear=True, value=3.9, limit=10.0)


def test_invalid_and_unwatched_readings_say_nothing() -> None:
    kind = kind_of(**MAC)
    assert kind.evaluate(GAS, at("h2s", 50.0, 0, flag=Flag.D), {}) is None
    assert kind.evaluate(GAS, at("h2s", None, 0), {}) is None
    assert kind.watches(GAS, "h2s")
    assert kind.watches(GAS, "wind_dir")
    assert not kind.watches(GAS, "benzene")
    assert kind.instance(at("cl2", 0.1, 0)) == "cl2"


def test_message_names_park_station_basis_multiple_and_wind() -> None:
    kind, series = kind_of(**MAC), Series()
    assert kind.evaluate(GAS, at("wind_dir", 47.0, 0), {}) is None  # wind alone says nothing
    out = kind.evaluate(GAS, at("h2s", 15.0, 1), series)
    assert out is not None
    assert out.level == 3
    assert out.multiple == pytest.approx(0.5)
    assert out.zh == (
        f"化工园区 {PARK} 石化区东门站: 硫化氢 H2S 15 mg/m3 超过限值 10 (GBZ 2.1-2019 MAC) 0.5 倍, "
        "风向 东北 NE 47° (下风向 西南 SW)"
    )
    assert out.en == (
        f"{PARK} chemical park, station g1: H2S 15 mg/m3 above 10 (GBZ 2.1-2019 MAC) by 0.5x; "
        "wind from NE 47° (downwind SW)"
    )
    assert series["wind"] == [(T0 + timedelta(seconds=0)).timestamp(), 47.0]


def test_wind_is_per_station_stale_wind_is_said_and_no_sensor_no_words() -> None:
    kind = kind_of(**MAC)
    out = kind.evaluate(GAS, at("h2s", 12.0, 0), {})
    assert out is not None
    assert "风向" not in out.zh
    assert "wind" not in out.en
    kind.evaluate(AIR, at("wind_dir", 200.0, 0, station="a1"), {})  # another station's wind
    out = kind.evaluate(GAS, at("h2s", 12.0, 1), {})
    assert out is not None
    assert "wind" not in out.en
    kind.evaluate(GAS, at("wind_dir", 270.0, 0), {})
    out = kind.evaluate(GAS, at("h2s", 12.0, 601), {})  # 10 min 1 s later: older than wind_max_age
    assert out is not None
    assert out.zh.endswith("无近期风向数据")
    assert out.en.endswith("no recent wind reading")


def test_last_wind_survives_a_restart_in_the_series_state() -> None:
    series: Series = {}
    first = kind_of(**MAC)
    first.evaluate(GAS, at("wind_dir", 180.0, 0), {})
    first.evaluate(GAS, at("h2s", 12.0, 1), series)
    out = kind_of(**MAC).evaluate(GAS, at("h2s", 13.0, 2), series)  # a new engine, the durable series
    assert out is not None
    assert out.en.endswith("wind from S 180° (downwind N)")


def test_average_waits_for_coverage_then_judges_the_rolling_mean() -> None:
    kind = kind_of(
        kind="gas_average", limits={"benzene": 10.0}, over="10s", resolution="1s", min_coverage=0.8
    )
    series: Series = {}
    out = [kind.evaluate(GAS, at("benzene", 12.0, i), series) for i in range(10)]
    assert out[:7] == [None] * 7  # fewer than 8 of the 10 one-second bins
    assert [o.level if o else None for o in out[7:]] == [3, 3, 3]
    assert out[-1] is not None
    assert "10 秒均值 12 mg/m3" in out[-1].zh
    assert "10 s mean 12 mg/m3" in out[-1].en
    later = [kind.evaluate(GAS, at("benzene", 0.0, 10 + i), series) for i in range(11)]
    assert later[-1] == Outcome(0, clear=True, value=0.0, limit=10.0)  # the window has moved on


def test_average_state_is_bounded_by_its_bins() -> None:
    kind = kind_of(kind="gas_average", limits={"nh3": 30.0}, over="15m", resolution="1m")
    series: Series = {}
    for i in range(3600):  # one hour of 1-second readings
        kind.evaluate(GAS, at("nh3", 1.0, i), series)
    assert len(series["b"]) <= 16


def test_rise_from_the_window_minimum() -> None:
    kind = kind_of(kind="gas_rise", rises={"h2s": 3.0}, within="30s")
    series: Series = {}
    values = [1.0, 0.5, 2.0, 4.0, 3.0]
    out = [kind.evaluate(GAS, at("h2s", v, i), series) for i, v in enumerate(values)]
    assert [o.level if o else None for o in out] == [0, 0, 0, 1, 0]
    assert out[3] is not None
    assert "硫化氢 H2S 30 秒内上升 3.5 mg/m3 (至 4 mg/m3)" in out[3].zh
    assert "H2S rose 3.5 mg/m3 within 30 s (to 4 mg/m3)" in out[3].en
    assert series["m"] == [
        [(T0 + timedelta(seconds=s)).timestamp(), v] for s, v in [(1, 0.5), (2, 2.0), (4, 3.0)]
    ]
    late = kind.evaluate(GAS, at("h2s", 4.0, 40), series)  # the low of 0.5 has left the window
    assert late is not None
    assert late.level == 0


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({**MAC, "parameters": ["h2s"]}, "keys of the rule's table"),
        ({**MAC, "limits": {"h2s2": 1.0}}, "h2s2"),
        ({**MAC, "limits": {"h2s": 0.0}}, "values > 0"),
        ({**MAC, "clear_below": 0.6}, "clear_below must not exceed approach"),
        ({**MAC, "wind": "gust"}, "unknown wind parameter"),
        ({"kind": "gas_average", "limits": {"nh3": 30.0}, "over": "1m", "resolution": "2m"}, "resolution"),
        ({"kind": "gas_rise", "rises": {}}, "rises"),
    ],
)
def test_bad_gas_rules_name_the_problem(fields: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        rule(**fields)


def test_evaluator_wires_wind_from_the_same_message_and_makes_no_wind_instances(tmp_path: Path) -> None:
    cfg = config(tmp_path, [{"name": "mac", **MAC}])
    ev = Evaluator(cfg, cfg.load_registry(), T0)
    notes = []
    for i, (wind, h2s) in enumerate([(90.0, 0.1), (92.0, 14.0), (95.0, 0.2)]):
        ts = T0 + timedelta(minutes=i)
        readings = (at("wind_dir", wind, i * 60), at("h2s", h2s, i * 60))
        notes += ev.process(StationMessage("g1", "gas", i, ts, readings), ts).notes
    assert [(n.change, n.level, n.topic_rule) for n in notes] == [
        (Change.FIRING, 3, "mac.h2s"),
        (Change.RESOLVED, 3, "mac.h2s"),
    ]
    assert "风向 东 E 92°" in notes[0].message_zh
    assert set(ev.instances) == {"g1/mac/h2s"}
