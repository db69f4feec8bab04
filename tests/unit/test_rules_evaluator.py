"""The engine's pure core: a pollution event, late and backfilled data, a restart from durable state."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from stationpipe.rules.channels import route
from stationpipe.rules.evaluator import Evaluator, Output, merge
from stationpipe.rules.lifecycle import Change
from stationpipe.rules.state import Batch, State
from tests.unit.rules_helpers import T0, config, message

SECTION = [{"name": "section", "kind": "section", "parameters": ["nh3n"], "consecutive": 10}]
EVENT = [0.5, 0.85, 1.2, 1.6, 1.2, 0.6]  # blue, yellow, orange, (yellow), resolve


def test_pollution_event_blue_yellow_orange_resolved(tmp_path: Path) -> None:
    ev = Evaluator(config(tmp_path, SECTION), config(tmp_path, SECTION).load_registry(), T0)
    changes = []
    for i, v in enumerate(EVENT):
        ts = T0 + timedelta(hours=i)
        out = ev.process(message(i, ts, nh3n=v), ts)
        changes += [(n.change, n.level) for n in out.notes]
    assert changes == [
        (Change.FIRING, 1),
        (Change.ESCALATED, 2),
        (Change.ESCALATED, 3),
        (Change.DEESCALATED, 2),
        (Change.RESOLVED, 2),
    ]


def test_water_class_is_published_when_it_changes(tmp_path: Path) -> None:
    cfg = config(tmp_path, [])
    ev = Evaluator(cfg, cfg.load_registry(), T0)
    records = []
    for i, v in enumerate([0.4, 0.45, 1.2]):
        records += ev.process(message(i, T0 + timedelta(hours=i), nh3n=v, do=8.0), T0).derived
    assert [(r.values["class"], r.values["exceed"]) for r in records] == [(2, ()), (4, ("nh3n",))]
    headline = ev.headline_record(T0)
    assert headline.station == "_province"
    assert headline.values["sections"] == 1
    assert headline.values["share_iii_or_better"] == 0.0


def test_late_and_duplicate_readings_are_not_evaluated_twice(tmp_path: Path) -> None:
    cfg = config(tmp_path, SECTION)
    ev = Evaluator(cfg, cfg.load_registry(), T0)
    ts = T0 + timedelta(hours=2)
    assert ev.process(message(1, ts, nh3n=1.2), ts).notes
    assert not ev.process(message(1, ts, nh3n=1.2), ts).notes  # redelivered
    assert not ev.process(message(0, T0, nh3n=3.0), ts).notes  # older than what was evaluated
    assert ev.reorder.late == 2


def test_offset_reorders_out_of_order_readings(tmp_path: Path) -> None:
    cfg = config(tmp_path, SECTION, evaluation={"offset": "10m"})
    ev = Evaluator(cfg, cfg.load_registry(), T0)
    second, first = T0 + timedelta(minutes=5), T0
    assert not ev.process(message(2, second, nh3n=1.2), second).notes  # held
    assert not ev.process(message(1, first, nh3n=0.5), second).notes  # late but within the offset
    out = ev.tick(T0 + timedelta(minutes=16))
    assert [n.change for n in out.notes] == [Change.FIRING]
    assert ev.reorder.late == 0


def test_backfill_is_evaluated_on_real_times_and_coalesced(tmp_path: Path) -> None:
    cfg = config(tmp_path, SECTION)
    ev = Evaluator(cfg, cfg.load_registry(), T0)
    arrival = T0 + timedelta(days=2)
    notes = []
    for i, v in enumerate(EVENT):
        notes += ev.process(message(i, T0 + timedelta(hours=i), nh3n=v), arrival).notes
    assert notes == []  # held back, not a storm
    out = ev.tick(arrival + timedelta(seconds=2))
    assert [(n.change, n.backfilled) for n in out.notes] == [(Change.RESOLVED, True)]
    note = out.notes[0]
    assert note.started == T0 + timedelta(hours=1)
    assert note.ended == T0 + timedelta(hours=5)
    assert "[补传]" in note.message_zh


def test_restart_restores_firing_instance_without_duplicates(tmp_path: Path) -> None:
    cfg = config(tmp_path, SECTION)
    state = State(tmp_path / "s.sqlite3")
    ev = Evaluator(cfg, cfg.load_registry(), T0)
    for i, v in enumerate(EVENT[:3]):
        out = ev.process(message(i, T0 + timedelta(hours=i), nh3n=v), T0 + timedelta(hours=i))
        out.batch.outbox = [
            (s, n.id, n.to_json()) for n in out.notes for s in route(n.to_json(), cfg.delivery)
        ]
        state.commit(out.batch)
    state.commit(ev.tick(T0 + timedelta(hours=2)).batch)
    state.close()

    state = State(tmp_path / "s.sqlite3")
    again = Evaluator(cfg, cfg.load_registry(), T0)
    again.restore(state.instances(), state.series())
    assert state.depth("mqtt") == 2  # blue, then yellow
    ts = T0 + timedelta(hours=3)
    same = again.process(message(3, ts, nh3n=1.4), ts)  # still orange: no new notification
    assert same.notes == []
    ts = T0 + timedelta(hours=4)
    done = again.process(message(4, ts, nh3n=0.5), ts)
    assert [n.change for n in done.notes] == [Change.RESOLVED]


def test_outbox_is_idempotent(tmp_path: Path) -> None:
    state = State(tmp_path / "s.sqlite3")
    body = {"id": "x", "change": "firing"}
    state.commit(Batch({}, {}, [("mqtt", "x", body), ("mqtt", "x", body)], {"k": 1}))
    rows = state.queued("mqtt")
    assert [r.id for r in rows] == ["x"]
    state.delivered([rows[0].seq])
    assert state.depth("mqtt") == 0
    assert state.fact("k") == 1


def test_merged_outputs_keep_step_order_and_the_last_state(tmp_path: Path) -> None:
    cfg = config(tmp_path, [{"name": "section", "kind": "section", "parameters": ["nh3n"]}])
    ev = Evaluator(cfg, cfg.load_registry(), T0)
    steps = []
    for i, value in enumerate([1.2, 0.5, 1.2]):  # fires, resolves, fires again
        ts = T0 + timedelta(minutes=i)
        steps.append(ev.process(message(i, ts, nh3n=value), ts))
    steps[0].batch.facts.update({"a": 1, "b": 1})
    steps[2].batch.facts.update({"a": None})
    merged = merge(steps)
    assert [n.change for n in merged.notes] == [Change.FIRING, Change.RESOLVED, Change.FIRING]
    assert [n.ts for n in merged.notes] == [n.ts for step in steps for n in step.notes]
    assert merged.batch.instances == {"w1/section/nh3n": ev.instances["w1/section/nh3n"]}
    assert merged.batch.facts == {"a": None, "b": 1}  # the last step's word: a deleted
    assert merged.derived == [d for step in steps for d in step.derived]
    assert not merge([Output(), Output()]).batch
