"""The InfluxDB read options the report commands share (``report ranking``, ``report stats``)."""

from __future__ import annotations

from typing import Annotated

import typer

InfluxUrl = Annotated[str, typer.Option(help="InfluxDB URL (v1 /query API)")]
Database = Annotated[str, typer.Option(help="InfluxQL database")]
Token = Annotated[
    str, typer.Option(help="2.x/3.x read token", envvar="STATIONPIPE_INFLUX_READ_TOKEN", show_default=False)
]
Username = Annotated[str, typer.Option(help="1.x user")]
Password = Annotated[
    str, typer.Option(help="1.x password", envvar="STATIONPIPE_INFLUX_PASSWORD", show_default=False)
]
