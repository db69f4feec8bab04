"""Configuration: a wrong key or type stops with the file, the key path and the reason."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from stationpipe.cli import app, check_file
from stationpipe.edge.config import EdgeConfig
from stationpipe.kernel.config import load
from stationpipe.kernel.errors import ConfigError
from stationpipe.kernel.registry import Registry, WaterClass

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "deploy" / "config").glob("*.toml")) + sorted(
    (ROOT / "kernel/stationpipe/kernel/profiles").glob("*.toml")
)

EDGE = """
kind = "edge"
station = "s1"
state_dir = "state"
[mqtt]
client_id = "edge-s1"
[[devices]]
name = "sonde"
profile = "{profile}"
interval = 10
[devices.transport]
host = "127.0.0.1"
port = 5020
"""


def _edge(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "edge.toml"
    path.write_text(text.replace("{profile}", "water_five"))
    return path


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_shipped_examples_are_valid(path: Path) -> None:
    check_file(path)


def test_valid_edge_config_loads_frozen_with_resolved_paths(tmp_path: Path) -> None:
    cfg = load(_edge(tmp_path, EDGE), EdgeConfig)
    assert cfg.state_dir == tmp_path / "state"
    assert cfg.devices[0].register_map.points[0].parameter == "temp"
    with pytest.raises(ValueError, match="frozen"):
        cfg.station = "other"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("change", "path", "reason"),
    [
        (("interval = 10", 'interval = "often"'), "devices[0].interval", "valid number"),
        (("interval = 10", "interval = -1"), "devices[0].interval", "greater than 0"),
        (("interval = 10", "intervall = 10"), "devices[0].intervall", "unknown key"),
        (("port = 5020", "port = 70000"), "devices[0].transport.port", "less than or equal to 65535"),
        (('station = "s1"', 'station = "bad id!"'), "station", "pattern"),
        (('client_id = "edge-s1"', ""), "mqtt.client_id", "required key is missing"),
        (('name = "sonde"', 'name = "sonde"\ncolour = "red"'), "devices[0].colour", "unknown key"),
    ],
)
def test_errors_name_file_key_path_and_reason(
    tmp_path: Path, change: tuple[str, str], path: str, reason: str
) -> None:
    file = _edge(tmp_path, EDGE.replace(*change))
    with pytest.raises(ConfigError) as caught:
        load(file, EdgeConfig)
    err = caught.value
    assert (err.file, err.path) == (str(file), path)
    assert reason in err.reason
    assert str(err).startswith(f"{file}: {path}: ")


def test_toml_syntax_error_names_line(tmp_path: Path) -> None:
    file = _edge(tmp_path, EDGE.replace('kind = "edge"', 'kind = "edge"\nbroken = = 1'))
    with pytest.raises(ConfigError, match=r"not valid TOML.*line 3"):
        load(file, EdgeConfig)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load(tmp_path / "nope.toml", EdgeConfig)


def test_bad_profile_behind_an_edge_config_is_reported(tmp_path: Path) -> None:
    bad = tmp_path / "p.toml"
    bad.write_text(
        'kind = "profile"\nname = "x"\n[[points]]\nparameter = "nh4"\naddress = 0\nunit = "mg/L"\n'
        'type = "UINT33"\n'
    )
    file = tmp_path / "edge.toml"
    file.write_text(EDGE.replace("{profile}", str(bad)))
    with pytest.raises(ConfigError) as caught:
        check_file(file)
    assert caught.value.path == "devices[0].profile"
    assert "points[0].parameter" in str(caught.value)
    assert "points[0].type" in str(caught.value)


def test_secrets_come_from_the_environment_and_never_show(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SP_TEST_PW", "hunter2")
    cfg = load(
        _edge(
            tmp_path,
            EDGE.replace('client_id = "edge-s1"', 'client_id = "edge-s1"\npassword_env = "SP_TEST_PW"'),
        ),
        EdgeConfig,
    )
    password = cfg.mqtt.password()
    assert password is not None
    assert password.get_secret_value() == "hunter2"
    assert "hunter2" not in repr(cfg)
    monkeypatch.delenv("SP_TEST_PW")
    with pytest.raises(ConfigError, match="SP_TEST_PW is not set"):
        load(
            _edge(
                tmp_path,
                EDGE.replace('client_id = "edge-s1"', 'client_id = "edge-s1"\npassword_env = "SP_TEST_PW"'),
            ),
            EdgeConfig,
        )


def test_registry_rules(tmp_path: Path) -> None:
    file = tmp_path / "r.toml"
    file.write_text(
        'kind = "registry"\n[[stations]]\nid = "a"\nname = "A"\nkind = "water"\nlat = 30\nlon = 120\n'
    )
    with pytest.raises(ConfigError, match=r"stations\[0\]: a water station needs target_class"):
        load(file, Registry)
    row = 'id = "a"\nname = "A"\nkind = "air"\nlat = 30\nlon = 120\n'
    file.write_text(f'kind = "registry"\n[[stations]]\n{row}[[stations]]\n{row}')
    with pytest.raises(ConfigError, match="appears twice"):
        load(file, Registry)


@pytest.mark.parametrize(
    ("text", "cls"),
    [("III", WaterClass.III), ("Ⅳ", WaterClass.IV), (2, WaterClass.II), ("劣Ⅴ", WaterClass.WORSE_THAN_V)],
)
def test_water_class_parse(text: str | int, cls: WaterClass) -> None:
    assert WaterClass.parse(text) is cls


def test_check_command_reports_each_file(tmp_path: Path) -> None:
    bad = _edge(tmp_path, EDGE.replace("interval = 10", "interval = 0"))
    result = CliRunner().invoke(app, ["check", str(EXAMPLES[0]), str(bad)])
    assert result.exit_code == 1
    assert f"{bad}: devices[0].interval" in result.output
    ok = CliRunner().invoke(app, ["check", *map(str, EXAMPLES)])
    assert ok.exit_code == 0, ok.output


def test_service_refuses_a_bad_config_with_exit_2(tmp_path: Path) -> None:
    bad = _edge(tmp_path, EDGE.replace("port = 5020", 'port = "x"'))
    result = CliRunner().invoke(app, ["edge", "--config", str(bad)])
    assert result.exit_code == 2
    assert "devices[0].transport.port" in result.output
