"""Upstream -> downstream pre-warnings through the evaluator: raised at the sections below a firing source
with the arrival window, once per source episode, resolved with the source or after the window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from stationpipe.kernel.rivers import Reach
from stationpipe.rules.config import RulesConfig
from stationpipe.rules.evaluator import Evaluator
from stationpipe.rules.kinds.upstream import clock, selected, window
from stationpipe.rules.lifecycle import Change
from stationpipe.rules.notify import Notification
from stationpipe.rules.rule_models import UpstreamRule
from stationpipe.rules.state import State
from tests.unit.river_helpers import RIVER_REGISTRY
from tests.unit.rules_helpers import T0, message

SECTION = {"name": "section", "kind": "section", "parameters": ["nh3n"]}
UPSTREAM = {"name": "upstream", "kind": "upstream", "sources": ["section"], "margin": "30m"}
H = 3600.0


def _config(tmp: Path, *rules: dict[str, Any]) -> RulesConfig:
    (tmp / "registry.toml").write_text(RIVER_REGISTRY, encoding="utf-8")
    return RulesConfig.model_validate(
        {
            "registry": str(tmp / "registry.toml"),
            "state": str(tmp / "state.sqlite3"),
            "mqtt": {"client_id": "rules-test"},
            "rules": list(rules or (SECTION, UPSTREAM)),
        }
    )


def _evaluator(tmp: Path, *rules: dict[str, Any]) -> Evaluator:
    cfg = _config(tmp, *rules)
    return Evaluator(cfg, cfg.load_registry(), T0)


def _send(ev: Evaluator, station: str, value: float, minutes: float) -> list[Notification]:
    ts = T0 + timedelta(minutes=minutes)
    return ev.process(message(int(minutes), ts, station=station, nh3n=value), ts).notes


def _pre(notes: list[Notification]) -> list[tuple[str, str, Change]]:
    return [(n.station, n.topic_rule, n.change) for n in notes if n.rule == "upstream"]


def test_window_arithmetic_cumulates_the_reaches() -> None:
    reach = Reach("down", 2, 6.0, 7.5, "江")
    assert window(1000.0, reach) == (1000.0 + 6 * H, 1000.0 + 7.5 * H)
    base = datetime(2026, 5, 1, 4, 0, tzinfo=UTC).timestamp()  # 12:00 China time
    assert clock(*window(base, reach)) == "18:00–19:30"
    assert clock(base, base + 14 * H) == "05-01 12:00–05-02 02:00"


def test_selection_by_reaches_horizon_and_river() -> None:
    reaches = (Reach("a", 1, 1, 2, "江"), Reach("b", 2, 3, 5, "江"), Reach("c", 3, 6, 9, "海"))
    rule = UpstreamRule.model_validate({**UPSTREAM, "reaches": 2})
    assert [r.station for r in selected(rule, reaches)] == ["a", "b"]
    rule = UpstreamRule.model_validate({**UPSTREAM, "horizon": "5h"})
    assert [r.station for r in selected(rule, reaches)] == ["a", "b"]
    rule = UpstreamRule.model_validate({**UPSTREAM, "rivers": ["海"]})
    assert [r.station for r in selected(rule, reaches)] == ["c"]


def test_exceedance_upstream_prewarns_every_section_below_with_its_window(tmp_path: Path) -> None:
    ev = _evaluator(tmp_path)
    assert _pre(_send(ev, "up", 0.9, 0)) == []  # approaching (level 1): not forwarded
    notes = _send(ev, "up", 1.5, 10)
    assert _pre(notes) == [
        ("mid", "upstream.up.section.nh3n", Change.FIRING),
        ("down", "upstream.up.section.nh3n", Change.FIRING),
    ]
    down = next(n for n in notes if n.station == "down")
    assert down.level == 2
    assert down.expected == T0 + timedelta(minutes=10, hours=6)
    assert "上游断面 up断面 氨氮 NH3-N 超标，预计 14:10–15:10 (北京时间) 到达" in down.message_zh
    assert "upstream section up exceeds NH3-N, expected to arrive 14:10–15:10 China time" in down.message_en
    assert "2 section(s) downstream, 6–7 h travel" in down.message_en
    assert down.value == 1.5


def test_prewarning_resolves_when_the_source_resolves(tmp_path: Path) -> None:
    ev = _evaluator(tmp_path)
    _send(ev, "up", 1.5, 0)
    assert _pre(_send(ev, "up", 2.5, 10)) == []  # the source escalates: the window stays
    notes = _send(ev, "up", 0.3, 20)
    assert _pre(notes) == [
        ("mid", "upstream.up.section.nh3n", Change.RESOLVED),
        ("down", "upstream.up.section.nh3n", Change.RESOLVED),
    ]
    assert all("upstream warning resolved" in n.message_en for n in notes if n.rule == "upstream")


def test_prewarning_resolves_after_the_window_and_margin_once_per_episode(tmp_path: Path) -> None:
    ev = _evaluator(tmp_path)
    _send(ev, "up", 1.5, 0)
    assert _pre(ev.tick(T0 + timedelta(hours=3, minutes=29)).notes) == []
    expired = ev.tick(T0 + timedelta(hours=3, minutes=30)).notes  # mid: latest 3 h + 30 min margin
    assert _pre(expired) == [("mid", "upstream.up.section.nh3n", Change.RESOLVED)]
    assert "arrival window has passed" in expired[0].message_en
    assert _pre(_send(ev, "up", 2.5, 4 * 60)) == []  # same source episode: not raised again
    assert _pre(ev.tick(T0 + timedelta(hours=7, minutes=30)).notes) == [
        ("down", "upstream.up.section.nh3n", Change.RESOLVED)
    ]
    _send(ev, "up", 0.3, 8 * 60)  # the source resolves and fires anew: a new pre-warning
    assert len(_pre(_send(ev, "up", 1.5, 9 * 60))) == 2


def test_a_tributary_prewarns_through_the_confluence(tmp_path: Path) -> None:
    ev = _evaluator(tmp_path, SECTION, {**UPSTREAM, "reaches": 1})
    assert _pre(_send(ev, "trib", 1.5, 0)) == [("mid", "upstream.trib.section.nh3n", Change.FIRING)]


def test_a_rising_trend_prewarns_from_its_predicted_crossing(tmp_path: Path) -> None:
    trend = {"name": "trend", "kind": "trend", "parameters": ["nh3n"], "min_samples": 4}
    ev = _evaluator(tmp_path, trend, {**UPSTREAM, "sources": ["trend"], "reaches": 1})
    notes: list[Notification] = []
    for i, v in enumerate([0.2, 0.3, 0.4, 0.5]):
        notes += _send(ev, "up", v, 60 * i)
    (pre,) = [n for n in notes if n.rule == "upstream"]
    crossing = T0 + timedelta(hours=3 + 5)  # 0.1 mg/L an hour from 0.5 at 03:00 to 1.0
    assert pre.expected == crossing + timedelta(hours=2)
    assert "呈上升趋势" in pre.message_zh
    assert "NH3-N is rising" in pre.message_en


def test_prewarnings_survive_a_restart(tmp_path: Path) -> None:
    ev = _evaluator(tmp_path)
    state = State(tmp_path / "state.sqlite3")
    out = ev.process(message(1, T0, station="up", nh3n=1.5), T0)
    state.commit(out.batch)
    again = _evaluator(tmp_path)
    again.restore(state.instances(), state.series())
    assert _pre(again.tick(T0 + timedelta(hours=3, minutes=30)).notes) == [
        ("mid", "upstream.up.section.nh3n", Change.RESOLVED)
    ]


def test_sources_must_be_section_target_or_trend_rules(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match=r"rules\[1\].sources\[0\]: 'nope' is not a section"):
        _config(tmp_path, SECTION, {**UPSTREAM, "sources": ["nope"]})
    with pytest.raises(ValidationError, match="fires and resolves with its source"):
        _config(tmp_path, SECTION, {**UPSTREAM, "for": "5m"})


def test_rivers_must_be_the_registrys(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match=r"rules\[1\].rivers: \['海'\] not among the registry's"):
        _config(tmp_path, SECTION, {**UPSTREAM, "rivers": ["江", "海"]})


def test_a_topic_segment_too_long_for_the_wire_is_refused(tmp_path: Path) -> None:
    source = {**SECTION, "name": "s" * 64}
    upstream = {**UPSTREAM, "name": "u" * 64, "sources": ["s" * 64]}
    with pytest.raises(ValidationError, match=r"rules\[1\]: its warnings' topic segment"):
        _config(tmp_path, source, upstream)
