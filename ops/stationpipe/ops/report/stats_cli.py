"""``stationpipe report stats [--month YYYY-MM] [--json] [--air-rules 2013|2026]``: the official statistics
of a Beijing-time month from audited data (audit marks applied at read time), beside the raw figures."""

from __future__ import annotations

import asyncio
import io
import json
import sys
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from stationpipe.kernel.audit import AuditError, in_force
from stationpipe.kernel.errors import BrokerUnavailableError
from stationpipe.kernel.mqtt import MqttSettings
from stationpipe.ops.report import audited as store
from stationpipe.ops.report.data import stations
from stationpipe.ops.report.influx import InfluxSource, ReportError
from stationpipe.ops.report.options import Database, InfluxUrl, Password, Token, Username
from stationpipe.ops.report.ranking_data import Period, beijing_month
from stationpipe.ops.report.stats import Options, figures, water_codes
from stationpipe.ops.report.stats_publish import publish, record
from stationpipe.standards.air_stats import RULES
from stationpipe.standards.aqi import POLLUTANTS
from stationpipe.standards.gb3838 import EVALUATED
from stationpipe.standards.gb3838_source import SOURCE_LIMITS

#: The parameters the statistics use (the others are not read).
STATISTIC_ITEMS = frozenset(EVALUATED | set(SOURCE_LIMITS) | set(POLLUTANTS))

err = Console(stderr=True, highlight=False, soft_wrap=True)


def collect(
    src: InfluxSource, period: Period, opts: Options, marks_file: Path | None = None
) -> dict[str, Any]:
    """Read the period and compute both variants: ``{"audited": …, "raw": …}`` plus what the audit did."""
    known = stations(src)
    raw = store.readings(src, period.where(), STATISTIC_ITEMS)
    found = store.marks(src, marks_file)
    statuses = store.day_counts(store.days(src), sorted(known), period.start, period.end)
    data = store.audited(raw, found, exclude_exceptional=opts.rules.exclude_exceptional)
    codes = water_codes(raw)
    return {
        "period": {"label": period.label, "start": period.start.isoformat(), "end": period.end.isoformat()},
        "rules": opts.rules.name,
        "note": store.AUDITED_NOTE,
        "audit": {
            "marks_in_force": len(in_force(found)),
            "readings": len(raw),
            "excluded": data.excluded,
            "station_days": statuses,
        },
        "audited": figures(known, data.audited, period, opts, codes),
        "raw": figures(known, data.raw, period, opts, codes),
    }


def _cell(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ",".join(str(v) for v in value) or "—"
    return str(value)


def _pair(audited: Any, raw: Any) -> str:
    a, r = _cell(audited), _cell(raw)
    return a if a == r else f"{a} (raw {r})"


def as_table(result: dict[str, Any], width: int = 160) -> str:
    """Headline, sections, sources and air stations: audited figures, the raw beside where they differ."""
    out = io.StringIO()
    console = Console(file=out, width=width, no_color=True, highlight=False)
    a, r = result["audited"], result["raw"]
    audit = result["audit"]
    console.print(f"官方统计 Official statistics · {result['period']['label']} · {result['rules']}")
    console.print(
        f"{result['note']} · {audit['marks_in_force']} marks in force, "
        f"{audit['excluded']} of {audit['readings']} readings excluded; station-days "
        + ", ".join(f"{k} {v}" for k, v in audit["station_days"].items())
    )
    head = Table("figure", "audited", "raw", title="概况 Headline")
    for key, value in a["headline"].items():
        head.add_row(key, _cell(value), _cell(r["headline"][key]))
    console.print(head)
    sections = Table(
        "section",
        "target",
        "month class",
        "meets",
        "worst",
        "capture %",
        "days that differ",
        title="断面 Sections (monthly class)",
    )
    for sid, s in a["sections"].items():
        raw_s = r["sections"][sid]
        differ = [
            f"{d} {c or '—'} (raw {raw_s['daily'][d] or '—'})"
            for d, c in s["daily"].items()
            if c != raw_s["daily"][d]
        ]
        sections.add_row(
            sid,
            s["target"],
            _pair(s["class"], raw_s["class"]),
            _pair(s["meets_target"], raw_s["meets_target"]),
            _pair(s["worst"], raw_s["worst"]),
            _pair(s["capture"], raw_s["capture"]),
            "; ".join(differ) or "—",
        )
    console.print(sections)
    sources = Table("source", "meets", "over the source limits", title="水源地 Drinking-water sources")
    for sid, s in a["sections"].items():
        if "source" in s:
            raw_s = r["sections"][sid]["source"]
            sources.add_row(
                sid,
                _pair(s["source"]["meets"], raw_s["meets"]),
                _pair(sorted(s["source"]["over"]), sorted(raw_s["over"])),
            )
    console.print(sources)
    air = Table("station", "days counted", "good days", "good %", "capture %", title="空气 Air stations")
    for sid, s in a["air"].items():
        raw_s = r["air"][sid]
        air.add_row(
            sid,
            _pair(s["days_counted"], raw_s["days_counted"]),
            _pair(s["good_days"], raw_s["good_days"]),
            _pair(s["share_good_days"], raw_s["share_good_days"]),
            _pair(s["capture"], raw_s["capture"]),
        )
    console.print(air)
    return out.getvalue()


def stats(  # noqa: PLR0917 - one option per setting
    month: Annotated[
        str | None, typer.Option(help="Beijing-time month YYYY-MM (default: the last complete month)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of the table")] = False,  # noqa: FBT002 - a flag
    air_rules: Annotated[
        str, typer.Option(help="HJ 663 edition of the air evaluation: 2013 or 2026")
    ] = "2026",
    sample_minutes: Annotated[
        int, typer.Option(min=1, max=60, help="policy: minutes one air reading stands for (60: hourly data)")
    ] = 60,
    water_interval_hours: Annotated[
        float, typer.Option(min=0.1, help="policy: hours between expected water values (capture)")
    ] = 4.0,
    min_values: Annotated[int, typer.Option(min=1, help="policy: valid values a water mean needs")] = 1,
    marks_file: Annotated[
        Path | None, typer.Option(help="audit marks from a JSON-lines file instead of InfluxDB")
    ] = None,
    publish_to: Annotated[
        str | None,
        typer.Option(
            "--publish",
            metavar="HOST:PORT",
            help="also publish the headline figures (derived/_province/official_stats) for the dashboards",
        ),
    ] = None,
    mqtt_username: Annotated[str | None, typer.Option(help="broker user for --publish")] = None,
    mqtt_password_env: Annotated[
        str | None, typer.Option(help="environment variable holding the broker password")
    ] = None,
    influx_url: InfluxUrl = "http://127.0.0.1:8086",
    database: Database = "stationpipe",
    token: Token = "",
    username: Username = "",
    password: Password = "",
) -> None:
    """Official statistics of a month from audited data, the raw figures beside (docs/domain.md)."""
    if air_rules not in RULES:
        raise typer.BadParameter(f"{air_rules!r}: choose one of {', '.join(RULES)}", param_hint="--air-rules")
    try:
        period = beijing_month(month)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--month") from None
    opts = Options(RULES[air_rules], sample_minutes, timedelta(hours=water_interval_hours), min_values)
    source = InfluxSource(influx_url.rstrip("/"), database, token, username, password)
    try:
        result = collect(source, period, opts, marks_file)
    except (ReportError, AuditError, OSError) as exc:
        err.print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(1) from None
    if as_json:
        sys.stdout.write(json.dumps(result, ensure_ascii=False, indent=2) + "\n")
    else:
        sys.stdout.write(as_table(result))
    if publish_to is not None:
        host, _, port = publish_to.rpartition(":")
        if not host or not port.isdigit():
            raise typer.BadParameter(f"{publish_to!r} is not HOST:PORT", param_hint="--publish")
        settings = MqttSettings(
            host=host,
            port=int(port),
            client_id="stationpipe-report-stats",
            username=mqtt_username,
            password_env=mqtt_password_env,
        )
        try:
            asyncio.run(publish(settings, record(result, period.utc(period.start))))
        except BrokerUnavailableError as exc:
            err.print(f"[bold red]error:[/] cannot publish to {publish_to}: {exc}")
            raise typer.Exit(1) from None
        err.print(f"[green]published[/] derived/_province/official_stats ({period.label})")
