"""Dashboard envelope and template variables shared by every dashboard, built with grafana-foundation-sdk.

Variables cascade: city -> river -> station, all read from the ``stations`` measurement (written by the
collector from the registry). ``All`` becomes the regex ``.*`` so that stations without a river (air
stations) still match.

Warnings are drawn as InfluxDB annotations: the SDK models an annotation's query only as Grafana's built-in
kind (``AnnotationTarget``), so the InfluxQL and its columns (``query``, ``textColumn``, ``tagsColumn``, the
form Grafana's InfluxDB plugin reads) are added to the SDK's JSON here, and stationpipe.ops.grafana.schema
allows exactly those keys beyond the SDK's models.
"""

# ruff: noqa: S608 - InfluxQL text built from constants only; Grafana substitutes $variables itself

from __future__ import annotations

import json
from dataclasses import dataclass, field

from grafana_foundation_sdk.builders.dashboard import (
    AnnotationQuery,
    Dashboard,
    DashboardLink,
    QueryVariable,
    Row,
)
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import dashboard as dash

from stationpipe.ops.grafana.panels import JSON, SOURCE, PanelBuilder

TIMEZONE = "Asia/Shanghai"
TAG = "stationpipe"

#: Appended to every query that filters the registry by the city and river variables.
REGISTRY_FILTER = '"city" =~ /^$city$/ AND "river" =~ /^$river$/'


def query_variable(
    name: str, label: str, query: str, *, multi: bool = True, hide: bool = False
) -> QueryVariable:
    """A variable filled by an InfluxQL query, refreshed when the time range or a parent changes."""
    out = QueryVariable(name).label(label).datasource(SOURCE).query(query)
    out.refresh(dash.VariableRefresh.ON_TIME_RANGE_CHANGED).sort(dash.VariableSort.ALPHABETICAL_ASC)
    out.multi(multi).include_all(multi).current(dash.VariableOption()).options([])
    if multi:
        out.all_value(".*")
    return out.hide(dash.VariableHide.HIDE_VARIABLE if hide else dash.VariableHide.DONT_HIDE)


def place_variables(kind: str = "", *, multi_station: bool = True) -> list[QueryVariable]:
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


@dataclass(frozen=True, slots=True)
class Annotation:
    """An annotation built with the SDK, and the InfluxDB keys its JSON gets beyond the SDK's model."""

    sdk: AnnotationQuery
    influx: JSON = field(default_factory=dict)


def warning_annotation(station_filter: str = '"station" =~ /^$station$/') -> Annotation:
    """Warnings drawn as annotations on every time series of the dashboard (one per state change)."""
    query = f'SELECT "message", "state", "rule" FROM "warnings" WHERE {station_filter} AND $timeFilter'
    sdk = AnnotationQuery().name("预警 Warnings").datasource(SOURCE).enable(True).icon_color("#FF7F00")
    return Annotation(sdk, {"query": query, "textColumn": "message", "tagsColumn": "state,rule"})


def _builtin() -> AnnotationQuery:
    """Grafana's own annotations and alerts, which every dashboard carries."""
    grafana = dash.DataSourceRef(type_val="grafana", uid="-- Grafana --")
    out = AnnotationQuery().name("Annotations & Alerts").datasource(grafana).enable(True).hide(True)
    return out.icon_color("rgba(0, 211, 255, 1)").type("dashboard").built_in(1)


def dashboard(
    uid: str,
    title: str,
    panels: list[PanelBuilder],
    *,
    variables: list[QueryVariable],
    annotations: list[Annotation] | None = None,
    time_from: str = "now-24h",
) -> JSON:
    """A complete dashboard in Asia/Shanghai time, tagged for cross-links between the five dashboards."""
    board = Dashboard(title).uid(uid).tags([TAG]).timezone(TIMEZONE).week_start("monday").editable()
    board.tooltip(dash.DashboardCursorSync.CROSSHAIR).version(1).refresh("1m").time(time_from, "now")
    board.variables(list(variables))
    board.annotations([_builtin(), *(a.sdk for a in annotations or [])])
    link = DashboardLink("站点监测 Dashboards").type(dash.DashboardLinkType.DASHBOARDS).tags([TAG])
    board.links([link.as_dropdown(True)])
    for item in panels:
        if isinstance(item, Row):
            board.with_row(item)
        else:
            board.with_panel(item)
    out: JSON = json.loads(JSONEncoder().encode(board.build()))
    for entry, annotation in zip(out["annotations"]["list"][1:], annotations or [], strict=True):
        entry.update(annotation.influx)
    return out
