"""总览 Overview: headline figures, a map of every station, active warnings, current classes.

Headline figures use small InfluxQL identities on integer fields (no joins needed):
``1 - floor(class / 4)`` is 1 for classes Ⅰ–Ⅲ and 0 for Ⅳ–劣Ⅴ; ``floor(class / 6)`` is 1 only for 劣Ⅴ;
``floor(201 / (aqi + 101))`` is 1 for AQI ≤ 100 and 0 above.
"""

# ruff: noqa: S608 - InfluxQL text built from constants only; Grafana substitutes $variables itself

from __future__ import annotations

from grafana_foundation_sdk.builders import common, geomap
from grafana_foundation_sdk.builders import stat as stat_panel
from grafana_foundation_sdk.builders import table as table_panel
from grafana_foundation_sdk.builders.dashboard import ThresholdsConfig
from grafana_foundation_sdk.models import common as model
from grafana_foundation_sdk.models import dashboard as dash
from grafana_foundation_sdk.models.geomap import TooltipMode

from stationpipe.ops.grafana.dashboard import REGISTRY_FILTER, dashboard, place_variables
from stationpipe.ops.grafana.influx import Influx
from stationpipe.ops.grafana.palette import AQI_LEVELS, WARNING_LEVELS, WATER_CLASSES
from stationpipe.ops.grafana.panels import (
    JSON,
    Grid,
    Override,
    common_parts,
    fixed,
    override,
    stat,
    steps,
    table,
    target,
    value_map,
)

UID = "stationpipe-overview"
ST = '"station" =~ /^$station$/'
LAST_CLASS = f'SELECT last("class") AS "c" FROM "water_class" WHERE {ST} AND $timeFilter GROUP BY "station"'
ACTIVE = (
    'SELECT "state", "level", "rule", "message", "parameter", "value", "limit", "started" FROM '
    '(SELECT last("state") AS "state", last("message") AS "message", last("parameter") AS "parameter", '
    'last("value") AS "value", last("limit") AS "limit", last("started") AS "started" FROM "warnings" '
    f'WHERE {ST} AND $timeFilter GROUP BY "station", "rule", "level") '
    'WHERE "state" = \'firing\' GROUP BY "station"'
)

HEADLINES: tuple[tuple[str, str, str, ThresholdsConfig], ...] = (
    (
        "达到或优于Ⅲ类比例 Sections at Ⅲ or better",
        f'SELECT 100 * mean("good") FROM (SELECT 1 - floor("c" / 4) AS "good" FROM ({LAST_CLASS}))',
        "percent",
        steps("red", (80, "orange"), (90, "green")),
    ),
    (
        "劣Ⅴ类断面 Sections worse than Ⅴ",
        f'SELECT sum("bad") FROM (SELECT floor("c" / 6) AS "bad" FROM ({LAST_CLASS}))',
        "none",
        steps("green", (1, "red")),
    ),
    (
        "优良天数比率 Good air days",
        (
            'SELECT 100 * mean("good") FROM (SELECT floor(201 / (mean("aqi") + 101)) AS "good" FROM "aqi" '
            f'WHERE {ST} AND $timeFilter GROUP BY time(1d, -8h), "station" fill(none))'
        ),
        "percent",
        steps("red", (80, "orange"), (90, "green")),
    ),
    (
        "数据有效率 Data capture (valid)",
        (
            'SELECT 100 * count("ok") / count("all") AS "capture" FROM '
            f'(SELECT "value" AS "ok" FROM "readings" WHERE "flag" = \'N\' AND {ST} AND $timeFilter), '
            f'(SELECT "flag" AS "all" FROM "readings" WHERE {ST} AND $timeFilter)'
        ),
        "percent",
        steps("red", (75, "orange"), (90, "green")),
    ),
    (
        "在线站点 Stations reporting (15 min)",
        (
            'SELECT count("v") FROM (SELECT last("flag") AS "v" FROM "readings" '
            f'WHERE {ST} AND time > now() - 15m GROUP BY "station")'
        ),
        "none",
        steps("orange", (1, "green")),
    ),
    (
        "预警中 Active warnings",
        f'SELECT count("state") FROM ({ACTIVE})',
        "none",
        steps("green", (1, "orange")),
    ),
)

_DESCRIPTIONS = (
    "Share of sections whose latest class in the time range is Ⅰ, Ⅱ or Ⅲ (GB 3838-2002).",
    "Sections whose latest class is worse than Ⅴ (劣Ⅴ).",
    "Share of station-days (Beijing time) whose mean hourly AQI is at most 100.",
    "Readings flagged N with a value, as a share of all readings stored (failed polls are stored as B).",
    "Stations with at least one reading stored in the last 15 minutes.",
    "Warning instances whose latest state is firing.",
)


def _headline_panels() -> list[stat_panel.Panel]:
    out = []
    for (title, query, unit, thresholds), description in zip(HEADLINES, _DESCRIPTIONS, strict=True):
        decimals = 0 if unit == "none" else 1
        out.append(
            stat(title, query, unit=unit, thresholds=thresholds, decimals=decimals, description=description)
        )
    return out


def _map_targets() -> list[Influx]:
    stations = (
        'SELECT last("lat") AS "lat", last("lon") AS "lon", last("name") AS "name" FROM "stations" '
        f'WHERE {REGISTRY_FILTER} GROUP BY "station", "kind"'
    )
    classes = (
        f'SELECT last("class") AS "class" FROM "water_class" WHERE {ST} AND $timeFilter GROUP BY "station"'
    )
    aqi = (
        'SELECT last("level") AS "aqi_level", last("aqi") AS "aqi" FROM "aqi" '
        f'WHERE {ST} AND $timeFilter GROUP BY "station"'
    )
    warnings = f'SELECT "level" AS "warning_level" FROM ({ACTIVE})'
    return [
        target(stations, "S", table=True),
        target(classes, "W", table=True),
        target(aqi, "Q", table=True),
        target(warnings, "X", table=True),
    ]


def _marker_layer(name: str, colour_field: str, size: int) -> common.MapLayerOptions:
    style = {
        "color": {"field": colour_field, "fixed": "transparent"},
        "size": {"fixed": size},
        "symbol": {"fixed": "img/icons/marker/circle.svg", "mode": "fixed"},
        "text": {"field": "name", "mode": "field"},
        "textConfig": {"fontSize": 10, "offsetY": -14},
        "opacity": 0.9,
    }
    location = common.FrameGeometrySource().mode(model.FrameGeometrySourceMode.COORDS)
    out = common.MapLayerOptions().type("markers").name(name).tooltip(True)
    out.config({"showLegend": True, "style": style})
    return out.location(location.latitude("lat").longitude("lon"))


def _colour_overrides() -> list[Override]:
    classes = {str(k): (label, colour) for k, (label, _, colour) in WATER_CLASSES.items()}
    levels = {str(k): (label, colour) for k, (_, label, colour) in AQI_LEVELS.items()}
    warnings = {str(k): (label, colour) for k, (label, colour) in WARNING_LEVELS.items()}
    return [
        override("class", mappings=value_map(classes, null_colour="transparent")),
        override("aqi_level", mappings=value_map(levels, null_colour="transparent")),
        override("warning_level", mappings=value_map(warnings, null_colour="transparent")),
    ]


def station_map() -> geomap.Panel:
    """All stations on a map: water coloured by class, air by AQI level, a ring for the worst warning.

    The view's centre is in whole degrees: Grafana's schema types it as an integer (panelcfg of geomap)."""
    view = geomap.MapViewConfig().id("coords").lat(29).lon(120).zoom(7)
    controls = geomap.ControlsOptions().show_zoom(True).mouse_wheel_zoom(True).show_attribution(True)
    out = geomap.Panel().view(view).controls(controls)
    out.basemap(common.MapLayerOptions().type("default").name("底图 Basemap"))
    out.layers(
        [
            _marker_layer("预警 Worst active warning", "warning_level", 22),
            _marker_layer("水质类别 Water class", "class", 12),
            _marker_layer("空气质量 AQI level", "aqi_level", 12),
        ]
    )
    out.tooltip(geomap.TooltipOptions().mode(TooltipMode.DETAILS)).color_scheme(fixed("transparent"))
    transformations = [
        dash.DataTransformerConfig(id_val="joinByField", options={"byField": "station", "mode": "outer"}),
        dash.DataTransformerConfig(
            id_val="sortBy", options={"sort": [{"field": "warning_level", "desc": False}]}
        ),
    ]
    return common_parts(
        out,
        "站点地图 Stations (water class · AQI level · worst warning)",
        _map_targets(),
        overrides=_colour_overrides(),
        transformations=transformations,
        description="Water sections coloured by their latest GB 3838 class, air stations by AQI level; "
        "the larger ring shows the worst firing warning.",
    )


def _class_table() -> table_panel.Panel:
    query = (
        'SELECT last("class") AS "class", last("worst") AS "worst", last("exceed") AS "exceed" '
        f'FROM "water_class" WHERE {ST} AND $timeFilter GROUP BY "station"'
    )
    classes = {str(k): (label, colour) for k, (label, _, colour) in WATER_CLASSES.items()}
    mapping = override(
        "class", mappings=value_map(classes), **{"custom.cellOptions": {"type": "color-background"}}
    )
    return table(
        "各断面当前水质 Current class per section",
        [target(query, table=True)],
        overrides=[mapping],
        sort_by="class",
    )


def _warnings_table() -> table_panel.Panel:
    levels = {str(k): (label, colour) for k, (label, colour) in WARNING_LEVELS.items()}
    colour = {"custom.cellOptions": {"type": "color-background"}}
    return table(
        "当前预警 Active warnings",
        [target(ACTIVE, table=True)],
        overrides=[override("level", mappings=value_map(levels), **colour)],
        sort_by="level",
    )


#: Official statistics (``stationpipe report stats --publish``): each figure audited beside raw.
OFFICIAL = (
    'SELECT last("period") AS "月份 month", '
    'last("share_iii_or_better") AS "Ⅲ类及以上 % audited", last("share_iii_or_better_raw") AS "raw", '
    'last("worse_than_v_count") AS "劣Ⅴ audited", last("worse_than_v_count_raw") AS "劣Ⅴ raw", '
    'last("share_good_air_days") AS "优良天 % audited", last("share_good_air_days_raw") AS "优良天 % raw", '
    'last("source_compliance") AS "水源达标 % audited", last("source_compliance_raw") AS "水源达标 % raw", '
    'last("excluded") AS "审核剔除 excluded" '
    'FROM "official_stats" WHERE $timeFilter GROUP BY time(1d, -8h) fill(none)'
)


def _official_table() -> table_panel.Panel:
    return table(
        "官方统计（审核后 vs 原始） Official statistics, audited vs raw",
        [target(OFFICIAL, table=True)],
        description="Monthly figures from audited data beside the raw (stationpipe report stats --publish).",
        sort_by="Time",
    )


def build() -> JSON:
    """The overview dashboard."""
    grid = Grid()
    grid.extend(_headline_panels(), 24 // len(HEADLINES), 4)
    grid.newline()
    grid.add(_official_table(), 24, 5)
    grid.newline()
    grid.add(station_map(), 14, 16)
    grid.add(_warnings_table(), 10, 16)
    grid.newline()
    grid.add(_class_table(), 24, 10)
    return dashboard(UID, "总览 Overview", grid.panels, variables=place_variables())
