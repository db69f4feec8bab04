"""``stationpipe sim``: simulated instruments, or a whole generated fleet; mounted by ``stationpipe.cli``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from stationpipe.kernel.cli import LogOpt, err, fail, load_or_exit, serve
from stationpipe.simulators.config import SimConfig

app = typer.Typer()
#: The configuration files this service reads, by their ``kind``.
KINDS = {"sim": SimConfig}


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
    """Serve simulated instruments (Modbus TCP, RTU over TCP, RTU and ASCII on ptys) and DTUs; or a fleet."""
    from stationpipe.simulators.fleet import run  # noqa: PLC0415
    from stationpipe.simulators.fleetfiles import EdgeSettings, write_fleet  # noqa: PLC0415
    from stationpipe.simulators.fleetgen import plan  # noqa: PLC0415
    from stationpipe.simulators.modbus_server import jsonl_journal  # noqa: PLC0415

    if (config is None) == (fleet is None) or (fleet is not None and out is None):
        raise fail("give either --config FILE or --fleet N --out DIR")
    if fleet is not None and out is not None:
        stations = plan(fleet, seed, base_port)
        config = write_fleet(stations, out, EdgeSettings(mqtt_host, mqtt_port, interval), control_port)
        err.print(
            f"[green]wrote[/] {out}/registry.toml, {out}/sim.toml and {fleet} edge configs in {out}/edge"
        )
        if write_only:
            raise typer.Exit(0)
    assert config is not None
    cfg = load_or_exit(config, "sim", SimConfig)
    raise serve("sim", run(cfg, jsonl_journal(str(journal)) if journal else None), log_level)
