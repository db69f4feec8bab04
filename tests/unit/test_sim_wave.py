"""A pollution wave down a river: each stop sees the pollution event after its travel time (scaled)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from stationpipe.kernel.config import load
from stationpipe.kernel.registry import Registry, WaterClass
from stationpipe.simulators.board import Board
from stationpipe.simulators.config import SimConfig
from stationpipe.simulators.control import route
from stationpipe.simulators.fleetfiles import EdgeSettings, write_fleet
from stationpipe.simulators.fleetgen import plan
from stationpipe.simulators.model import StationModel
from stationpipe.simulators.scenarios import CLASS_III, Scenario, Wave

T0 = datetime(2025, 7, 1, 2, 0, tzinfo=UTC)
MODEL = StationModel.typical(WaterClass.II, 3)
_ADAPTER: TypeAdapter[Scenario] = TypeAdapter(Scenario)
STOPS = [
    {"devices": ["up-n"], "after_hours": 0},
    {"devices": ["mid-n"], "after_hours": 2},
    {"devices": ["down-n"], "after_hours": 6},
]


def wave(**kw: Any) -> Scenario:
    spec = {"name": "w", "kind": "wave", "parameter": "nh3n", "rise": 60, "hold": 60, "decay": 60}
    return _ADAPTER.validate_python({**spec, "stops": STOPS, "time_factor": 360, **kw})


def nh3n(board: Board, device: str, seconds: float) -> float:
    at = T0 + timedelta(seconds=seconds)
    return board.effects(device, at).value(MODEL, "nh3n", at)


def test_the_wave_reaches_each_stop_after_its_scaled_travel_time() -> None:
    w = wave()
    assert isinstance(w, Wave)
    board = Board.of((w,))
    board.start("w", T0)
    peak = 4 * CLASS_III["nh3n"]
    normal = MODEL.value("nh3n", T0 + timedelta(seconds=90))
    # 2 river hours / 360 = 20 s; 6 h = 60 s; the event peaks 60-120 s after it arrives
    assert nh3n(board, "up-n", 90) == pytest.approx(peak)
    assert nh3n(board, "mid-n", 10) == pytest.approx(MODEL.value("nh3n", T0 + timedelta(seconds=10)))
    assert nh3n(board, "mid-n", 110) == pytest.approx(peak)
    assert nh3n(board, "down-n", 90) < peak
    assert nh3n(board, "down-n", 50) == pytest.approx(MODEL.value("nh3n", T0 + timedelta(seconds=50)))
    assert nh3n(board, "down-n", 150) == pytest.approx(peak)
    assert nh3n(board, "other", 90) == pytest.approx(normal)
    assert w.lasts() == 60 + 180


def test_the_wave_ends_after_the_last_stop() -> None:
    board = Board.of((wave(),))
    board.start("w", T0)
    assert board.effects("down-n", T0 + timedelta(seconds=239)).changes
    assert board.effects("down-n", T0 + timedelta(seconds=240)).is_normal()


def test_started_and_listed_through_the_control_channel() -> None:
    board = Board.of((wave(),))
    assert route(board, "POST", "/scenarios/w/start") == (200, {"name": "w", "active": True})
    (row,) = route(board, "GET", "/scenarios")[1]
    assert row["devices"] == ["up-n", "mid-n", "down-n"]
    assert row["active"] is True


def test_a_wave_names_its_devices_in_stops() -> None:
    with pytest.raises(ValidationError, match="names its devices in stops"):
        wave(devices=["up-n"])
    with pytest.raises(ValidationError):
        wave(stops=[])


def test_the_fleet_sends_a_wave_down_its_longest_river(tmp_path: Path) -> None:
    stations = plan(30)
    sim_path = write_fleet(stations, tmp_path, EdgeSettings())
    registry = load(tmp_path / "registry.toml", Registry)
    (w,) = [s for s in load(sim_path, SimConfig).scenarios if s.name == "nh3n-wave"]
    assert isinstance(w, Wave)
    (river,) = [r for r in registry.rivers if f"NH3-N down {r.name}" == w.description]
    assert [stop.devices for stop in w.stops] == [(f"{sid}-nutrients",) for sid in river.sections]
    assert [stop.after_hours for stop in w.stops] == [2.5 * i for i in range(len(river.sections))]
    assert all(reach == (2.0, 3.0) for r in registry.rivers for reach in r.travel_hours)
