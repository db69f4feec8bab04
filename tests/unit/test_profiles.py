"""Shipped instrument profiles: addressed by name, each saying where its map comes from; a path still works;
``stationpipe profiles`` lists them and shows one."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from stationpipe.cli import build, rows_for
from stationpipe.edge.config import EdgeConfig
from stationpipe.kernel.cli import load_checked
from stationpipe.kernel.errors import ConfigError
from stationpipe.kernel.profiles_cli import profiles_app
from stationpipe.kernel.registermap import (
    Profile,
    is_profile_name,
    load_profile,
    profile_names,
    shipped_profile,
    shipped_profiles,
)
from stationpipe.simulators.config import SimConfig

ROOT = Path(__file__).resolve().parents[2]
FOLDER = ROOT / "kernel/stationpipe/kernel/profiles"
REAL = ("insitu-aquatroll-400", "teledyne-t101", "teledyne-t300", "teledyne-t400")
runner = CliRunner()


def _edge(tmp_path: Path, profile: str) -> Path:
    path = tmp_path / "edge.toml"
    path.write_text(
        'kind = "edge"\nstation = "s1"\nstate_dir = "state"\n'
        '[mqtt]\nhost = "127.0.0.1"\nclient_id = "edge-s1"\n'
        f'[[devices]]\nname = "d"\nprofile = "{profile}"\n'
        f'[devices.transport]\nhost = "127.0.0.1"\nport = 5020\n',
        encoding="utf-8",
    )
    return path


def test_every_shipped_profile_is_named_by_its_file_and_says_where_it_comes_from() -> None:
    assert profile_names() == tuple(sorted(p.stem for p in FOLDER.glob("*.toml")))
    for profile in shipped_profiles():
        assert profile.name in profile_names()
        assert profile.source, profile.name
        assert profile.invented or (profile.model and "http" in profile.source), profile.name


def test_the_invented_profiles_are_marked_and_at_least_three_are_real() -> None:
    invented = {p.name for p in shipped_profiles() if p.invented}
    assert {"water_five", "water_nutrients", "water_sonde_int16", "air_station", "nox_hessen"} <= invented
    real = [p for p in shipped_profiles() if not p.invented]
    assert {p.name for p in real} >= set(REAL)
    assert len({p.model for p in real}) >= 3


@pytest.mark.parametrize(
    ("ref", "name"),
    [("water_five", True), ("teledyne-t400", True), ("p.toml", False), ("./water_five", False),
     ("/etc/x.toml", False), ("profiles/water_five.toml", False)],
)  # fmt: skip
def test_a_name_has_no_slash_and_no_toml_suffix(ref: str, name: bool) -> None:
    assert is_profile_name(ref) is name


def test_a_name_and_its_file_load_the_same_profile() -> None:
    assert load_profile("water_five") == load_profile(FOLDER / "water_five.toml")
    assert load_profile("water_five") is shipped_profile("water_five")  # parsed once


def test_a_real_profile_names_its_source_with_its_model() -> None:
    with pytest.raises(ValueError, match="names its source"):
        Profile.model_validate({"name": "x", "model": "Acme 1", "points": [
            {"parameter": "ph", "address": 0, "unit": "pH"}]})  # fmt: skip


def test_an_edge_config_names_a_shipped_profile(tmp_path: Path) -> None:
    cfg = load_checked(_edge(tmp_path, "teledyne-t400"), EdgeConfig)
    assert cfg.devices[0].profile == "teledyne-t400"
    assert cfg.devices[0].register_map.model.startswith("Teledyne API T400")


def test_a_path_is_still_taken_from_the_config_files_folder(tmp_path: Path) -> None:
    shutil.copy(FOLDER / "water_five.toml", tmp_path / "mine.toml")
    cfg = load_checked(_edge(tmp_path, "mine.toml"), EdgeConfig)
    assert cfg.devices[0].profile == tmp_path / "mine.toml"
    assert cfg.devices[0].register_map.name == "water_five"


def test_an_unknown_name_is_a_config_error_with_the_closest_names(tmp_path: Path) -> None:
    path = _edge(tmp_path, "teledyne-t40")
    with pytest.raises(ConfigError) as caught:
        load_checked(path, EdgeConfig)
    assert caught.value.file == str(path)
    assert caught.value.path == "devices[0].profile"
    assert "no shipped profile is named 'teledyne-t40'" in caught.value.reason
    assert "closest: teledyne-t400" in caught.value.reason


def test_a_simulator_config_names_a_shipped_profile(tmp_path: Path) -> None:
    path = tmp_path / "sim.toml"
    path.write_text(
        'kind = "sim"\n[[devices]]\nname = "o3"\nstation = "s"\nprofile = "teledyne-t400"\nport = 5020\n',
        encoding="utf-8",
    )
    assert load_checked(path, SimConfig).devices[0].profile == "teledyne-t400"
    path.write_text(path.read_text(encoding="utf-8").replace("t400", "t4000"), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"devices\[0\]\.profile.*closest: teledyne-t400"):
        load_checked(path, SimConfig)


def test_the_list_as_json_has_one_line_per_profile() -> None:
    result = runner.invoke(profiles_app, ["--json"])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.output.splitlines()]
    assert [r["name"] for r in rows] == list(profile_names())
    t400 = next(r for r in rows if r["name"] == "teledyne-t400")
    assert t400 == {
        "name": "teledyne-t400", "model": "Teledyne API T400 / 400E", "source": t400["source"],
        "invented": False, "partial": True, "points": 1, "description": t400["description"],
    }  # fmt: skip
    assert "https://" in t400["source"]
    assert next(r for r in rows if r["name"] == "water_five")["invented"] is True


def test_the_list_as_a_table_names_every_profile_and_its_origin() -> None:
    result = runner.invoke(profiles_app, [])
    assert result.exit_code == 0, result.output
    for name in profile_names():
        assert name in result.output
    assert "invented" in result.output
    assert "real, partial" in result.output


def test_show_prints_the_points_and_the_source() -> None:
    result = runner.invoke(profiles_app, ["show", "insitu-aquatroll-400"])
    assert result.exit_code == 0, result.output
    assert "In-Situ Aqua TROLL 400" in result.output
    assert "manualsdir.com" in result.output
    for parameter, address in (("do", "38"), ("temp", "46"), ("ph", "1538"), ("orp", "1554")):
        assert any(parameter in line and address in line for line in result.output.splitlines())


def test_show_as_json_is_the_profile_itself() -> None:
    result = runner.invoke(profiles_app, ["show", "teledyne-t300", "--json"])
    assert result.exit_code == 0, result.output
    assert Profile.model_validate(json.loads(result.output)) == shipped_profile("teledyne-t300")


def test_show_an_unknown_name_fails_with_the_closest_names() -> None:
    result = runner.invoke(profiles_app, ["show", "water_fiv"])
    assert result.exit_code == 2
    assert "closest: water_five" in result.output


def test_the_command_is_mounted_as_stationpipe_profiles() -> None:
    assert [m.module for m in rows_for(["profiles", "--json"])] == ["stationpipe.kernel.profiles_cli"]
    result = runner.invoke(build(rows_for(["profiles"])), ["profiles", "--json"])
    assert result.exit_code == 0, result.output
    assert len(result.output.splitlines()) == len(profile_names())


def test_the_installed_command_lists_the_profiles() -> None:
    argv = [sys.executable, "-m", "stationpipe", "profiles", "--json"]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=True, cwd=ROOT)
    assert [json.loads(line)["name"] for line in done.stdout.splitlines()] == list(profile_names())
