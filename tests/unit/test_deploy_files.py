"""Static checks of deploy/: pinned images, provisioning that matches the generated dashboards, a broker
without anonymous access, shell scripts that parse, systemd units that systemd itself accepts."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from stationpipe.ops.grafana.panels import DATASOURCE
from stationpipe.ops.grafana.push import FOLDER_UID

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
COMPOSE = (DEPLOY / "compose.yaml").read_text(encoding="utf-8")


def test_every_image_is_pinned() -> None:
    images = re.findall(r"^\s+image:\s*(\S+)", COMPOSE, flags=re.MULTILINE)
    assert len(images) >= 5
    for image in images:
        _, _, tag = image.partition(":")
        assert tag, f"{image} has no tag"
        assert tag != "latest", image
        assert re.fullmatch(r"\d+\.\d+\.\d+", tag), f"{image}: pin a full version"


def test_compose_has_the_whole_stack() -> None:
    for service in (
        "mosquitto",
        "influxdb",
        "grafana",
        "collector",
        "rules",
        "fleet",
        "fleet-init",
        "telegraf",
    ):
        assert re.search(rf"^  {service}:$", COMPOSE, flags=re.MULTILINE), service
    assert "init-dbrp.sh:/docker-entrypoint-initdb.d/" in COMPOSE
    assert "./grafana/dashboards:/var/lib/grafana/dashboards/stationpipe:ro" in COMPOSE


def test_provisioning_matches_the_dashboards() -> None:
    ds = (DEPLOY / "grafana/provisioning/datasources/influxdb.yaml").read_text(encoding="utf-8")
    assert f"uid: {DATASOURCE['uid']}" in ds
    assert "version: InfluxQL" in ds
    providers = (DEPLOY / "grafana/provisioning/dashboards/stationpipe.yaml").read_text(encoding="utf-8")
    assert "path: /var/lib/grafana/dashboards/stationpipe" in providers
    assert f"folderUid: {FOLDER_UID}" in providers


def test_broker_refuses_anonymous_clients() -> None:
    conf = (DEPLOY / "mosquitto/mosquitto.conf").read_text(encoding="utf-8")
    assert "allow_anonymous false" in conf
    assert "acl_file" in conf
    assert "password_file" in conf


@pytest.mark.parametrize("script", ["systemd/install-edge.sh", "stack/fleet.sh", "influxdb/init-dbrp.sh"])
def test_shell_scripts_parse(script: str) -> None:
    path = DEPLOY / script
    assert path.stat().st_mode & 0o111, f"{script} is not executable"
    subprocess.run(["sh", "-n", str(path)], check=True, timeout=10)


#: Where deploy/systemd/install-edge.sh puts the virtual environment the units run from.
PREFIX = "/opt/stationpipe/"
#: A template unit is verified through one instance of it.
INSTANCES = {"stationpipe-edge@.service": "stationpipe-edge@zj-a-01.service"}


def _units(tmp_path: Path) -> list[Path]:
    """The units as installed, but running this test's virtual environment instead of /opt/stationpipe:
    the same ``bin/stationpipe`` console script the installer makes, so systemd finds a real executable."""
    venv = Path(sys.prefix).as_posix() + "/"
    units = []
    for unit in sorted((DEPLOY / "systemd").glob("*.service")):
        target = tmp_path / INSTANCES.get(unit.name, unit.name)
        target.write_text(unit.read_text(encoding="utf-8").replace(PREFIX, venv), encoding="utf-8")
        units.append(target)
    assert len(units) == 3
    assert (Path(sys.prefix) / "bin/stationpipe").is_file()
    return units


def test_systemd_units_verify(tmp_path: Path) -> None:
    """``systemd-analyze verify`` (scripts/test installs Debian's systemd for it) accepts every unit."""
    units = _units(tmp_path)
    done = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", *map(str, units)],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "stationpipe" not in done.stderr, done.stderr


def test_systemd_commands_exist(tmp_path: Path) -> None:
    """Every Exec line names a subcommand and options the ``stationpipe`` command has (``--help`` after
    them: the command line is parsed, nothing is started)."""
    lines = [
        (unit.name, line.split("=", 1)[1])
        for unit in _units(tmp_path)
        for line in unit.read_text(encoding="utf-8").splitlines()
        if line.startswith(("ExecStart=", "ExecStartPre="))
    ]
    assert len(lines) == 6
    # one run per subcommand and options: the file arguments differ between units, not how they parse
    shapes = {tuple(a for a in shlex.split(c) if not a.startswith("/etc/")): (n, c) for n, c in lines}
    assert len(shapes) == 4
    for name, command in shapes.values():
        argv = shlex.split(command.replace("%i", "zj-a-01"))
        done = subprocess.run([*argv, "--help"], check=False, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, f"{name}: {command}\n{done.stderr}"
