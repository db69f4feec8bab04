"""The composition root: the ``stationpipe`` command, mounted from one table of the services' CLIs.

Each service owns its verbs and its configuration models in its own ``cli`` module; a new service or tool
is one row of :data:`MOUNTS`. Nothing below ``stationpipe.kernel`` knows the services; only this package
does, and nothing imports it.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Annotated

import typer
from pydantic import BaseModel

from stationpipe.kernel.ascii_template import Template
from stationpipe.kernel.cli import err, load_checked
from stationpipe.kernel.config import read_toml
from stationpipe.kernel.errors import ConfigError
from stationpipe.kernel.registermap import Profile
from stationpipe.kernel.registry import Registry
from stationpipe.kernel.version import package_version


@dataclass(frozen=True, slots=True)
class Mount:
    """One service's command line: ``module.attr`` is its ``typer.Typer``; ``name`` mounts it as a
    group (``stationpipe rules …``), ``None`` puts its verbs at the top (``stationpipe edge``), and then
    ``verbs`` lists them, so that ``stationpipe edge`` imports the edge's module alone.
    ``kinds`` names the module attribute mapping config ``kind`` to its model, if it reads any."""

    module: str
    attr: str = "app"
    name: str | None = None
    help: str | None = None
    kinds: str | None = "KINDS"
    verbs: tuple[str, ...] = ()

    def words(self) -> tuple[str, ...]:
        """The first words of a command line this row answers."""
        return (self.name,) if self.name is not None else self.verbs


MOUNTS: tuple[Mount, ...] = (
    Mount("stationpipe.simulators.cli", verbs=("sim",)),
    Mount("stationpipe.edge.cli", verbs=("edge",)),
    Mount("stationpipe.collector.cli", verbs=("collector", "hj212-server")),
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
        "stationpipe.kernel.profiles_cli",
        "profiles_app",
        "profiles",
        "Instrument profiles (register maps) shipped with stationpipe: list them, show one.",
        kinds=None,
    ),
    Mount(
        "stationpipe.hj212.cli",
        "hj212_app",
        "hj212",
        "HJ 212 frames (2017, 2025): decode stdin to JSON, or encode back.",
        kinds=None,
    ),
)

#: Files of the kernel's own kinds, read by several services.
KERNEL_KINDS: Mapping[str, type[BaseModel]] = {
    "registry": Registry,
    "profile": Profile,
    "ascii_template": Template,
}


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


def show_version() -> None:
    """Print the installed version."""
    typer.echo(f"stationpipe {package_version()}")


def build(rows: tuple[Mount, ...] = MOUNTS) -> typer.Typer:
    """The ``stationpipe`` command with ``check``, ``version`` and the verbs of ``rows``."""
    root = typer.Typer(
        help="stationpipe: environmental monitoring stations -> MQTT -> InfluxDB, with rules.",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
    )
    root.command()(check)
    root.command("version")(show_version)
    for mount in rows:
        sub = getattr(importlib.import_module(mount.module), mount.attr)
        root.add_typer(sub, name=mount.name, help=mount.help)
    return root


@cache
def _whole() -> typer.Typer:
    return build(MOUNTS)


def __getattr__(name: str) -> typer.Typer:
    """``stationpipe.cli.app``: the whole command, every row mounted (built on first use)."""
    if name == "app":
        return _whole()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def rows_for(argv: list[str]) -> tuple[Mount, ...]:
    """The rows a command line needs: the one its first word names, or all (``--help``, ``check``, a typo:
    the answer lists every verb)."""
    word = next((a for a in argv if not a.startswith("-")), None)
    return tuple(m for m in MOUNTS if word in m.words()) or MOUNTS


def main() -> None:
    """Console-script entry point: mounts only the service the command line names (a field PC's
    ``stationpipe edge`` imports neither the rules engine nor the collector)."""
    build(rows_for(sys.argv[1:]))()
