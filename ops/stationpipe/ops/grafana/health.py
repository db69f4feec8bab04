"""链路健康 Pipeline health: agents online, spool depths, dead letters, write rates, data flags.

Besides the schema's measurements this reads two written by Telegraf (deploy/telegraf/telegraf.conf):
``agent_status`` — the retained ``stations/<id>/status`` messages (tag station; fields state,
spool_depth, version, health) — and ``prometheus`` — the collectors' ``/metrics`` (tag url; fields named
after the metrics, e.g. ``stationpipe_collector_spool_points``,
``stationpipe_collector_points_written_total``).
"""

# ruff: noqa: S608 - InfluxQL text built from constants only; Grafana substitutes $variables itself

from __future__ import annotations

from grafana_foundation_sdk.builders import stat as stat_panel

from stationpipe.ops.grafana.dashboard import dashboard, place_variables
from stationpipe.ops.grafana.palette import FLAGS
from stationpipe.ops.grafana.panels import (
    JSON,
    Grid,
    Viz,
    stat,
    state_timeline,
    steps,
    target,
    timeseries,
    value_map,
)

UID = "stationpipe-health"
ST = '"station" =~ /^$station$/'
EVERY = "$timeFilter GROUP BY time($__interval)"
AGENTS_ONLINE = (
    'SELECT count("state") FROM (SELECT last("state") AS "state" FROM "agent_status" '
    f'WHERE {ST} AND $timeFilter GROUP BY "station") WHERE "state" = \'online\''
)
AGENTS_OFFLINE = AGENTS_ONLINE.replace("'online'", "'offline'")


def _stats() -> list[stat_panel.Panel]:
    reporting = (
        'SELECT count("v") FROM (SELECT last("flag") AS "v" FROM "readings" '
        f'WHERE {ST} AND time > now() - 15m GROUP BY "station")'
    )
    spool = (
        'SELECT last("stationpipe_collector_spool_points") FROM "prometheus" WHERE $timeFilter GROUP BY "url"'
    )
    dead = 'SELECT spread("stationpipe_collector_dead_letters_total") FROM "prometheus" WHERE $timeFilter'
    return [
        stat("在线代理 Agents online", AGENTS_ONLINE, thresholds=steps("orange", (1, "green")), decimals=0),
        stat(
            "离线代理 Agents offline",
            AGENTS_OFFLINE,
            thresholds=steps("green", (1, "red")),
            decimals=0,
            no_value="0",
        ),
        stat(
            "上报站点 Stations reporting (15 min)",
            reporting,
            thresholds=steps("orange", (1, "green")),
            decimals=0,
        ),
        stat(
            "采集器缓存 Collector spool (points)",
            spool,
            thresholds=steps("green", (1, "orange"), (100000, "red")),
            decimals=0,
        ),
        stat(
            "死信 Dead letters (range)", dead, thresholds=steps("green", (1, "red")), decimals=0, no_value="0"
        ),
    ]


def _series() -> list[Viz]:
    edge_spool = f'SELECT max("spool_depth") FROM "agent_status" WHERE {ST} AND {EVERY}, "station" fill(none)'
    online = f'SELECT last("state") FROM "agent_status" WHERE {ST} AND {EVERY}, "station" fill(previous)'
    written = (
        'SELECT non_negative_derivative(max("stationpipe_collector_points_written_total"), 1s) '
        f'FROM "prometheus" WHERE {EVERY}, "url" fill(none)'
    )
    dead = (
        'SELECT non_negative_difference(max("stationpipe_collector_dead_letters_total")) '
        f'FROM "prometheus" WHERE {EVERY}, "url", "cause" fill(none)'
    )
    ingest = f'SELECT count("flag") FROM "readings" WHERE {ST} AND {EVERY}, "station" fill(0)'
    flags = (
        f'SELECT count("flag") FROM "readings" WHERE "flag" != \'N\' AND {ST} '
        f'AND {EVERY}, "station" fill(none)'
    )
    online_map = value_map({"online": ("在线 online", "#73BF69"), "offline": ("离线 offline", "#E02F44")})
    return [
        state_timeline("代理状态 Agent state", [target(online, alias="$tag_station")], online_map),
        timeseries("边缘缓存 Edge spool depth (messages)", [target(edge_spool, alias="$tag_station")]),
        timeseries(
            "写入速率 Collector write rate (points/s)", [target(written, alias="$tag_url")], unit="none"
        ),
        timeseries("死信 Dead letters per interval", [target(dead, alias="$tag_cause")], bars=True),
        timeseries("入库读数 Readings stored per interval", [target(ingest, alias="$tag_station")]),
        timeseries(
            "异常标记 Readings flagged other than N",
            [target(flags, alias="$tag_station")],
            bars=True,
            description="Failed polls (B) and instrument states (" + ", ".join(FLAGS) + ") per station.",
        ),
    ]


def build() -> JSON:
    """The pipeline health dashboard."""
    grid = Grid()
    grid.extend(_stats(), 24 // 5, 4)
    grid.newline()
    agent_state, *rest = _series()
    grid.add(agent_state, 24, 6)
    grid.extend(rest, 12, 8)
    return dashboard(
        UID, "链路健康 Pipeline health", grid.panels, variables=place_variables(), time_from="now-6h"
    )
