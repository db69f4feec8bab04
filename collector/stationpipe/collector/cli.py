"""``stationpipe collector`` and ``stationpipe hj212-server``, mounted by ``stationpipe.cli``."""

from __future__ import annotations

import typer

from stationpipe.collector.config import CollectorConfig
from stationpipe.collector.hj212_config import Hj212ServerConfig
from stationpipe.kernel.cli import ConfigOpt, LogOpt, load_or_exit, serve
from stationpipe.kernel.config import Model

app = typer.Typer()
#: The configuration files this service reads, by their ``kind``.
KINDS: dict[str, type[Model]] = {"collector": CollectorConfig, "hj212-server": Hj212ServerConfig}


@app.command()
def collector(config: ConfigOpt, log_level: LogOpt = "INFO") -> None:
    """Run a collector: MQTT -> InfluxDB."""
    from stationpipe.collector.service import run  # noqa: PLC0415 - `check` needs no httpx

    raise serve("collector", run(load_or_exit(config, "collector", CollectorConfig)), log_level)


@app.command("hj212-server")
def hj212_server(config: ConfigOpt, log_level: LogOpt = "INFO") -> None:
    """Receive HJ 212 uploads (2017 and 2025) from data loggers (TCP) and publish them as readings."""
    from stationpipe.collector.hj212_server import run  # noqa: PLC0415

    raise serve("hj212-server", run(load_or_exit(config, "hj212-server", Hj212ServerConfig)), log_level)
