"""``stationpipe edge``: the edge agent's verb, mounted by the composition root (``stationpipe.cli``)."""

from __future__ import annotations

import typer

from stationpipe.edge.config import EdgeConfig
from stationpipe.kernel.cli import ConfigOpt, LogOpt, load_or_exit, serve

app = typer.Typer()
#: The configuration files this service reads, by their ``kind``.
KINDS = {"edge": EdgeConfig}


@app.command()
def edge(config: ConfigOpt, log_level: LogOpt = "INFO") -> None:
    """Run the edge agent of one station: poll, flag, publish."""
    from stationpipe.edge.agent import run  # noqa: PLC0415 - `check` and `--help` need no pymodbus

    raise serve("edge", run(load_or_exit(config, "edge", EdgeConfig)), log_level)
