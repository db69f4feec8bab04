"""``scripts/demo``: simulated stations -> edge agents -> Mosquitto -> collector -> InfluxDB, shown live.

Stops on Ctrl-C or after ``--duration`` seconds, and always stops every process it started.
"""

from __future__ import annotations

import contextlib
import time
from datetime import UTC, datetime
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console
from rich.live import Live
from rich.table import Table

from station.catalogue import CATALOGUE, parameter
from testbed.pipeline import Pipeline, SimStation
from testbed.services import HarnessError, InfluxDB, running_services

STATIONS = [SimStation("zj-qtj-01", "II", 1), SimStation("zj-cx-02", "IV", 2)]
NAMES = {"zj-qtj-01": "zj-qtj-01 钱塘江闸口", "zj-cx-02": "zj-cx-02 苕溪新塘"}
console = Console()


def _key(series: dict[str, Any], order: list[str]) -> tuple[str, int]:
    tags: dict[str, str] = series["tags"]
    return tags["station"], order.index(tags["parameter"])


def latest(influx: InfluxDB) -> tuple[Table, int]:
    """A table of the newest reading per station and parameter, and the number of points stored."""
    table = Table(title="InfluxDB: newest readings (UTC)", title_justify="left")
    for col in ("station", "parameter", "value", "unit", "flag", "read at", "age s"):
        table.add_column(col, justify="right" if col in {"value", "age s"} else "left")
    series = influx.query(
        "SELECT value, flag FROM readings GROUP BY station, parameter ORDER BY time DESC LIMIT 1"
    )
    now = time.time()
    order = list(CATALOGUE)
    for s in sorted(series, key=lambda s: _key(s, order)):
        tags: dict[str, str] = s["tags"]
        ts_ns, value, flag = s["values"][0]
        row = parameter(tags["parameter"])
        at = datetime.fromtimestamp(ts_ns / 1e9, UTC)
        table.add_row(
            NAMES.get(tags["station"], tags["station"]),
            row.label,
            "—" if value is None else f"{value:.3f}",
            row.unit,
            flag,
            at.strftime("%H:%M:%S.%f")[:-3],
            f"{now - ts_ns / 1e9:.1f}",
        )
    count = influx.query("SELECT count(flag) FROM readings")
    total = int(count[0]["values"][0][1]) if count else 0
    return table, total


def main(
    duration: Annotated[float, typer.Option(help="stop after this many seconds (0: until Ctrl-C)")] = 0,
    interval: Annotated[float, typer.Option(help="seconds between polls of each instrument")] = 2.0,
) -> None:
    """Run the simulated pipeline and show the readings arriving in InfluxDB."""
    try:
        with running_services() as svc, Pipeline(svc, STATIONS, interval=interval) as pipe:
            console.print(
                f"[bold]stationpipe demo[/]: mosquitto on 127.0.0.1:{svc.mosquitto.port}, "
                f"InfluxDB at {svc.influx.url} (database {svc.influx.database}); logs in {svc.workdir}"
            )
            console.print(
                f"2 simulated water stations, 2 instruments each, polled every {interval:g} s. Ctrl-C stops."
            )
            _watch(svc.influx, pipe, duration)
            codes = pipe.stop()
            console.print(f"stopped cleanly: exit codes {codes}")
    except HarnessError as exc:
        console.print(f"[bold red]cannot start the demo:[/] {exc}")
        raise typer.Exit(1) from None


def _watch(influx: InfluxDB, pipe: Pipeline, duration: float) -> None:
    start = time.monotonic()
    table, total = Table(), 0
    with (
        contextlib.suppress(KeyboardInterrupt),
        Live(console=console, auto_refresh=False, transient=not console.is_terminal) as live,
    ):
        while duration <= 0 or time.monotonic() - start < duration:
            dead = [name for name, proc in pipe.procs.items() if proc.poll() is not None]
            if dead:
                console.print(f"[red]process exited: {dead}[/]\n{pipe.log(dead[0])[-2000:]}")
                raise typer.Exit(1)
            table, total = latest(influx)
            table.caption = f"{total} points stored after {time.monotonic() - start:.0f} s"
            live.update(table, refresh=True)
            time.sleep(1.0)  # the display's refresh period
    with contextlib.suppress(httpx.HTTPError):  # after Ctrl-C the database may already be gone
        table, total = latest(influx)
    console.print(table)
    console.print(f"[bold green]{total} readings stored in InfluxDB[/]")


if __name__ == "__main__":
    typer.run(main)
