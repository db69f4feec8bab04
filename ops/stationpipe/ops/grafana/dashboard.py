"""Dashboard envelope and template variables shared by every dashboard.

Variables cascade: city -> river -> station, all read from the ``stations`` measurement (written by the
collector from the registry). ``All`` becomes the regex ``.*`` so that stations without a river (air
stations) still match.
"""

# ruff: noqa: S608 - InfluxQL text built from constants only; Grafana substitutes $variables itself

from __future__ import annotations

from stationpipe.ops.grafana.panels import DATASOURCE, JSON

TIMEZONE = "Asia/Shanghai"
TAG = "stationpipe"

#: Appended to every query that filters the registry by the city and river variables.
REGISTRY_FILTER = '"city" =~ /^$city$/ AND "river" =~ /^$river$/'


def query_variable(name: str, label: str, query: str, *, multi: bool = True, hide: bool = False) -> JSON:
    """A variable filled by an InfluxQL query, refreshed when the time range or a parent changes."""
    return {
        "name": name,
        "label": label,
        "type": "query",
        "datasource": DATASOURCE,
        "query": query,
        "definition": query,
        "refresh": 2,
        "multi": multi,
        "includeAll": multi,
        "allValue": ".*" if multi else None,
        "current": {},
        "hide": 2 if hide else 0,
        "sort": 1,
        "options": [],
    }


def place_variables(kind: str = "", *, multi_station: bool = True) -> list[JSON]:
    """``city``, ``river`` and ``station`` (restricted to ``kind`` = water or air when given)."""
    kind_filter = f" AND \"kind\" = '{kind}'" if kind else ""
    return [
        query_variable("city", "城市 City", 'SHOW TAG VALUES FROM "stations" WITH KEY = "city"'),
        query_variable(
            "river",
            "河流 River",
            'SHOW TAG VALUES FROM "stations" WITH KEY = "river" WHERE "city" =~ /^$city$/',
        ),
        query_variable(
            "station",
            "站点 Station",
            f'SHOW TAG VALUES FROM "stations" WITH KEY = "station" WHERE {REGISTRY_FILTER}{kind_filter}',
            multi=multi_station,
        ),
    ]


def warning_annotation(station_filter: str = '"station" =~ /^$station$/') -> JSON:
    """Warnings drawn as annotations on every time series of the dashboard (one per state change)."""
    query = f'SELECT "message", "state", "rule" FROM "warnings" WHERE {station_filter} AND $timeFilter'
    return {
        "name": "预警 Warnings",
        "datasource": DATASOURCE,
        "enable": True,
        "iconColor": "#FF7F00",
        "query": query,
        "textColumn": "message",
        "tagsColumn": "state,rule",
    }


def dashboard(
    uid: str,
    title: str,
    panels: list[JSON],
    *,
    variables: list[JSON],
    annotations: list[JSON] | None = None,
    time_from: str = "now-24h",
) -> JSON:
    """A complete dashboard in Asia/Shanghai time, tagged for cross-links between the five dashboards."""
    builtin: JSON = {
        "builtIn": 1,
        "datasource": {"type": "grafana", "uid": "-- Grafana --"},
        "enable": True,
        "hide": True,
        "iconColor": "rgba(0, 211, 255, 1)",
        "name": "Annotations & Alerts",
        "type": "dashboard",
    }
    return {
        "uid": uid,
        "title": title,
        "tags": [TAG],
        "timezone": TIMEZONE,
        "weekStart": "monday",
        "editable": True,
        "graphTooltip": 1,
        "schemaVersion": 39,
        "version": 1,
        "refresh": "1m",
        "time": {"from": time_from, "to": "now"},
        "templating": {"list": variables},
        "annotations": {"list": [builtin, *(annotations or [])]},
        "links": [
            {"type": "dashboards", "tags": [TAG], "asDropdown": True, "title": "站点监测 Dashboards"},
        ],
        "panels": panels,
    }
