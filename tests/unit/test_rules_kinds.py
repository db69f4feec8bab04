"""Each rule kind as a table: readings in, level and clear condition out."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import pytest
from pydantic import TypeAdapter

from stationpipe.kernel.reading import Flag
from stationpipe.kernel.registry import StationInfo
from stationpipe.rules.kinds import Kind, build
from stationpipe.rules.kinds.base import Outcome, Series
from stationpipe.rules.kinds.deadman import silent
from stationpipe.rules.kinds.trend import theil_sen
from stationpipe.rules.rule_models import DeadmanRule, Rule, RuleBase
from tests.unit.rules_helpers import AIR, T0, WATER, reading

_ADAPTER: TypeAdapter[Any] = TypeAdapter(Rule)


def kind_of(**rule: Any) -> Kind:
    built = build(_ADAPTER.validate_python({"name": "r", **rule}))
    assert built is not None
    return built


def run(
    kind: Kind,
    values: Sequence[float | None],
    info: StationInfo = WATER,
    param: str = "nh3n",
    step: float = 60,
    flag: Flag = Flag.N,
) -> list[Outcome | None]:
    series: Series = {}
    return [
        kind.evaluate(info, reading(param, v, i * step, flag, info.id), series) for i, v in enumerate(values)
    ]


@pytest.mark.parametrize(
    ("values", "level"),
    [
        ([0.5], 0),
        ([0.8], 1),  # 80 % of the class III limit 1.0
        ([1.0], 1),  # equal meets the limit
        ([1.2], 2),
        ([1.5], 3),  # multiple 0.5
        ([2.0], 4),  # multiple 1.0 (also class V)
        ([2.1], 4),  # 劣Ⅴ
        ([1.1, 1.1, 1.1], 3),  # 3 consecutive exceeding samples
        ([1.1, 0.9, 1.1], 2),  # the run restarts
    ],
)
def test_section_levels_nh3n_class_iii(values: list[float], level: int) -> None:
    out = run(kind_of(kind="section"), values)[-1]
    assert out is not None
    assert out.level == level


def test_section_messages_are_bilingual_with_the_multiple() -> None:
    out = run(kind_of(kind="section"), [1.3])[-1]
    assert out is not None
    assert out.multiple == pytest.approx(0.3)
    assert "氨氮 NH3-N 1.3 mg/L 超过Ⅲ类标准 0.3 倍" in out.message
    assert "NH3-N 1.3 mg/L exceeds class III by 0.3x" in out.message


def test_section_hysteresis_band_and_invalid_flags() -> None:
    kind = kind_of(kind="section")
    assert run(kind, [0.75])[-1] == Outcome(0, clear=False, value=0.75, limit=1.0)  # not < 0.7 x limit
    assert run(kind, [0.6])[-1] == Outcome(0, clear=True, value=0.6, limit=1.0)
    assert run(kind, [5.0], flag=Flag.D)[-1] is None
    assert not kind.watches(WATER, "temp")
    assert not kind.watches(AIR, "nh3n")


@pytest.mark.parametrize(
    ("param", "value", "level"),
    [("do", 6.0, 1), ("do", 4.0, 2), ("do", 1.5, 4), ("ph", 9.5, 4), ("ph", 6.1, 1), ("ph", 7.5, 0)],
)
def test_section_do_and_ph(param: str, value: float, level: int) -> None:
    out = run(kind_of(kind="section"), [value], param=param)[-1]
    assert out is not None
    assert out.level == level


def test_custom_target_tn() -> None:
    kind = kind_of(kind="target", limits={"tn": 2.0})
    levels = [o.level for o in run(kind, [1.0, 1.7, 2.2, 3.1, 4.0], param="tn") if o]
    assert levels == [0, 1, 2, 3, 4]
    assert not kind.watches(WATER, "tp")


def test_threshold_with_clear_value() -> None:
    kind = kind_of(kind="threshold", parameters=["turb"], above=100, clear=80, level=2)
    outs = run(kind, [90, 120, 90, 70], param="turb")
    assert [(o.level, o.clear) for o in outs if o] == [(0, False), (2, False), (0, False), (0, True)]
    below = kind_of(kind="threshold", parameters=["do"], below=3)
    assert [o.level for o in run(below, [4, 2.5], param="do") if o] == [0, 2]


def test_rate_of_change_within_window() -> None:
    kind = kind_of(kind="rate", parameters=["nh3n"], rise=0.5, within="30m")
    levels = [o.level for o in run(kind, [0.2, 0.3, 0.6, 0.8, 0.8, 0.8, 0.8], step=10) if o]
    assert levels == [0, 0, 0, 1, 1, 0, 0]  # 0.2 -> 0.8 within 30 min; then the low leaves the window


def test_flatline_after_n_identical_values() -> None:
    kind = kind_of(kind="flatline", count=3)
    assert [o.level for o in run(kind, [1, 2, 2, 2, 2, 3]) if o] == [0, 0, 0, 1, 1, 0]


def test_flags_persisting() -> None:
    kind = kind_of(kind="flags", persist_for="30m")
    series: Series = {}
    outs = [
        kind.evaluate(WATER, reading("nh3n", None, m, f), series)
        for m, f in [(0, Flag.D), (20, Flag.D), (31, Flag.D), (40, Flag.N)]
    ]
    assert [o.level for o in outs if o] == [0, 0, 1, 0]


def test_trend_predicts_the_crossing_time() -> None:
    kind = kind_of(kind="trend", horizon="6h", window=6, min_samples=4)
    outs = run(kind, [0.5, 0.6, 0.7, 0.8], step=60)  # +0.1 per hour toward 1.0
    last = outs[-1]
    assert last is not None
    assert last.level == 1
    assert last.expected == T0 + timedelta(hours=5)
    assert "2026-05-01 13:00" in last.zh  # China time
    flat = run(kind, [0.5, 0.5, 0.5, 0.5], step=60)[-1]
    assert flat is not None
    assert flat.level == 0


def test_theil_sen_ignores_one_spike() -> None:
    slope, intercept = theil_sen([[0, 1], [1, 2], [2, 30], [3, 4], [4, 5]])
    assert slope == pytest.approx(1.0)
    assert intercept == pytest.approx(1.0)


def test_deadman_on_wall_clock() -> None:
    rule = DeadmanRule(name="silent", kind="deadman", silent_for=timedelta(minutes=10))
    assert silent(rule, WATER, T0, T0 + timedelta(minutes=9)).level == 0
    assert silent(rule, WATER, T0, T0 + timedelta(minutes=10)).level == 2
    assert build(rule) is None


def test_aqi_hourly_close_publishes_and_levels() -> None:
    kind = kind_of(kind="aqi", standard="HJ633-2026")
    series: Series = {}
    outs = [kind.evaluate(AIR, reading("pm25", 160.0, m, station="a1"), series) for m in range(60)]
    assert all(o is None for o in outs)
    closed = kind.evaluate(AIR, reading("pm25", 10.0, 61, station="a1"), series)
    assert closed is not None
    assert closed.level == 3 - 1 + 1  # PM2.5 160 -> AQI 210 (201-300): level 3
    assert closed.derived[0].index == "aqi"
    assert closed.derived[0].values["primary"] == "pm25"


def test_rule_base_selectors() -> None:
    rule = _ADAPTER.validate_python({"name": "r", "kind": "flatline", "target_classes": ["III"]})
    assert isinstance(rule, RuleBase)
    assert rule.applies(WATER)
    assert not rule.applies(AIR)
