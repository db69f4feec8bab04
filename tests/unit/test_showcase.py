"""The demo's pure parts: compressing and cutting the story, warning courses, the real-time AQI's units."""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import TypeAdapter

from stationpipe.kernel.config import load
from stationpipe.kernel.reading import Reading
from stationpipe.kernel.registry import WaterClass
from stationpipe.rules.config import RulesConfig
from stationpipe.rules.kinds.section import SectionKind
from stationpipe.rules.rule_models import FlagsRule, SectionRule
from stationpipe.simulators.board import Board
from stationpipe.simulators.config import SimConfig
from stationpipe.simulators.model import StationModel
from stationpipe.simulators.scenarios import Scenario
from stationpipe.testbed.pipeline import registry_toml, sim_toml
from stationpipe.testbed.pipeline import rules_toml as pipeline_rules_toml
from stationpipe.testbed.showcase.alerts import groups, sequence
from stationpipe.testbed.showcase.feeds import Latest, Seen
from stationpipe.testbed.showcase.fleet import EVENT_STATION, fleet, rules_toml
from stationpipe.testbed.showcase.indices import realtime_aqi
from stationpipe.testbed.showcase.timeline import FULL, MIN_SCALE, Timeline, scale_for, story


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
        (6, 10),  # only the start; the NH3-N approach at exactly 6 s would have no time left: cut
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


def _demo_rules(tmp_path: Path) -> RulesConfig:
    """The rules and registry the demo runs with (the minimal story), loaded as the pipeline writes them."""
    plot = story(MIN_SCALE)
    registry, rules_file = tmp_path / "registry.toml", tmp_path / "rules.toml"
    registry.write_text(registry_toml(fleet()))
    rules_file.write_text(
        pipeline_rules_toml(1883, registry, tmp_path / "state.sqlite3", rules_toml(plot.flag_persist), None)
    )
    return load(rules_file, RulesConfig)


def test_story_and_rules_load_as_the_pipeline_writes_them(tmp_path: Path) -> None:
    stations = fleet()
    sim_file = tmp_path / "sim.toml"
    sim_file.write_text(sim_toml(stations, story(MIN_SCALE).scenarios, control_port=1))
    sim = load(sim_file, SimConfig)
    assert {s.name for s in sim.scenarios} == {"nh3n-approach", "nh3n-event", "sonde-fault", "haze"}
    rules = _demo_rules(tmp_path)
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


def _nh3n_course(scale: float, phase: float) -> list[Reading]:
    """NH3-N at the event station, sampled once a second from ``phase`` on, as the simulator computes it
    with the story's scenarios started at their instants."""
    plot = story(scale)
    scenarios = tomllib.loads(plot.scenarios)["scenarios"]
    parsed = TypeAdapter(tuple[Scenario, ...]).validate_python(scenarios)
    t0 = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)
    board = Board.of(parsed)
    starts = {
        s.action[1]: t0 + timedelta(seconds=s.at) for s in plot.steps if s.action and s.action[0] == "start"
    }
    model = StationModel.typical(WaterClass.II, seed=12)  # the event station's water (class II, target III)
    out = []
    for i in range(int(plot.length)):
        at = t0 + timedelta(seconds=i + phase)
        for name in ("nh3n-approach", "nh3n-event"):
            if starts[name] <= at and name not in board.active:
                board.start(name, starts[name])
        value = board.effects(f"{EVENT_STATION}-nutrients", at).value(model, "nh3n", at)
        out.append(Reading(EVENT_STATION, "nh3n", value, "mg/L", at))
    return out


def _bands(rules: RulesConfig, readings: list[Reading]) -> list[str]:
    """The demo's section rule's view of each sample: "blue" (level 1), "exceeds" (2 and up) or "-"."""
    section = SectionKind(next(r for r in rules.rules if isinstance(r, SectionRule)))
    info = rules.load_registry().get(EVENT_STATION)
    series: dict[str, object] = {}
    levels = [outcome.level if (outcome := section.evaluate(info, r, series)) else 0 for r in readings]
    return ["exceeds" if level >= 2 else "blue" if level == 1 else "-" for level in levels]


@pytest.mark.parametrize("phase", [0.0, 0.25, 0.5, 0.75])
def test_nh3n_story_dwells_in_the_blue_band_before_and_after_the_event(phase: float, tmp_path: Path) -> None:
    """At the shortest story the approach band lasts several one-second samples on both sides of the
    exceedance, whatever the sampling phase: the course blue -> yellow -> ... -> blue does not hang on one
    sample landing in a second-long window."""
    bands = _bands(_demo_rules(tmp_path), _nh3n_course(MIN_SCALE, phase))
    first, last = bands.index("exceeds"), len(bands) - 1 - bands[::-1].index("exceeds")
    before = bands[:first]
    after = bands[last + 1 :]
    assert before[-3:] == ["blue"] * 3, before
    assert after[:3] == ["blue"] * 3, after
    assert bands[-1] == "-"  # and it is gone by the end
