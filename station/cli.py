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
    from ops.deploy.acl import deploy_app  # noqa: PLC0415
    from ops.grafana.push import grafana_app  # noqa: PLC0415
    from ops.report.cli import report_app  # noqa: PLC0415
    from rules.cli import rules_app  # noqa: PLC0415
    from rules.evaluate_cli import evaluate_app  # noqa: PLC0415 - keeps `stationpipe edge` light
    from station.hj212_cli import hj212_app  # noqa: PLC0415

    app.add_typer(evaluate_app, name="evaluate", help="Evaluate values by hand: GB 3838 class, HJ 633 AQI.")
    app.add_typer(rules_app, name="rules", help="The rules engine (--config FILE) and 'rules test'.")
    app.add_typer(grafana_app, name="grafana", help="Provision Grafana: datasource, folder, dashboards.")
    app.add_typer(deploy_app, name="deploy", help="Deployment helpers: Mosquitto passwords and ACLs.")
    app.add_typer(report_app, name="report", help="Daily report (日报) as one self-contained HTML file.")
    app.add_typer(hj212_app, name="hj212", help="HJ 212-2017 frames: decode stdin to JSON, or encode back.")


ConfigOpt = Annotated[Path, typer.Option("--config", "-c", help="TOML configuration file")]
LogOpt = Annotated[str, typer.Option("--log-level", help="DEBUG, INFO, WARNING, ERROR")]


def _models() -> dict[str, type[BaseModel]]:
    from collector.config import CollectorConfig  # noqa: PLC0415 - each service loads only its own code
    from collector.hj212_config import Hj212ServerConfig  # noqa: PLC0415
    from edge.config import EdgeConfig  # noqa: PLC0415
    from rules.config import RulesConfig  # noqa: PLC0415
    from simulators.config import SimConfig  # noqa: PLC0415
    from station.registermap import Profile  # noqa: PLC0415
    from station.registry import Registry  # noqa: PLC0415

    return {
        "edge": EdgeConfig,
        "collector": CollectorConfig,
        "sim": SimConfig,
        "registry": Registry,
        "profile": Profile,
        "hj212-server": Hj212ServerConfig,
        "rules": RulesConfig,
    }


def check_file(path: Path) -> BaseModel:
    """Validate one file of any kind (its top-level ``kind`` key says which); ``ConfigError`` otherwise."""
    data = read_toml(path)
    models = _models()
    kind = data.get("kind")
    if not isinstance(kind, str) or kind not in models:
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
def sim(  # noqa: PLR0917 - one option per knob of fleet mode
    config: Annotated[Path | None, typer.Option("--config", "-c", help='kind = "sim" TOML file')] = None,
    journal: Annotated[Path | None, typer.Option(help="append every served read as JSON")] = None,
    fleet: Annotated[int | None, typer.Option(min=1, max=5000, help="generate and serve N stations")] = None,
    out: Annotated[Path | None, typer.Option(help="fleet: folder for registry, sim and edge configs")] = None,
    base_port: Annotated[int, typer.Option(help="fleet: station i is served on BASE_PORT + i")] = 20000,
    seed: Annotated[int, typer.Option(help="fleet: same seed, same fleet")] = 1,
    control_port: Annotated[int | None, typer.Option(help="fleet: HTTP control channel port")] = None,
    mqtt_host: Annotated[str, typer.Option(help="fleet: broker host in the edge configs")] = "127.0.0.1",
    mqtt_port: Annotated[int, typer.Option(help="fleet: broker port in the edge configs")] = 1883,
    interval: Annotated[float, typer.Option(help="fleet: poll interval (s) in the edge configs")] = 60.0,
    write_only: Annotated[  # noqa: FBT002 - a typer flag
        bool, typer.Option("--write-only", help="fleet: write the files, do not serve")
    ] = False,
    log_level: LogOpt = "INFO",
) -> None:
    """Serve simulated instruments (Modbus TCP, RTU over TCP, RTU and ASCII on ptys); or a whole fleet."""
    from simulators.fleet import run  # noqa: PLC0415
    from simulators.fleetfiles import EdgeSettings, write_fleet  # noqa: PLC0415
    from simulators.fleetgen import plan  # noqa: PLC0415
    from simulators.modbus_server import jsonl_journal  # noqa: PLC0415

    if (config is None) == (fleet is None) or (fleet is not None and out is None):
        err.print("[bold red]error:[/] give either --config FILE or --fleet N --out DIR")
        raise typer.Exit(2)
    if fleet is not None and out is not None:
        stations = plan(fleet, seed, base_port)
        config = write_fleet(stations, out, EdgeSettings(mqtt_host, mqtt_port, interval), control_port)
        err.print(
            f"[green]wrote[/] {out}/registry.toml, {out}/sim.toml and {fleet} edge configs in {out}/edge"
        )
        if write_only:
            raise typer.Exit(0)
    assert config is not None
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


@app.command("hj212-server")
def hj212_server(config: ConfigOpt, log_level: LogOpt = "INFO") -> None:
    """Receive HJ 212-2017 uploads from data loggers (TCP) and publish them as readings."""
    from collector.hj212_server import run  # noqa: PLC0415

    cfg = _load_or_exit(config, "hj212-server")
    setup_logging(log_level)
    raise typer.Exit(run_service("hj212-server", run(cfg)))


def main() -> None:
    """Console-script entry point."""
    _mount_tools()
    app()
