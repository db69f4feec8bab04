"""The demo's pure parts: compressing and cutting the story, warning courses, the real-time AQI's units."""

from __future__ import annotations

from pathlib import Path

import pytest

from rules.config import RulesConfig
from rules.rule_models import FlagsRule
from simulators.config import SimConfig
from station.config import load
from testbed.pipeline import registry_toml, sim_toml
from testbed.pipeline import rules_toml as pipeline_rules_toml
from testbed.showcase.alerts import groups, sequence
from testbed.showcase.feeds import Latest, Seen
from testbed.showcase.fleet import fleet, rules_toml
from testbed.showcase.indices import realtime_aqi
from testbed.showcase.timeline import FULL, MIN_SCALE, Timeline, scale_for, story


@pytest.mark.parametrize(
    ("duration", "scale"),
    [(0, 1.0), (FULL, 1.0), (2 * FULL, 1.0), (FULL / 2, 0.5), (6, MIN_SCALE), (56, MIN_SCALE)],
)
def test_scale_for_duration(duration: float, scale: float) -> None:
    assert scale_for(duration) == pytest.approx(scale)


@pytest.mark.parametrize(
    ("stop_at", "cut"),
    [
        (0, 0),  # until Ctrl-C: nothing is cut in advance
        (FULL * MIN_SCALE, 0),  # the whole compressed story fits: the end marker sits at the end
        (6, 8),  # only the start; the NH3-N event at exactly 6 s would have no time left: cut
    ],
)
def test_timeline_cuts_what_does_not_fit(stop_at: float, cut: int) -> None:
    timeline = Timeline(story(scale_for(stop_at)), "http://127.0.0.1:9", stop_at=stop_at)
    assert [e.state for e in timeline.entries].count("cut") == cut
    assert timeline.entries[0].state == "pending"


def test_markers_happen_without_the_control_channel() -> None:
    timeline = Timeline(story(), "http://127.0.0.1:9")
    done = timeline.advance(0.0)  # the first step is a marker: no request is sent
    assert [e.state for e in done] == ["done"]
    timeline.finish("Ctrl-C")
    assert {(e.state, e.error) for e in timeline.entries[1:]} == {("cut", "Ctrl-C")}


def test_story_and_rules_load_as_the_pipeline_writes_them(tmp_path: Path) -> None:
    stations = fleet()
    plot = story(MIN_SCALE)
    sim_file, registry = tmp_path / "sim.toml", tmp_path / "registry.toml"
    sim_file.write_text(sim_toml(stations, plot.scenarios, control_port=1))
    registry.write_text(registry_toml(stations))
    rules_file = tmp_path / "rules.toml"
    rules_file.write_text(
        pipeline_rules_toml(1883, registry, tmp_path / "state.sqlite3", rules_toml(plot.flag_persist), None)
    )
    sim = load(sim_file, SimConfig)
    assert {s.name for s in sim.scenarios} == {"nh3n-event", "sonde-fault", "haze"}
    rules = load(rules_file, RulesConfig)
    flags = next(r for r in rules.rules if r.name == "instrument")
    assert isinstance(flags, FlagsRule)
    assert flags.persist_for.total_seconds() == pytest.approx(10 * MIN_SCALE)
    assert len({st.port for st in stations}) == len(stations)


def _seen(level: int, state: str, instance: str = "section.nh3n") -> Seen:
    return Seen("hz-qb", instance, level, state, "中 / en", 0.0)


@pytest.mark.parametrize(
    ("states", "course"),
    [
        ([(1, "firing"), (2, "firing"), (3, "firing"), (1, "firing"), (1, "resolved")],
         ["blue", "yellow", "orange", "blue", "resolved"]),
        ([(1, "firing"), (1, "firing"), (1, "resolved")], ["blue", "resolved"]),
        ([(4, "firing")], ["red"]),
    ],
)  # fmt: skip
def test_sequence_names_each_change_once(states: list[tuple[int, str]], course: list[str]) -> None:
    assert sequence([_seen(level, state) for level, state in states]) == course


def test_groups_collect_one_rule_at_one_station() -> None:
    seen = [_seen(1, "firing", f"instrument.{p}") for p in ("do", "ph")] + [_seen(2, "firing")]
    rows = groups(seen)
    assert [(g.rule, g.parameters) for g in rows] == [("instrument", ["DO", "pH"]), ("section", ["NH3-N"])]
    assert rows[1].level == 2


def test_the_realtime_aqi_indexes_stored_concentrations() -> None:
    # the edge stores gases in µg/m³ (CO mg/m³): CO 480 ppb arrives as 0.55 mg/m³
    clean = {p: Latest(v, "N", 0.0) for p, v in {"so2": 5.2, "no2": 18.8, "co": 0.55, "o3": 78.5}.items()}
    clean |= {"pm10": Latest(40.0, "N", 0.0), "pm25": Latest(20.0, "N", 0.0)}
    result = realtime_aqi(clean)
    assert result is not None
    assert result.level.number == 1
    assert realtime_aqi({"pm25": Latest(None, "D", 0.0)}) is None
