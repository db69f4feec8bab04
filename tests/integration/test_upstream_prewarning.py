"""Upstream -> downstream pre-warnings through the real rules engine and Mosquitto: a simulated pollution
wave travels down a three-section river (the simulator's ``wave`` scenario, its travel times scaled to
seconds) and every downstream section is pre-warned before the wave reaches it; pre-warnings resolve when
the upstream warning resolves, and when their arrival window has passed (across an engine restart)."""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path
from typing import Any

import aiomqtt
import pytest
from pydantic import TypeAdapter

from stationpipe.kernel.messages import AlertState, WarningEvent
from stationpipe.kernel.reading import utc_now
from stationpipe.kernel.registry import WaterClass
from stationpipe.rules.config import RulesConfig
from stationpipe.simulators.board import Board
from stationpipe.simulators.model import StationModel
from stationpipe.simulators.scenarios import Scenario
from stationpipe.testbed.services import Services, free_port
from tests.integration.rules_helpers import engine, listening, publish, wait_for
from tests.unit.river_helpers import RIVER_REGISTRY

pytestmark = pytest.mark.integration
#: A fast river: 0.002-0.004 h (7.2-14.4 s) per reach, configuration like any river's travel times.
FAST = RIVER_REGISTRY.replace("travel_hours = [[2, 3], 4]", "travel_hours = [[0.002, 0.004], [0.002, 0.004]]")
SECTION = {"name": "section", "kind": "section", "parameters": ["nh3n"]}
UPSTREAM = {"name": "upstream", "kind": "upstream", "sources": ["section"], "margin": "1s"}
MODEL = StationModel.typical(WaterClass.II, 3)
#: The wave reaches mid 0.003 h (10.8 s) and down 0.006 h (21.6 s) after it starts at up.
WAVE: dict[str, Any] = {
    "name": "wave",
    "kind": "wave",
    "parameter": "nh3n",
    "multiple": 3.0,
    "rise": 2,
    "hold": 4,
    "decay": 2,
    "stops": [
        {"devices": ["up"], "after_hours": 0},
        {"devices": ["mid"], "after_hours": 0.003},
        {"devices": ["down"], "after_hours": 0.006},
    ],
}


def _config(services: Services, tmp: Path, registry: str) -> RulesConfig:
    (tmp / "registry.toml").write_text(registry, encoding="utf-8")
    return RulesConfig.model_validate(
        {
            "group": f"rules{free_port()}",
            "registry": str(tmp / "registry.toml"),
            "state": str(tmp / "state.sqlite3"),
            "mqtt": {"port": services.mosquitto.port, "client_id": f"rules-{tmp.name[-20:]}"},
            "evaluation": {"tick": "0.2s"},
            "rules": [SECTION, UPSTREAM],
        }
    )


async def _sensors(client: aiomqtt.Client, board: Board, seconds: float) -> None:
    """Every 0.5 s, each section's NH3-N as the simulator shows it, for ``seconds``."""
    seq = itertools.count()
    for _ in range(int(seconds / 0.5)):
        now = utc_now()
        for station in ("up", "mid", "down"):
            value = board.effects(station, now).value(MODEL, "nh3n", now)
            await publish(client, next(seq), round(value, 3), now, station)
        await asyncio.sleep(0.5)


def _firing(warnings: list[WarningEvent], station: str, rule: str) -> int:
    """Index of the first firing ``rule`` warning at ``station`` (its arrival order)."""
    return next(
        i
        for i, w in enumerate(warnings)
        if w.station == station and w.rule == rule and w.state is AlertState.FIRING
    )


def _has(warnings: list[WarningEvent], station: str, rule: str, state: AlertState) -> bool:
    return any(w.station == station and w.rule == rule and w.state is state for w in warnings)


async def test_a_travelling_wave_is_prewarned_downstream_before_it_arrives(
    services: Services, tmp_path: Path
) -> None:
    wave: Scenario = TypeAdapter(Scenario).validate_python(WAVE)
    board = Board.of((wave,))
    cfg = _config(services, tmp_path, FAST)
    from_up = "upstream.up.section.nh3n"
    async with listening(services) as (found, client), engine(cfg):
        board.start("wave")
        await _sensors(client, board, 32.0)
        await wait_for(lambda: _has(found.warnings, "down", from_up, AlertState.RESOLVED), "resolution")
    got = found.warnings
    own_down = _firing(got, "down", "section.nh3n")
    assert _firing(got, "down", from_up) < own_down
    assert _firing(got, "mid", from_up) < _firing(got, "mid", "section.nh3n")
    assert _firing(got, "down", "upstream.mid.section.nh3n") < own_down
    pre = got[_firing(got, "down", from_up)]
    assert pre.level == 2
    assert "上游断面 up断面 氨氮 NH3-N 超标，预计" in pre.message
    assert "upstream section up exceeds NH3-N, expected to arrive" in pre.message
    assert "2 section(s) downstream, 0.004–0.008 h travel" in pre.message
    resolved = next(
        w for w in got if w.station == "down" and w.rule == from_up and w.state is AlertState.RESOLVED
    )
    assert "the upstream warning resolved" in resolved.message
    assert _has(got, "down", "section.nh3n", AlertState.FIRING)


async def test_a_prewarning_resolves_when_its_window_has_passed_across_a_restart(
    services: Services, tmp_path: Path
) -> None:
    cfg = _config(services, tmp_path, FAST)
    from_up = "upstream.up.section.nh3n"
    async with listening(services) as (found, client):
        async with engine(cfg):
            await publish(client, 1, 2.0, utc_now(), "up")  # up exceeds, and stays so
            await wait_for(
                lambda: _has(found.warnings, "mid", from_up, AlertState.FIRING), "pre-warning at mid"
            )
        async with engine(cfg):  # a restart: the pre-warnings and their windows are durable state
            await wait_for(
                lambda: _has(found.warnings, "mid", from_up, AlertState.RESOLVED),
                "mid: window passed",
                within=30,
            )
            await wait_for(
                lambda: _has(found.warnings, "down", from_up, AlertState.RESOLVED),
                "down: window passed",
                within=30,
            )
    resolved = [w for w in found.warnings if w.rule == from_up and w.state is AlertState.RESOLVED]
    assert sorted(w.station for w in resolved) == ["down", "mid"]
    assert all("the arrival window has passed" in w.message for w in resolved)
    assert not _has(found.warnings, "up", "section.nh3n", AlertState.RESOLVED)  # the source still fires
