"""预警 Warnings: active and recent warning instances, counts by level, operators' actions, and warnings as
annotations.

A warning instance is one (station, rule, level) series; its latest point is its current state: the
machine state (``state``) and, beside it, the human state (``handling``, ``acknowledged_by``,
``assignee``) the operators' desk sets. Each operator's action is a point of ``warning_actions``.
"""

# ruff: noqa: S608 - InfluxQL text built from constants only; Grafana substitutes $variables itself

from __future__ import annotations

from grafana_foundation_sdk.builders import bargauge
from grafana_foundation_sdk.builders import timeseries as ts_panel

from stationpipe.ops.grafana.dashboard import dashboard, place_variables, warning_annotation
from stationpipe.ops.grafana.palette import WARNING_LEVELS
from stationpipe.ops.grafana.panels import (
    JSON,
    Grid,
    Override,
    bar_gauge,
    fixed,
    override,
    table,
    target,
    timeseries,
    value_map,
)

UID = "stationpipe-warnings"
ST = '"station" =~ /^$station$/'
FIELDS = '"state", "handling", "parameter", "value", "limit", "message", "started", "ended"'
LATEST = (
    'SELECT last("state") AS "state", last("handling") AS "handling", '
    'last("acknowledged_by") AS "acknowledged_by", last("assignee") AS "assignee", '
    'last("parameter") AS "parameter", last("value") AS "value", '
    'last("limit") AS "limit", last("message") AS "message", last("started") AS "started" '
    f'FROM "warnings" WHERE {ST} AND $timeFilter GROUP BY "station", "rule", "level"'
)
ACTIONS = (
    'SELECT "user", "handling", "note", "assignee", "started" FROM "warning_actions" '
    f'WHERE {ST} AND $timeFilter GROUP BY "station", "rule", "action"'
)
ACTIVE = f"SELECT * FROM ({LATEST}) WHERE \"state\" = 'firing' OR \"state\" = 'pending'"


def _level_override() -> Override:
    levels = {str(k): (label, colour) for k, (label, colour) in WARNING_LEVELS.items()}
    return override(
        "level", mappings=value_map(levels), **{"custom.cellOptions": {"type": "color-background"}}
    )


def _by_level() -> bargauge.Panel:
    query = f'SELECT count("state") FROM ({ACTIVE}) GROUP BY "level"'
    colours = [override(f"{k} 级 level", color=fixed(c)) for k, (_, c) in WARNING_LEVELS.items()]
    return bar_gauge(
        "按级别 Active by level", [target(query, alias="$tag_level 级 level")], overrides=colours
    )


def _events() -> ts_panel.Panel:
    query = (
        f'SELECT count("state") FROM "warnings" WHERE {ST} AND $timeFilter '
        'GROUP BY time($__interval), "level" fill(none)'
    )
    return timeseries(
        "预警事件 Warning events (annotations: each state change)",
        [target(query, alias="$tag_level 级 level")],
        bars=True,
    )


def build() -> JSON:
    """The warnings dashboard."""
    recent = f'SELECT {FIELDS} FROM "warnings" WHERE {ST} AND $timeFilter GROUP BY "station", "rule", "level"'
    grid = Grid()
    grid.add(_by_level(), 8, 8)
    grid.add(_events(), 16, 8)
    grid.add(
        table(
            "当前预警 Active warnings (firing, pending; handling: the operators' state)",
            [target(ACTIVE, table=True)],
            overrides=[_level_override()],
            sort_by="level",
        ),
        24,
        9,
    )
    grid.add(
        table(
            "近期预警 Recent warning events",
            [target(recent, table=True)],
            overrides=[_level_override()],
            sort_by="Time",
        ),
        24,
        12,
    )
    grid.add(
        table(
            "处置记录 Operators' actions (who, when, the state after)",
            [target(ACTIONS, table=True)],
            sort_by="Time",
        ),
        24,
        9,
    )
    return dashboard(
        UID, "预警 Warnings", grid.panels, variables=place_variables(), annotations=[warning_annotation()]
    )
