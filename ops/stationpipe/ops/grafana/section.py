"""断面详情 Section detail: each water parameter over time against the GB 3838 class bands and the
section's target-class limit, the data flags as a state timeline, and the class over time.

The target limit is computed in InfluxQL from the hidden ``target`` variable (the section's target
class, 1..5, from the ``stations`` measurement): ``Σ limit_i · floor(1 / (1 + (target − i)²))`` picks
the i-th limit exactly, because the floor term is 1 when ``target = i`` and 0 otherwise.
"""

# ruff: noqa: S608 - InfluxQL text built from constants only; Grafana substitutes $variables itself

from __future__ import annotations

from grafana_foundation_sdk.builders import stat as stat_panel
from grafana_foundation_sdk.builders import statetimeline
from grafana_foundation_sdk.builders import timeseries as ts_panel
from grafana_foundation_sdk.builders.dashboard import ThresholdsConfig
from grafana_foundation_sdk.models import dashboard as dash

from stationpipe.kernel.catalogue import parameter
from stationpipe.ops.grafana.dashboard import dashboard, place_variables, query_variable, warning_annotation
from stationpipe.ops.grafana.palette import FLAGS, WATER_CLASSES
from stationpipe.ops.grafana.panels import (
    JSON,
    Grid,
    Override,
    fixed,
    override,
    stat,
    state_timeline,
    steps,
    target,
    timeseries,
    value_map,
)
from stationpipe.standards.gb3838 import DO, PH_RANGE, TP_RIVER, UPPER_LIMITS, Direction, Limits

UID = "stationpipe-section"
ST = '"station" =~ /^$station$/'
#: The parameters of automatic water stations, in the order operators read them.
PARAMETERS = ("codmn", "nh3n", "tp", "tn", "do", "ph", "temp", "cond", "turb")
TARGET_ALIAS = "目标限值 Target limit"


def limits(code: str) -> Limits | None:
    """The class limits drawn for ``code`` (TP: the river column; pH has its own range)."""
    if code == "do":
        return DO
    if code == "tp":
        return TP_RIVER
    return UPPER_LIMITS.get(code)


def class_bands(code: str) -> ThresholdsConfig | None:
    """Thresholds whose bands are the class colours (Ⅰ..劣Ⅴ); ``None`` for items without classes."""
    colour = {k: c for k, (_, _, c) in WATER_CLASSES.items()}
    if code == "ph":
        return steps(colour[6], (PH_RANGE[0], colour[1]), (PH_RANGE[1], colour[6]))
    lim = limits(code)
    if lim is None:
        return None
    if lim.direction is Direction.MIN:  # DO: higher is better; bands ascend from 劣Ⅴ to Ⅰ
        return steps(colour[6], *[(lim.values[4 - i], colour[5 - i]) for i in range(5)])
    pairs: list[tuple[float, str]] = []
    for i, value in enumerate(lim.values):  # above class i's limit is class i + 1 (shared limits merge)
        if pairs and pairs[-1][0] == value:
            pairs.pop()
        pairs.append((value, colour[i + 2]))
    return steps(colour[1], *pairs)


def target_limit_expr(lim: Limits) -> str:
    """InfluxQL picking the limit of class ``$target`` (1..5) from the five limits."""
    terms = [
        f"{value!r} * floor(1 / (1 + ($target - {i}) * ($target - {i})))"
        for i, value in enumerate(lim.values, 1)
    ]
    return " + ".join(terms)


def parameter_panel(code: str) -> ts_panel.Panel:
    """One parameter: mean per interval, the class bands and (where GB 3838 has one) the target limit."""
    row = parameter(code)
    where = f"{ST} AND \"parameter\" = '{code}' AND $timeFilter"
    targets = [
        target(
            f'SELECT mean("value") FROM "readings" WHERE {where} GROUP BY time($__interval) fill(none)',
            alias=row.label,
        )
    ]
    lim = limits(code)
    overrides: list[Override] = []
    if lim is not None:
        expr = target_limit_expr(lim)
        query = (
            f'SELECT mean("value") * 0 + {expr} FROM "readings" '
            f"WHERE {where} GROUP BY time($__interval) fill(none)"
        )
        targets.append(target(query, "B", alias=TARGET_ALIAS))
        dashed = {"fill": "dash", "dash": [10, 10]}
        overrides.append(override(TARGET_ALIAS, custom_line_style=dashed, color=fixed("red")))
    kw: JSON = {"thresholds": bands} if (bands := class_bands(code)) else {}
    return timeseries(f"{row.label} ({row.unit})", targets, unit="none", overrides=overrides, **kw)


def _flags_panel() -> statetimeline.Panel:
    query = (
        f'SELECT last("flag") FROM "readings" WHERE {ST} AND $timeFilter '
        'GROUP BY time($__interval), "parameter" fill(none)'
    )
    return state_timeline(
        "数据标记 Data flags (HJ 212)",
        [target(query, alias="$tag_parameter")],
        value_map(FLAGS),
        description="Latest flag per interval and parameter: N normal; others are stored but not evaluated.",
    )


def _class_mappings() -> list[dash.ValueMapping]:
    return value_map(
        {str(k): (f"{label} {word}", colour) for k, (label, word, colour) in WATER_CLASSES.items()}
    )


def _class_panels() -> tuple[stat_panel.Panel, stat_panel.Panel, stat_panel.Panel, statetimeline.Panel]:
    over_time = (
        f'SELECT last("class") FROM "water_class" WHERE {ST} AND $timeFilter '
        "GROUP BY time($__interval) fill(none)"
    )
    current = f'SELECT last("class") FROM "water_class" WHERE {ST} AND $timeFilter'
    goal = f'SELECT last("target_class") FROM "stations" WHERE {ST}'
    worst = f'SELECT last("worst") FROM "water_class" WHERE {ST} AND $timeFilter'
    return (
        stat("当前类别 Current class", current, mappings=_class_mappings(), decimals=0),
        stat("目标类别 Target class", goal, mappings=_class_mappings(), decimals=0),
        stat("主要污染物 Worst item", worst, thresholds=steps("#8E8E8E"), decimals=0),
        state_timeline(
            "水质类别 Class over time", [target(over_time, alias="类别 Class")], _class_mappings()
        ),
    )


def build() -> JSON:
    """The section detail dashboard (one water station at a time)."""
    variables = place_variables("water", multi_station=False)
    target_var = query_variable(
        "target",
        "目标类别 Target class",
        f'SELECT last("target_class") FROM "stations" WHERE {ST}',
        multi=False,
        hide=True,
    )
    grid = Grid()
    current, goal, worst, over_time = _class_panels()
    grid.extend([current, goal, worst], 4, 5)
    grid.add(over_time, 12, 5)
    grid.row("参数 Parameters (GB 3838-2002 class bands, target limit dashed)")
    grid.extend([parameter_panel(code) for code in PARAMETERS], 8, 8)
    grid.row("数据质量 Data quality")
    grid.add(_flags_panel(), 24, 8)
    return dashboard(
        UID,
        "断面详情 Section detail",
        grid.panels,
        variables=[*variables, target_var],
        annotations=[warning_annotation()],
        time_from="now-7d",
    )
