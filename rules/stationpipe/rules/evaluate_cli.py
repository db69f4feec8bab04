"""``stationpipe evaluate …``: check a water class or an AQI by hand.

``station/cli.py`` mounts :data:`evaluate_app` as ``evaluate``. Without ``--json`` the commands print a table
with Chinese and English names; with ``--json`` one JSON object with the keys documented on each command.
"""

from __future__ import annotations

import json
import math
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from stationpipe.kernel.catalogue import CATALOGUE, Kind
from stationpipe.kernel.registry import WaterBody, WaterClass
from stationpipe.standards import gb3838
from stationpipe.standards.aqi import AqiResult, compute_aqi
from stationpipe.standards.common import Period
from stationpipe.standards.gb3838_section import SectionResult, evaluate_values
from stationpipe.standards.hj633 import AqiStandard, Item

evaluate_app = typer.Typer(
    help="Evaluate values by hand: GB 3838 water class, HJ 633 AQI.", no_args_is_help=True
)

ItemsArg = Annotated[list[str], typer.Argument(help="code=value pairs, e.g. nh3n=1.3", show_default=False)]
JsonOpt = Annotated[bool, typer.Option("--json", help="print one JSON object instead of a table")]


def _split(text: str, kind: Kind) -> tuple[str, float]:
    """``"nh3n=1.3"`` -> ``("nh3n", 1.3)``; ``BadParameter`` naming the pair when it does not fit."""
    code, sep, raw = text.partition("=")
    code = code.strip().lower()
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not sep or not math.isfinite(value):
        raise typer.BadParameter(f"{text!r}: expected code=number")
    base = code.partition(":")[0]
    if base not in CATALOGUE or CATALOGUE[base].kind is not kind:
        raise typer.BadParameter(f"{text!r}: {base!r} is not a {kind} parameter in the catalogue")
    return code, value


def _pairs(items: list[str], kind: Kind) -> dict[str, float]:
    result: dict[str, float] = {}
    for text in items:
        code, value = _split(text, kind)
        if code in result:
            raise typer.BadParameter(f"{code!r} given twice")
        result[code] = value
    return result


def _fmt(multiple: float | None) -> str:
    return "" if multiple is None else f"{multiple:.3g}"


def water_json(result: SectionResult) -> dict[str, object]:
    """The JSON object ``evaluate water --json`` prints."""
    return {
        "class": result.water_class.value,
        "class_name": gb3838.class_name(result.water_class),
        "worst": list(result.worst),
        "exceedance": {i.parameter: i.exceedance for i in result.items if i.exceedance is not None},
        "exceedance_iii": {
            i.parameter: i.exceedance_iii for i in result.items if i.exceedance_iii is not None
        },
        "excluded": list(result.excluded),
    }


def _water_table(result: SectionResult) -> Table:
    target = result.target.label
    table = Table(title=f"GB 3838-2002 · {result.water_body} · 目标 target {target}")
    for header in ("项目", "item", "value", "类别 class", f"超标倍数 vs {target}", "超标倍数 vs Ⅲ", "note"):
        table.add_column(header)
    for item in (*result.items, *result.separate):
        p = CATALOGUE[item.parameter]
        note = "pH 超出 6-9 out of range" if item.ph_out_of_range else ""
        if item.do_shortfall is not None:
            note = f"DO 低于目标 short by {item.do_shortfall:g} mg/L"
        if item in result.separate:
            note = "单独评价 evaluated separately"
        table.add_row(
            p.label,
            p.name_en,
            f"{item.value:g} {p.unit}",
            item.water_class.label,
            _fmt(item.exceedance),
            _fmt(item.exceedance_iii),
            note,
        )
    return table


@evaluate_app.command()
def water(
    items: ItemsArg,
    *,
    target: Annotated[str, typer.Option(help="target class: I, II, III, IV or V")] = "III",
    water_body: Annotated[
        WaterBody, typer.Option(help="river or lake_reservoir (TP column)")
    ] = WaterBody.RIVER,
    as_json: JsonOpt = False,
) -> None:
    """GB 3838-2002 class of a section.

    JSON keys: class, class_name, worst, exceedance, exceedance_iii, excluded.
    """
    try:
        target_class = WaterClass.parse(target)
        result = evaluate_values(_pairs(items, Kind.WATER), target_class, water_body)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    if as_json:
        typer.echo(json.dumps(water_json(result), ensure_ascii=False))
        return
    console = Console()
    console.print(_water_table(result))
    quality_zh, quality_en = gb3838.QUALITY[result.water_class]
    console.print(
        f"水质类别 class: {result.water_class.label} ({quality_zh} {quality_en})  "
        f"{'达标 meets' if result.meets_target else '未达标 misses'} target {result.target.label}"
    )
    console.print(f"最差项目 worst: {', '.join(CATALOGUE[c].label for c in result.worst)}")
    if result.main_pollutants:
        console.print(
            f"主要污染指标 main pollutants: {', '.join(CATALOGUE[c].label for c in result.main_pollutants)}"
        )
    if result.excluded:
        console.print(f"未参与评价 not evaluated: {', '.join(result.excluded)}")


def _air_items(pairs: dict[str, float], period: Period) -> dict[Item, float]:
    """``{"pm25": 80, "o3:8h": 120}`` -> items; a ``:period`` suffix overrides ``--period``."""
    result: dict[Item, float] = {}
    for code, value in pairs.items():
        base, _, own = code.partition(":")
        try:
            item = Item(base, Period(own) if own else period)
        except ValueError as exc:
            raise typer.BadParameter(f"{code!r}: period must be 1h, 8h or 24h") from exc
        if item in result:
            raise typer.BadParameter(f"{base} {item.period} given twice")
        result[item] = value
    return result


def _iaqi_key(item: Item, result: AqiResult) -> str:
    """The parameter code, or ``code_period`` when one pollutant is given for two periods."""
    shared = sum(1 for other in result.iaqi if other.pollutant == item.pollutant) > 1
    return f"{item.pollutant}_{item.period}" if shared else item.pollutant


def air_json(result: AqiResult) -> dict[str, object]:
    """The JSON object ``evaluate air --json`` prints."""
    return {
        "aqi": result.aqi,
        "level": result.level.number,
        "category": result.level.category_zh,
        "primary": list(result.primary),
        "iaqi": {_iaqi_key(item, result): value for item, value in result.iaqi.items()},
    }


def _air_table(result: AqiResult) -> Table:
    table = Table(title=f"{result.standard} IAQI")
    for header in ("污染物", "pollutant", "period", "IAQI"):
        table.add_column(header)
    for item, value in result.iaqi.items():
        p = CATALOGUE[item.pollutant]
        table.add_row(p.label, p.name_en, str(item.period), str(value))
    return table


@evaluate_app.command()
def air(
    items: ItemsArg,
    *,
    standard: Annotated[AqiStandard, typer.Option(help="HJ633-2012 or HJ633-2026")] = AqiStandard.HJ633_2026,
    period: Annotated[
        Period, typer.Option(help="averaging period: 1h, 8h or 24h (code:8h=… per item)")
    ] = Period.H24,
    as_json: JsonOpt = False,
) -> None:
    """HJ 633 AQI (µg/m³, CO mg/m³). JSON keys: aqi, level, category, primary, iaqi."""
    try:
        result = compute_aqi(_air_items(_pairs(items, Kind.AIR), period), standard)
    except (KeyError, ValueError) as exc:
        raise typer.BadParameter(str(exc).strip("'\"")) from exc
    if as_json:
        typer.echo(json.dumps(air_json(result), ensure_ascii=False))
        return
    console = Console()
    console.print(_air_table(result))
    lv = result.level
    console.print(f"AQI {result.aqi}: {lv.grade_zh} {lv.category_zh} {lv.category_en} ({lv.colour} {lv.hex})")
    if result.primary:
        console.print(f"首要污染物 primary: {', '.join(CATALOGUE[c].label for c in result.primary)}")
    if not result.publishable:
        console.print("注意 note: 污染物不全 not all six pollutants given; this AQI would not be published")
