"""``stationpipe`` command line: one verb per service (each an ``async def run(config)``) and the tools."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import BaseModel
from rich.console import Console

from station.config import load, read_toml
from station.errors import ConfigError
from station.runtime import run_service, setup_logging

app = typer.Typer(
    help="stationpipe: environmental monitoring stations -> MQTT -> InfluxDB, with rules.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def _mount_tools() -> None:
    from rules.evaluate_cli import evaluate_app  # noqa: PLC0415 - keeps `stationpipe edge` light

    app.add_typer(
        evaluate_app, name="evaluate", help="Evaluate values by hand: GB 3838 water class, HJ 633 AQI."
    )


ConfigOpt = Annotated[Path, typer.Option("--config", "-c", help="TOML configuration file")]
LogOpt = Annotated[str, typer.Option("--log-level", help="DEBUG, INFO, WARNING, ERROR")]


def _models() -> dict[str, type[BaseModel]]:
    from collector.config import CollectorConfig  # noqa: PLC0415 - each service loads only its own code
    from edge.config import EdgeConfig  # noqa: PLC0415
    from simulators.config import SimConfig  # noqa: PLC0415
    from station.registermap import Profile  # noqa: PLC0415
    from station.registry import Registry  # noqa: PLC0415

    return {
        "edge": EdgeConfig,
        "collector": CollectorConfig,
        "sim": SimConfig,
        "registry": Registry,
        "profile": Profile,
    }


def check_file(path: Path) -> BaseModel:
    """Validate one file of any kind (its top-level ``kind`` key says which); ``ConfigError`` otherwise."""
    data = read_toml(path)
    models = _models()
    kind = data.get("kind")
    if kind not in models:
        raise ConfigError(str(path), "kind", f"must be one of {', '.join(sorted(models))} (got {kind!r})")
    model = load(path, models[kind])
    if kind == "edge":
        for i, dev in enumerate(getattr(model, "devices", ())):
            try:
                _ = dev.register_map
            except ConfigError as exc:
                raise ConfigError(str(path), f"devices[{i}].profile", str(exc)) from None
    return model


def _load_or_exit(path: Path, kind: str) -> Any:
    try:
        model = check_file(path)
    except ConfigError as exc:
        err.print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(2) from None
    if getattr(model, "kind", None) != kind:
        err.print(f'[bold red]error:[/] {path}: kind: this command needs kind = "{kind}"')
        raise typer.Exit(2)
    return model


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


@app.command()
def sim(
    config: ConfigOpt,
    journal: Annotated[Path | None, typer.Option(help="append every served read as JSON")] = None,
    log_level: LogOpt = "INFO",
) -> None:
    """Serve simulated instruments (Modbus TCP)."""
    from simulators.fleet import run  # noqa: PLC0415
    from simulators.modbus_server import jsonl_journal  # noqa: PLC0415

    cfg = _load_or_exit(config, "sim")
    setup_logging(log_level)
    raise typer.Exit(run_service("sim", run(cfg, jsonl_journal(str(journal)) if journal else None)))


@app.command()
def edge(config: ConfigOpt, log_level: LogOpt = "INFO") -> None:
    """Run the edge agent of one station: poll, flag, publish."""
    from edge.agent import run  # noqa: PLC0415

    cfg = _load_or_exit(config, "edge")
    setup_logging(log_level)
    raise typer.Exit(run_service("edge", run(cfg)))


@app.command()
def collector(config: ConfigOpt, log_level: LogOpt = "INFO") -> None:
    """Run a collector: MQTT -> InfluxDB."""
    from collector.service import run  # noqa: PLC0415

    cfg = _load_or_exit(config, "collector")
    setup_logging(log_level)
    raise typer.Exit(run_service("collector", run(cfg)))


def main() -> None:
    """Console-script entry point."""
    _mount_tools()
    app()
