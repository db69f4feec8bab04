"""deploy/compose.yaml as Docker Compose reads it: Debian's ``docker-compose config`` (1.29) loads, validates
and interpolates it exactly as ``up`` would, without a Docker engine. The operator's steps are followed: a
``deploy/.env`` copied from ``deploy/stack/env.example``, in a copy of the checkout (symbolic links to the
real files, so no file of the checkout is written). What the resolved stack points at must then exist in the
repository: the build context and its Dockerfile, every bind-mounted file, and the folders the Dockerfile
copies, which are the folders the wheel is built from (pyproject.toml)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"


@pytest.fixture(scope="module")
def checkout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the checkout by symbolic links, with ``deploy/.env`` as the operator writes it."""
    root = tmp_path_factory.mktemp("checkout")
    for entry in ROOT.iterdir():
        if entry.name not in {"deploy", ".git", ".venv"}:
            (root / entry.name).symlink_to(entry)
    (root / "deploy").mkdir()
    for entry in DEPLOY.iterdir():
        if entry.name != ".env":
            (root / "deploy" / entry.name).symlink_to(entry)
    (root / "deploy" / ".env").write_text((DEPLOY / "stack/env.example").read_text(encoding="utf-8"))
    return root


def compose(checkout: Path, *args: str) -> str:
    """``docker-compose -f deploy/compose.yaml ARGS`` in ``checkout``; fails the test with its message."""
    done = subprocess.run(
        ["docker-compose", "--no-ansi", "-f", "deploy/compose.yaml", *args],
        cwd=checkout,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def resolved(checkout: Path) -> dict[str, Any]:
    """The stack after validation and interpolation."""
    text = compose(checkout, "config")
    assert "${" not in text, "a variable was left unresolved (nested defaults are not supported)"
    data: dict[str, Any] = yaml.safe_load(text)
    return data


def test_compose_config_accepts_the_stack(checkout: Path) -> None:
    services = set(compose(checkout, "config", "--services").split())
    assert services == {
        "fleet-init",
        "mosquitto",
        "influxdb",
        "collector",
        "rules",
        "fleet",
        "telegraf",
        "grafana",
    }


def test_every_secret_must_be_set(checkout: Path, tmp_path: Path) -> None:
    """Without a value for a secret, compose stops with its name rather than start a stack without it."""
    env = (checkout / "deploy/.env").read_text(encoding="utf-8")
    bare = tmp_path / "bare.env"
    bare.write_text(re.sub(r"^GRAFANA_ADMIN_PASSWORD=.*$", "", env, flags=re.MULTILINE), encoding="utf-8")
    done = subprocess.run(
        ["docker-compose", "--no-ansi", "-f", "deploy/compose.yaml", "--env-file", str(bare), "config"],
        cwd=checkout,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode != 0
    assert "GRAFANA_ADMIN_PASSWORD" in done.stderr


def _local(path: str, checkout: Path) -> Path:
    """The repository file behind ``path`` (a path inside the linked copy of the checkout)."""
    return ROOT / Path(path).relative_to(checkout)


def test_bind_mounts_exist_in_the_repository(resolved: dict[str, Any], checkout: Path) -> None:
    binds = [
        volume.split(":", 1)[0]
        for service in resolved["services"].values()
        for volume in service.get("volumes", [])
        if volume.startswith("/")
    ]
    assert len(binds) >= 9
    for source in binds:
        assert _local(source, checkout).exists(), source


def test_the_image_is_built_from_this_repository(resolved: dict[str, Any], checkout: Path) -> None:
    builds = {name: service["build"] for name, service in resolved["services"].items() if "build" in service}
    assert set(builds) == {"fleet-init", "collector", "rules", "fleet"}
    for build in builds.values():
        assert _local(build["context"], checkout) == ROOT
        assert (ROOT / build["dockerfile"]).is_file()
    dockerfile = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    copied = re.findall(r"^COPY (\S+) \1$", dockerfile, flags=re.MULTILINE)
    wheel = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["hatch"]["build"]
    shipped = {path.split("/", 1)[0] for path in wheel["targets"]["wheel"]["only-include"]}
    assert set(copied) == shipped
    for source in re.findall(r"^COPY (.+) \S+$", dockerfile, flags=re.MULTILINE):
        for part in source.split():
            assert (ROOT / part).exists(), part


def test_the_services_accept_what_fleet_init_writes(tmp_path: Path) -> None:
    """``fleet.sh init`` (the ``fleet-init`` service) run into a temporary folder; then ``stationpipe check``
    accepts the collector's and rules engine's configs of the stack, pointed at that folder, and the fleet's
    simulator and edge configs it wrote, and the broker and Telegraf find the files they are given."""
    fleet, auth = tmp_path / "fleet", tmp_path / "auth"
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "FLEET_DIR": str(fleet),
        "AUTH_DIR": str(auth),
        "FLEET_SIZE": "4",
        "STATIONPIPE_INFLUX_TOKEN": "token-of-the-test",
    }
    subprocess.run(["sh", str(DEPLOY / "stack/fleet.sh"), "init"], env=env, check=True, timeout=120)
    configs = []
    for name in ("collector", "rules"):
        text = (DEPLOY / f"stack/{name}.toml").read_text(encoding="utf-8")
        text = text.replace('"/fleet/', f'"{fleet}/').replace('"/auth/', f'"{auth}/')
        (tmp_path / f"{name}.toml").write_text(text, encoding="utf-8")
        configs.append(tmp_path / f"{name}.toml")
    edges = sorted((fleet / "edge").glob("*.toml"))
    assert len(edges) == 4
    assert all(f'password_file = "{auth}/secrets/' in e.read_text(encoding="utf-8") for e in edges)
    done = subprocess.run(
        ["stationpipe", "check", *map(str, [*configs, fleet / "sim.toml", *edges])],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    mosquitto = (DEPLOY / "mosquitto/mosquitto.conf").read_text(encoding="utf-8")
    given = re.findall(r"^(?:password|acl)_file /mosquitto/auth/(\S+)$", mosquitto, flags=re.MULTILINE)
    assert len(given) == 2
    for name in given:
        assert (auth / name).is_file(), name
    assert (auth / "secrets/telegraf.secret").is_file()
