"""The rules engine's hot-path shortcuts give what the plain code gives (issue 7: readings per second).

Each shortcut is checked against the straightforward computation it replaces: the bisected class of a value,
the class summary of a section, the notification built field by field, the evaluator's cached plan objects
across restore and reconfiguration, the capture count, and the garbage-collector tuning of the service.
"""

from __future__ import annotations

import gc
import math
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stationpipe.kernel.messages import Handling
from stationpipe.kernel.registry import WaterBody, WaterClass
from stationpipe.kernel.runtime import GC_YOUNG_THRESHOLD, tune_gc
from stationpipe.rules.derived import CaptureTracker
from stationpipe.rules.evaluator import Evaluator
from stationpipe.rules.kinds.base import Outcome, active, label, quiet
from stationpipe.rules.lifecycle import Change, Instance, Policy, step
from stationpipe.rules.notify import notification
from stationpipe.standards import gb3838
from stationpipe.standards.gb3838_section import evaluate_values, summarise_values
from tests.unit.rules_helpers import T0, WATER, config, message, reading

_TABLES = [gb3838.DO, gb3838.TP_RIVER, gb3838.TP_LAKE, *gb3838.UPPER_LIMITS.values()]
_CLASSES = (WaterClass.I, WaterClass.II, WaterClass.III, WaterClass.IV, WaterClass.V)


def _linear_class(limits: gb3838.Limits, value: float) -> WaterClass:
    """The best class whose limit ``value`` meets, one limit after another (the definition)."""
    for cls, lim in zip(_CLASSES, limits.values, strict=True):
        if (value >= lim) if limits.direction is gb3838.Direction.MIN else (value <= lim):
            return cls
    return WaterClass.WORSE_THAN_V


def _around_limits() -> Iterator[tuple[gb3838.Limits, float]]:
    for limits in _TABLES:
        for lim in limits.values:
            for value in (lim, math.nextafter(lim, 0), math.nextafter(lim, math.inf), lim / 2, lim * 2):
                yield limits, value
        yield limits, 0.0


@pytest.mark.parametrize(("limits", "value"), list(_around_limits()))
def test_bisected_class_is_the_linear_scan_at_every_limit(limits: gb3838.Limits, value: float) -> None:
    assert limits.best_class(value) is _linear_class(limits, value)


def test_nan_meets_no_class_and_limits_must_be_monotonic() -> None:
    assert gb3838.UPPER_LIMITS["nh3n"].best_class(math.nan) is WaterClass.WORSE_THAN_V
    with pytest.raises(ValueError, match="monotonic"):
        gb3838.Limits(gb3838.Direction.MAX, (1.0, 0.5, 2.0, 3.0, 4.0))


_CODES = sorted(gb3838.EVALUATED | {"tn", "fcoli", "wt"})
_VALUES = st.one_of(
    st.sampled_from([0.0, 0.01, 0.05, 0.2, 0.5, 1.0, 1.5, 2.0, 6.0, 9.0, 15.0]),
    st.floats(min_value=0, max_value=50, allow_nan=False, allow_infinity=False),
    st.floats(min_value=-1, max_value=0, exclude_max=True),  # rejected: same error as evaluate_values
)


@settings(max_examples=400, deadline=None)
@given(
    values=st.dictionaries(st.sampled_from(_CODES), _VALUES, max_size=8),
    target=st.sampled_from(list(WaterClass)),
    body=st.sampled_from(list(WaterBody)),
)
def test_class_summary_is_what_the_full_evaluation_gives(
    values: dict[str, float], target: WaterClass, body: WaterBody
) -> None:
    try:
        full = evaluate_values(values, target, body)
    except ValueError as exc:
        with pytest.raises(ValueError, match=f"^{re.escape(str(exc))}$"):
            summarise_values(values, target, body)
        return
    summary = summarise_values(values, target, body)
    assert summary.water_class is full.water_class
    assert summary.worst == full.worst
    assert summary.exceed == tuple(i.parameter for i in full.items if i.exceeds_target)


def test_ranking_of_several_worst_items_uses_the_exact_multiples() -> None:
    values = {"cd": 0.0099, "nh3n": 1.9, "codmn": 14.9}  # all class V; cadmium is toxic and leads
    assert summarise_values(values, WaterClass.III, WaterBody.RIVER).worst == ("cd", "codmn", "nh3n")
    assert evaluate_values(values, WaterClass.III, WaterBody.RIVER).worst == ("cd", "codmn", "nh3n")


def test_outcome_builders_give_the_named_tuple_fields() -> None:
    assert quiet(1.0, 2.0, clear=False) == Outcome(0, False, 1.0, 2.0)
    built = active(3, 1.5, 1.0, "zh", "en", multiple=0.5)
    assert type(built) is Outcome
    assert built._asdict() == Outcome(3, False, 1.5, 1.0, 0.5, "zh", "en")._asdict()
    assert label("nh3n") == ("氨氮 NH3-N", "NH3-N")
    assert label("not-a-code") == ("not-a-code", "not-a-code")


def test_notification_fields_in_order() -> None:
    inst, at = Instance("w1", "section", "nh3n"), T0.timestamp()
    step(inst, active(2, 1.3, 1.0, "超标", "exceeds", multiple=0.3), at, Policy(0, 0, "keep", 1), at)
    note = notification(inst, Change.FIRING, WATER, at, "section")
    assert note._asdict() == {
        "id": "w1/section.nh3n/1777593600000/firing/2",
        "change": Change.FIRING,
        "station": "w1",
        "section": "测试断面",
        "rule": "section",
        "topic_rule": "section.nh3n",
        "parameter": "nh3n",
        "level": 2,
        "value": 1.3,
        "limit": 1.0,
        "multiple": 0.3,
        "target_class": "Ⅲ",
        "started": T0,
        "ended": None,
        "ts": T0,
        "message_zh": "黄色预警 超标",
        "message_en": "yellow warning: exceeds",
        "backfilled": False,
        "expected": None,
        "fired": True,
        "station_name": "测试断面",
        "city": "",
        "river": "",
        "kind": "section",
        "handling": Handling.ISSUED,
        "acknowledged_by": None,
        "assignee": None,
    }


SECTION = [{"name": "section", "kind": "section", "parameters": ["nh3n"]}]


def test_cached_plans_follow_restore_and_reconfiguration(tmp_path: Path) -> None:
    cfg = config(tmp_path, SECTION)
    ev = Evaluator(cfg, cfg.load_registry(), T0)
    ev.process(message(0, T0, nh3n=1.2), T0)  # fires, and a run of 1
    inst = ev.instances["w1/section/nh3n"]
    restored = Instance.from_json(inst.to_json())
    series = {"w1/section/nh3n": {"run": 5}}
    ev.restore({"w1/section/nh3n": restored}, series)
    ts = T0 + timedelta(hours=1)
    out = ev.process(message(1, ts, nh3n=1.2), ts)
    assert series["w1/section/nh3n"] == {"run": 6}  # the restored series, not the one before
    assert [n.change for n in out.notes] == [Change.ESCALATED]  # 6 in a row: orange
    assert ev.instances["w1/section/nh3n"] is restored
    assert restored.seen_wall == ts.timestamp()
    ev.configure(cfg, cfg.load_registry())
    ts = T0 + timedelta(hours=2)
    assert [n.change for n in ev.process(message(2, ts, nh3n=0.1), ts).notes] == [Change.RESOLVED]
    assert restored.ended == ts.timestamp()


def test_capture_counts_distinct_valid_slots_per_day() -> None:
    tracker = CaptureTracker()
    for minutes, param in [(0, "nh3n"), (10, "nh3n"), (250, "nh3n"), (0, "do"), (300, "do")]:
        assert tracker.update(WATER, reading(param, 1.0, minutes), 4 * 3600.0) is None
    assert tracker.update(WATER, reading("do", None, 10), 4 * 3600.0) is None  # seen, not valid
    record = tracker.update(WATER, reading("nh3n", 1.0, 24 * 60), 4 * 3600.0)  # the next China day
    assert record is not None
    assert record.values == {"rate": 33.33, "valid": 4, "expected": 12, "day": "2026-05-01"}


def test_tune_gc_keeps_the_collector_on_with_a_higher_young_threshold() -> None:
    before = gc.get_threshold()
    try:
        tune_gc()
        assert gc.isenabled()
        assert gc.get_threshold() == (GC_YOUNG_THRESHOLD, before[1], before[2])
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)


def test_series_evaluated_since_the_last_tick_are_saved_at_each_tick(tmp_path: Path) -> None:
    cfg = config(tmp_path, SECTION)
    ev = Evaluator(cfg, cfg.load_registry(), T0)
    for i in range(3):
        ts = T0 + timedelta(minutes=i)
        ev.process(message(i, ts, nh3n=1.2), ts)
    assert ev.tick(T0 + timedelta(minutes=3)).batch.series == {"w1/section/nh3n": {"run": 3}}
    assert ev.tick(T0 + timedelta(minutes=4)).batch.series == {}
    ts = T0 + timedelta(minutes=5)
    ev.process(message(5, ts, nh3n=1.2), ts)
    assert ev.tick(T0 + timedelta(minutes=6)).batch.series == {"w1/section/nh3n": {"run": 4}}


def test_a_series_that_never_held_state_is_not_saved_and_one_that_did_is(tmp_path: Path) -> None:
    cfg = config(tmp_path, SECTION)
    ev = Evaluator(cfg, cfg.load_registry(), T0)
    ev.process(message(0, T0, nh3n=0.1), T0)  # clean: the section keeps nothing
    assert ev.series["w1/section/nh3n"] == {}
    assert ev.tick(T0 + timedelta(minutes=1)).batch.series == {}  # no row: restored as {} without one
    ts = T0 + timedelta(minutes=2)
    ev.process(message(1, ts, nh3n=1.2), ts)
    assert ev.tick(ts).batch.series == {"w1/section/nh3n": {"run": 1}}
    ts = T0 + timedelta(minutes=3)
    ev.process(message(2, ts, nh3n=0.1), ts)  # empty again: saved, or the stored run would come back
    assert ev.tick(ts).batch.series == {"w1/section/nh3n": {}}
    ev.restore({}, {"w1/section/nh3n": {"run": 2}})  # a stored state: saved when evaluated
    ts = T0 + timedelta(minutes=4)
    ev.process(message(3, ts, nh3n=0.1), ts)
    assert ev.tick(ts).batch.series == {"w1/section/nh3n": {}}
