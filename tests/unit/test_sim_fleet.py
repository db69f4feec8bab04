"""Fleet mode's plan and files, and the sim config's validation."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from stationpipe.cli import check_file
from stationpipe.kernel.catalogue import Kind, parameter
from stationpipe.kernel.config import load
from stationpipe.kernel.errors import ConfigError
from stationpipe.kernel.registermap import load_profile
from stationpipe.kernel.registry import Registry, WaterClass
from stationpipe.simulators.config import SimConfig
from stationpipe.simulators.fleetfiles import EdgeSettings, write_fleet
from stationpipe.simulators.fleetgen import plan
from stationpipe.simulators.model import StationModel
from stationpipe.simulators.zhejiang import BOUNDS, CITIES, RIVERS

ROOT = Path(__file__).resolve().parents[2]


def test_a_500_station_fleet_is_plausible_zhejiang() -> None:
    stations = plan(500)
    infos = [s.info for s in stations]
    assert len({i.id for i in infos}) == 500
    kinds = Counter(i.kind for i in infos)
    assert kinds[Kind.AIR] == 166
    assert kinds[Kind.WATER] == 334
    assert {i.city for i in infos} == set(CITIES)
    assert {i.river for i in infos if i.kind is Kind.WATER} == set(RIVERS)
    (lat_lo, lat_hi), (lon_lo, lon_hi) = BOUNDS
    assert all(lat_lo < i.lat < lat_hi and lon_lo < i.lon < lon_hi for i in infos)
    assert all(i.target_class and i.water_body and i.section for i in infos if i.kind is Kind.WATER)
    assert len({s.port for s in stations}) == 500


def test_every_fleet_station_measures_ten_parameters() -> None:
    for station in plan(30):
        params = [
            p.parameter
            for _, profile, _ in station.devices()
            for p in load_profile(profile).points
        ]
        assert len(params) == len(set(params)) == 10, (station.info.id, params)
        kinds = {parameter(code).kind for code in params}
        want = {Kind.AIR, Kind.METEO} if station.info.kind is Kind.AIR else {Kind.WATER}
        assert kinds == want, station.info.id
        assert len({unit for *_, unit in station.devices()}) == len(station.devices())  # one unit id each


def test_chlorophyll_a_rises_from_a_few_to_tens_of_ug_per_litre() -> None:
    day = datetime(2025, 7, 1, 4, tzinfo=UTC)  # local noon
    means = [
        sum(
            StationModel.typical(c, seed).value("chla", day + timedelta(hours=h))
            for h in range(24)
            for seed in (1, 2)
        )
        / 48
        for c in WaterClass
    ]
    assert means == sorted(means)
    assert 1 < means[0] < 5  # class I
    assert 20 < means[-1] < 60  # 劣Ⅴ


def test_the_same_seed_gives_the_same_fleet() -> None:
    assert plan(50, seed=3) == plan(50, seed=3)
    assert plan(50, seed=3) != plan(50, seed=4)


def test_written_files_validate_and_agree(tmp_path: Path) -> None:
    stations = plan(30)
    sim_path = write_fleet(stations, tmp_path, EdgeSettings(mqtt_port=11883, interval=5), control_port=18710)
    registry = load(tmp_path / "registry.toml", Registry)
    sim = load(sim_path, SimConfig)
    assert [s.id for s in registry.stations] == [s.info.id for s in stations]
    assert {d.station for d in sim.devices} == {s.info.id for s in stations}
    edges = sorted((tmp_path / "edge").glob("*.toml"))
    assert len(edges) == 30
    for path in edges:
        edge = check_file(path)
        assert getattr(edge, "kind", None) == "edge"
    assert sim.control is not None
    assert sim.control.port == 18710
    assert {s.name for s in sim.scenarios} >= {"nh3n-event", "analyser-fault"}


def _sim(tmp_path: Path, text: str) -> SimConfig:
    path = tmp_path / "sim.toml"
    path.write_text('kind = "sim"\n' + text)
    return load(path, SimConfig)


DEV = 'profile = "p.toml"\nstation = "s"\n'
TWO = f'[[devices]]\nname = "a"\n{DEV}port = 1\n[[devices]]\nname = "b"\n{DEV}port = 1\n'
ONE = f'[[devices]]\nname = "a"\n{DEV}port = 1\n'


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (f'[[devices]]\nname = "a"\n{DEV}transport = "serial"\n', "needs line"),
        (f'[[devices]]\nname = "a"\n{DEV}', "needs port"),
        (f'[[devices]]\nname = "a"\n{DEV}transport = "serial"\nline = "x"\n', "not in \\[\\[lines\\]\\]"),
        (f'[[devices]]\nname = "a"\n{DEV}port = 1\n[[devices]]\nname = "b"\n{DEV}port = 1\n', "unit ids"),
        (TWO + 'unit = 2\ntransport = "rtu-tcp"\n', "served as both"),
        (ONE + '[[scenarios]]\nname = "x"\nkind = "fault"\ndevices = ["b"]\n', "unknown"),
        (ONE + '[[scenarios]]\nname = "x"\nkind = "nope"\n', "kind"),
    ],
)
def test_bad_sim_configs_name_the_problem(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        _sim(tmp_path, text)


def test_the_example_config_is_valid() -> None:
    sim = load(ROOT / "deploy" / "config" / "sim.example.toml", SimConfig)
    assert {d.transport for d in sim.devices} == {"tcp", "rtu-tcp", "serial"}
    assert {s.kind for s in sim.scenarios} == {
        "pollution",
        "flatline",
        "drift",
        "fault",
        "maintenance",
        "calibration",
        "silent",
        "exception",
        "slow",
        "garbage",
    }
