"""The composition root: the ``stationpipe`` command, mounted from one table of the services' CLIs.

Each service owns its verbs and its configuration models in its own ``cli`` module; a new service or tool
is one row of :data:`MOUNTS`. Nothing below ``stationpipe.kernel`` knows the services; only this package
does, and nothing imports it.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Annotated

import typer
from pydantic import BaseModel

from stationpipe.kernel.cli import err, load_checked
from stationpipe.kernel.config import read_toml
from stationpipe.kernel.errors import ConfigError
from stationpipe.kernel.registermap import Profile
from stationpipe.kernel.registry import Registry
from stationpipe.kernel.version import package_version


@dataclass(frozen=True, slots=True)
class Mount:
    """One service's command line: ``module.attr`` is its ``typer.Typer``; ``name`` mounts it as a
    group (``stationpipe rules …``), ``None`` puts its verbs at the top (``stationpipe edge``).
    ``kinds`` names the module attribute mapping config ``kind`` to its model, if it reads any."""

    module: str
    attr: str = "app"
    name: str | None = None
    help: str | None = None
    kinds: str | None = "KINDS"


MOUNTS: tuple[Mount, ...] = (
    Mount("stationpipe.simulators.cli"),
    Mount("stationpipe.edge.cli"),
    Mount("stationpipe.collector.cli"),
    Mount("stationpipe.rules.cli", "rules_app", "rules", "The rules engine (--config FILE) and 'rules test'"),
    Mount(
        "stationpipe.rules.evaluate_cli",
        "evaluate_app",
        "evaluate",
        "Evaluate values by hand: GB 3838 class, HJ 633 AQI.",
        kinds=None,
    ),
    Mount(
        "stationpipe.ops.grafana.push",
        "grafana_app",
        "grafana",
        "Provision Grafana: datasource, folder, dashboards.",
        kinds=None,
    ),
    Mount(
        "stationpipe.ops.deploy.acl",
        "deploy_app",
        "deploy",
        "Deployment helpers: Mosquitto passwords and ACLs.",
        kinds=None,
    ),
    Mount(
        "stationpipe.ops.report.cli",
        "report_app",
        "report",
        "Daily report (日报) as one self-contained HTML file.",
        kinds=None,
    ),
    Mount(
        "stationpipe.hj212.cli",
        "hj212_app",
        "hj212",
        "HJ 212-2017 frames: decode stdin to JSON, or encode back.",
        kinds=None,
    ),
)

#: Files of the kernel's own kinds, read by several services.
KERNEL_KINDS: Mapping[str, type[BaseModel]] = {"registry": Registry, "profile": Profile}


@cache
def models() -> dict[str, type[BaseModel]]:
    """Every configuration ``kind`` any service reads, with its model."""
    out = dict(KERNEL_KINDS)
    for mount in MOUNTS:
        if mount.kinds is not None:
            out.update(getattr(importlib.import_module(mount.module), mount.kinds))
    return out


def check_file(path: Path) -> BaseModel:
    """Validate one file of any kind (its top-level ``kind`` key says which); ``ConfigError`` otherwise."""
    data = read_toml(path)
    kinds = models()
    kind = data.get("kind")
    if not isinstance(kind, str) or kind not in kinds:
        raise ConfigError(str(path), "kind", f"must be one of {', '.join(sorted(kinds))} (got {kind!r})")
    return load_checked(path, kinds[kind])


app = typer.Typer(
    help="stationpipe: environmental monitoring stations -> MQTT -> InfluxDB, with rules.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.command()
def check(
    files: Annotated[list[Path], typer.Argument(help="configuration, registry or profile files")],
) -> None:
    """Validate configuration files without running anything."""
    failed = 0
    for path in files:
        try:
            model = check_file(path)
        except ConfigError as exc:
            failed += 1
            err.print(f"[bold red]error:[/] {exc}")
            continue
        err.print(f"[green]ok[/] {path} ({getattr(model, 'kind', '?')})")
    raise typer.Exit(1 if failed else 0)


@app.command("version")
def show_version() -> None:
    """Print the installed version."""
    typer.echo(f"stationpipe {package_version()}")


def mount_all(root: typer.Typer) -> None:
    """Mount every row of :data:`MOUNTS` on ``root``."""
    for mount in MOUNTS:
        sub = getattr(importlib.import_module(mount.module), mount.attr)
        root.add_typer(sub, name=mount.name, help=mount.help)


mount_all(app)


def main() -> None:
    """Console-script entry point."""
    app()
