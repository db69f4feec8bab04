"""Static checks of deploy/: pinned images, provisioning that matches the generated dashboards, a broker
without anonymous access, shell scripts that parse, systemd units that systemd itself accepts."""

from __future__ import annotations

import re
import shutil
import subprocess
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


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed")
def test_systemd_units_verify(tmp_path: Path) -> None:
    stub = tmp_path / "stationpipe"
    stub.write_text("#!/bin/sh\n")
    stub.chmod(0o755)
    names = {"stationpipe-edge@.service": "stationpipe-edge@zj-a-01.service"}
    units = []
    for unit in sorted((DEPLOY / "systemd").glob("*.service")):
        text = unit.read_text(encoding="utf-8").replace("/opt/stationpipe/bin/stationpipe", str(stub))
        target = tmp_path / names.get(unit.name, unit.name)
        target.write_text(text, encoding="utf-8")
        units.append(str(target))
    assert len(units) == 3
    done = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", *units],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "stationpipe" not in done.stderr, done.stderr
