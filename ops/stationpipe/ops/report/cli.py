"""``stationpipe report --day YYYY-MM-DD --out report.html``: the daily report (日报) of one Beijing day."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from stationpipe.kernel.audit import AuditError
from stationpipe.ops.report.data import BEIJING, DayOptions, collect
from stationpipe.ops.report.influx import InfluxSource, ReportError
from stationpipe.ops.report.ranking_cli import ranking
from stationpipe.ops.report.render import render
from stationpipe.ops.report.stats_cli import stats
from stationpipe.standards.air_stats import RULES

err = Console(stderr=True, highlight=False, soft_wrap=True)
report_app = typer.Typer(help="Daily report (日报) as one self-contained HTML file.")


def _parse_day(text: str | None) -> date:
    if text is None:  # yesterday in Beijing: what a morning cron job wants
        return datetime.now(BEIJING).date() - timedelta(days=1)
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a date YYYY-MM-DD") from None


@report_app.callback(invoke_without_command=True)
def report(  # noqa: PLR0917 - one option per setting
    ctx: typer.Context,
    day: Annotated[str | None, typer.Option(help="Beijing-time day YYYY-MM-DD (default: yesterday)")] = None,
    out: Annotated[Path, typer.Option(help="HTML file to write")] = Path("report.html"),
    air_rules: Annotated[
        str, typer.Option(help="HJ 663 edition of the audited daily AQI: 2013 or 2026")
    ] = "2026",
    sample_minutes: Annotated[
        int, typer.Option(min=1, max=60, help="policy: minutes one air reading stands for (60: hourly data)")
    ] = 60,
    influx_url: Annotated[str, typer.Option(help="InfluxDB URL (v1 /query API)")] = "http://127.0.0.1:8086",
    database: Annotated[
        str, typer.Option(help="InfluxQL database (2.x: the DBRP-mapped name)")
    ] = "stationpipe",
    token: Annotated[
        str,
        typer.Option(
            help="2.x/3.x read token (env STATIONPIPE_INFLUX_READ_TOKEN)",
            envvar="STATIONPIPE_INFLUX_READ_TOKEN",
            show_default=False,
        ),
    ] = "",
    username: Annotated[str, typer.Option(help="1.x user")] = "",
    password: Annotated[
        str,
        typer.Option(
            help="1.x password (env STATIONPIPE_INFLUX_PASSWORD)",
            envvar="STATIONPIPE_INFLUX_PASSWORD",
            show_default=False,
        ),
    ] = "",
) -> None:
    """Write the daily report from audited data: section classes vs targets, exceedances, AQI, warnings."""
    if ctx.invoked_subcommand is not None:
        return  # `report ranking …`: the subcommand does the work
    the_day = _parse_day(day)
    if air_rules not in RULES:
        raise typer.BadParameter(f"{air_rules!r}: choose one of {', '.join(RULES)}", param_hint="--air-rules")
    options = DayOptions(RULES[air_rules], sample_minutes)
    source = InfluxSource(influx_url.rstrip("/"), database, token, username, password)
    try:
        page = render(collect(source, the_day, options))
        out.write_text(page, encoding="utf-8")
    except (ReportError, AuditError, OSError) as exc:
        err.print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(1) from None
    err.print(f"[green]wrote[/] {out} ({the_day.isoformat()}, {len(page) // 1024} KiB)")


report_app.command("ranking", help="Public quality ranking (环境质量公开排序): cities and sections.")(ranking)
report_app.command("stats", help="Official statistics (官方统计) of a month: audited beside raw.")(stats)
