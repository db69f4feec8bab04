"""The end-to-end benchmark's pure parts: config editing, poll and loss accounting (no timing asserted)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.e2e_probe import Seen, percentile
from bench.e2e_report import Figures, Window, count_polls, count_stored
from bench.e2e_stack import edit_tables, points_per_poll, rules_toml
from stationpipe.kernel.config import load
from stationpipe.rules.config import RulesConfig
from stationpipe.simulators.fleetfiles import registry_toml
from stationpipe.simulators.fleetgen import plan

TEXT = """kind = "rules"
group = "rules"   # comment
[metrics]
port = 9103
[mqtt]
port = 1883
[delivery.alertmanager]
url = "http://x"
resend_every = "1m"
[[rules]]
name = "a"
"""


def test_edit_tables_sets_keys_per_table_and_drops_tables() -> None:
    text, done = edit_tables(TEXT, {("mqtt", "port"): "1", ("", "group"): '"g"'}, {"delivery.alertmanager"})
    assert done == {("mqtt", "port"), ("", "group")}
    assert 'group = "g"' in text
    assert "port = 9103" in text  # the other table's port is left alone
    assert "port = 1\n" in text
    assert "alertmanager" not in text
    assert "resend_every" not in text
    assert 'name = "a"' in text


def test_rules_toml_from_the_example_is_a_valid_config(tmp_path: Path) -> None:
    registry = tmp_path / "registry.toml"
    registry.write_text(registry_toml(plan(6, 1, 30000)), encoding="utf-8")
    path = tmp_path / "rules.toml"
    path.write_text(rules_toml(41883, registry, tmp_path / "state.sqlite3"), encoding="utf-8")
    cfg = load(path, RulesConfig)
    assert cfg.mqtt.port == 41883
    assert cfg.delivery.alertmanager is None
    assert cfg.delivery.webhook is None
    assert len(cfg.rules) >= 9


def test_fleet_water_and_air_points_per_poll() -> None:
    water, _, air = plan(3, 1, 30000)
    assert points_per_poll(water) == {"sonde": 5, "nutrients": 4, "algae": 1}
    assert points_per_poll(air) == {"air": 6, "weather": 4}
    assert {sum(points_per_poll(st).values()) for st in plan(30, 1, 30000)} == {10}


def _seen(station: str, seq: int, ts: float, arrived: float, flag: str = "N") -> Seen:
    ns = int(ts * 1e9)
    return Seen(station, "sonde", seq, arrived, (("ph", ns, flag), ("do", ns, flag)))


def test_polls_are_counted_once_per_device_and_tick_in_the_window() -> None:
    fig = Figures(stations=2, devices=2, packs=1, window=Window(100.0, 120.0, 10.0), values_per_poll=4)
    fig.polls_demanded = 4
    seen = [
        _seen("a", 0, 95.1, 95.2),  # before the window
        _seen("a", 1, 100.1, 100.3),
        _seen("a", 1, 100.1, 101.0),  # a redelivered copy: counted once, first arrival
        _seen("a", 2, 110.1, 110.2, flag="B"),
        _seen("b", 0, 100.2, 100.4),
        _seen("b", 1, 120.1, 120.2),  # after the window
    ]
    count_polls(fig, seen)
    assert fig.polls_at_broker == 3
    assert fig.readings_at_broker == 6
    assert fig.flags == {"N": 4, "B": 2}
    assert fig.delivered_msgs == 5
    assert percentile(fig.broker_latency, 1.0) == pytest.approx(0.2)
    fig.stored = 6
    count_stored(fig, seen, frozenset({"a"}), {("a", "ph", int(100.1e9)): (100.2, 100.4)})
    assert fig.store_latency == [pytest.approx(0.2)]
    assert fig.sample_unstored == 3
    problems = " ".join(fig.problems)
    assert "1 polls missing" in problems
    assert "flagged B" in problems
    assert "not stored" not in problems
