"""``stationpipe report ranking --period month [--month YYYY-MM] --format table|json|html [--out FILE]``."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from stationpipe.ops.report.influx import InfluxSource, ReportError
from stationpipe.ops.report.options import Database, InfluxUrl, Password, Token, Username
from stationpipe.ops.report.ranking import Options, rank
from stationpipe.ops.report.ranking_data import beijing_month, collect
from stationpipe.ops.report.ranking_render import as_html, as_json, as_table
from stationpipe.standards.gb3095 import Gb3095Version

err = Console(stderr=True, highlight=False, soft_wrap=True)


class Format(StrEnum):
    """Output formats."""

    TABLE = "table"
    JSON = "json"
    HTML = "html"


class PeriodKind(StrEnum):
    """Ranking periods (a calendar month in Beijing time)."""

    MONTH = "month"


def ranking(  # noqa: PLR0917 - one option per setting
    period: Annotated[PeriodKind, typer.Option(help="ranking period")] = PeriodKind.MONTH,
    month: Annotated[
        str | None, typer.Option(help="Beijing-time month YYYY-MM (default: the last complete month)")
    ] = None,
    fmt: Annotated[Format, typer.Option("--format", help="table, json or html")] = Format.TABLE,
    out: Annotated[Path | None, typer.Option(help="file to write (default: standard output)")] = None,
    sample_minutes: Annotated[
        int, typer.Option(min=1, max=60, help="policy: minutes one air reading stands for (60: hourly data)")
    ] = 1,
    min_days: Annotated[
        int | None, typer.Option(min=1, help="policy: daily values a pollutant needs (default 27, Feb 25)")
    ] = None,
    min_pollutants: Annotated[
        int, typer.Option(min=1, max=6, help="policy: pollutants a day needs to count for good days")
    ] = 6,
    air_limits: Annotated[
        Gb3095Version, typer.Option(help="policy: GB 3095 class II limits of the composite index")
    ] = Gb3095Version.GB3095_2012,
    influx_url: InfluxUrl = "http://127.0.0.1:8086",
    database: Database = "stationpipe",
    token: Token = "",
    username: Username = "",
    password: Password = "",
) -> None:
    """Rank cities and sections by surface water (CWQI, share at Ⅲ or better) and cities by ambient air
    (HJ 663 composite index, share of good days): see docs/ranking.md."""
    assert period is PeriodKind.MONTH  # the only kind so far
    try:
        the_period = beijing_month(month)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--month") from None
    options = Options(sample_minutes, min_days, min_pollutants, air_limits)
    source = InfluxSource(influx_url.rstrip("/"), database, token, username, password)
    try:
        result = rank(collect(source, the_period, sample_minutes), the_period, options)
    except (ReportError, ValueError) as exc:
        err.print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(1) from None
    if fmt is Format.JSON:
        text = json.dumps(as_json(result), ensure_ascii=False, indent=2) + "\n"
    elif fmt is Format.HTML:
        text = as_html(result)
    else:
        text = as_table(result)
    if out is None:
        sys.stdout.write(text)
        return
    try:
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        err.print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(1) from None
    err.print(f"[green]wrote[/] {out} ({the_period.label}, {fmt.value})")
