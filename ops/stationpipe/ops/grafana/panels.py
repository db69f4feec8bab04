"""Small helpers over grafana-foundation-sdk's typed builders (Grafana's own, with Grafana 11.3's schema):
targets, thresholds, value mappings, overrides and the panel kinds the dashboards use.

Every query is raw InfluxQL against the provisioned datasource ``DATASOURCE`` (see grafana/influx.py);
panels are laid out by a ``Grid`` (24 columns) so dashboard modules only say what goes where, in order.
Each helper returns an SDK builder, so a module can still call any builder method on what it gets back.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple, TypeVar

from grafana_foundation_sdk.builders import bargauge, common, geomap, statetimeline
from grafana_foundation_sdk.builders import stat as stat_panel
from grafana_foundation_sdk.builders import table as table_panel
from grafana_foundation_sdk.builders import text as text_panel
from grafana_foundation_sdk.builders import timeseries as ts_panel
from grafana_foundation_sdk.builders.dashboard import FieldColor, Row, ThresholdsConfig
from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.models import common as model
from grafana_foundation_sdk.models import dashboard as dash
from grafana_foundation_sdk.models.text import TextMode

from stationpipe.ops.grafana.influx import TYPE, Influx

JSON = dict[str, Any]
#: The panel builders the helpers below return (each has the shared field-config and option methods).
Viz = (
    stat_panel.Panel
    | ts_panel.Panel
    | statetimeline.Panel
    | table_panel.Panel
    | bargauge.Panel
    | geomap.Panel
    | text_panel.Panel
)
#: What a ``Grid`` places: a panel or a row header.
PanelBuilder = Viz | Row
P = TypeVar("P", bound=Viz)

#: The one datasource every panel uses (provisioned with this uid; see deploy/grafana/provisioning/).
DATASOURCE: JSON = {"type": TYPE, "uid": "stationpipe-influxdb"}
SOURCE = dash.DataSourceRef(type_val=DATASOURCE["type"], uid=DATASOURCE["uid"])


def target(query: str, ref: str = "A", *, table: bool = False, alias: str = "", hide: bool = False) -> Influx:
    """One raw InfluxQL query; ``table`` returns tags as columns (for tables, geomaps and joins)."""
    out = Influx(query).ref_id(ref).datasource(SOURCE).result_format("table" if table else "time_series")
    if alias:
        out.alias(alias)
    if hide:
        out.hide(hide)
    return out


def steps(base: str, *pairs: tuple[float, str]) -> ThresholdsConfig:
    """Absolute thresholds: ``base`` colour below the first value, then each ``(value, colour)``."""
    items = [dash.Threshold(value=None, color=base)]
    items += [dash.Threshold(value=value, color=colour) for value, colour in pairs]
    return ThresholdsConfig().mode(dash.ThresholdsMode.ABSOLUTE).steps(items)


def value_map(entries: Mapping[str, tuple[str, str]], *, null_colour: str = "") -> list[dash.ValueMapping]:
    """A value mapping ``{value: (text, colour)}``; optionally colour nulls (``transparent`` hides them)."""
    options = {
        key: dash.ValueMappingResult(text=text, color=colour, index=i)
        for i, (key, (text, colour)) in enumerate(entries.items())
    }
    out: list[dash.ValueMapping] = [dash.ValueMap(options=options)]
    if null_colour:
        out.append(special(dash.SpecialValueMatch.NULL, dash.ValueMappingResult(color=null_colour)))
    return out


def special(match: dash.SpecialValueMatch, result: dash.ValueMappingResult) -> dash.SpecialValueMap:
    """A mapping of a special value (null, empty, …)."""
    return dash.SpecialValueMap(options=dash.DashboardSpecialValueMapOptions(match=match, result=result))


def fixed(colour: str) -> FieldColor:
    """One colour for every series."""
    return FieldColor().mode(dash.FieldColorModeId.FIXED).fixed_color(colour)


def colour_mode(mode: dash.FieldColorModeId) -> FieldColor:
    """Colours from ``mode`` (the classic palette, the thresholds, …)."""
    return FieldColor().mode(mode)


class Override(NamedTuple):
    """A field override by field name: Grafana's property ids and values."""

    name: str
    properties: list[dash.DynamicConfigValue]


def override(name: str, **props: Any) -> Override:
    """A field override by field name; ``props`` become ``{"id": key, "value": value}`` pairs (SDK models
    are turned into their JSON, since an override's value is free-form in Grafana's schema)."""
    key_ids = {"display_name": "displayName", "custom_line_style": "custom.lineStyle"}
    return Override(
        name,
        [dash.DynamicConfigValue(id_val=key_ids.get(k, k), value=_plain(v)) for k, v in props.items()],
    )


def _plain(value: Any) -> Any:
    """``value`` with SDK models (and builders) replaced by their JSON."""
    if isinstance(value, cogbuilder.Builder):
        return _plain(value.build())
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if hasattr(value, "to_json"):
        return _plain(value.to_json())
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def common_parts(
    built: P,
    title: str,
    targets: Sequence[Influx],
    *,
    overrides: Sequence[Override] = (),
    transformations: Sequence[dash.DataTransformerConfig] = (),
    description: str = "",
) -> P:
    """What every data panel has: title, datasource, targets, overrides, transformations, description."""
    built.title(title).datasource(SOURCE).targets(list(targets))
    for item in overrides:
        built.override_by_name(item.name, item.properties)
    if transformations:
        built.transformations(list(transformations))
    if description:
        built.description(description)
    return built


def tooltip(mode: model.TooltipDisplayMode) -> common.VizTooltipOptions:
    """A tooltip in ``mode``, series in their own order (the SDK's model would sort them ascending)."""
    return common.VizTooltipOptions().mode(mode).sort(model.SortOrder.NONE)


def stat(
    title: str, query: str, *, unit: str = "none", thresholds: ThresholdsConfig | None = None, **kw: Any
) -> stat_panel.Panel:
    """A single number with its colour from ``thresholds``."""
    out = stat_panel.Panel().unit(unit).decimals(kw.pop("decimals", 1)).no_value(kw.pop("no_value", "—"))
    out.color_scheme(colour_mode(dash.FieldColorModeId.THRESHOLDS)).thresholds(thresholds or steps("blue"))
    if "mappings" in kw:
        out.mappings(kw.pop("mappings"))
    out.reduce_options(common.ReduceDataOptions().calcs(["lastNotNull"]).fields("").values(False))
    out.color_mode(model.BigValueColorMode.BACKGROUND).graph_mode(model.BigValueGraphMode.NONE)
    return common_parts(out, title, [target(query)], **kw)


def timeseries(title: str, targets: Sequence[Influx], *, unit: str = "none", **kw: Any) -> ts_panel.Panel:
    """Lines over time; ``bars=True`` draws bars; ``thresholds`` are drawn as dashed lines and bands."""
    bars = kw.pop("bars", False)
    out = ts_panel.Panel().unit(unit).span_nulls(True)
    out.draw_style(model.GraphDrawStyle.BARS if bars else model.GraphDrawStyle.LINE).fill_opacity(
        60 if bars else 10
    )
    out.color_scheme(colour_mode(dash.FieldColorModeId.PALETTE_CLASSIC))
    if "thresholds" in kw:
        out.thresholds(kw.pop("thresholds"))
        style = model.GraphThresholdsStyleMode(kw.pop("thresholds_style", "line+area"))
        out.thresholds_style(common.GraphThresholdsStyleConfig().mode(style))
    if kw.pop("colour_by_thresholds", False):
        out.color_scheme(colour_mode(dash.FieldColorModeId.THRESHOLDS))
        out.gradient_mode(model.GraphGradientMode.SCHEME)
    legend = common.VizLegendOptions().display_mode(model.LegendDisplayMode.LIST).show_legend(True)
    out.legend(legend.placement(model.LegendPlacement.BOTTOM))
    out.tooltip(tooltip(model.TooltipDisplayMode.MULTI))
    return common_parts(out, title, targets, **kw)


def state_timeline(
    title: str, targets: Sequence[Influx], mappings: list[dash.ValueMapping], **kw: Any
) -> statetimeline.Panel:
    """Coloured bands of a categorical value over time (flags, classes, primary pollutant)."""
    out = statetimeline.Panel().mappings(mappings).color_scheme(fixed("#8E8E8E"))
    out.fill_opacity(80).line_width(0)
    out.show_value(model.VisibilityMode.NEVER).merge_values(True).row_height(0.8)
    out.legend(common.VizLegendOptions().show_legend(False)).tooltip(tooltip(model.TooltipDisplayMode.SINGLE))
    return common_parts(out, title, targets, **kw)


def table(title: str, targets: Sequence[Influx], **kw: Any) -> table_panel.Panel:
    """A table; ``sort_by`` names the column to sort descending."""
    out = table_panel.Panel().show_header(True).cell_height(model.TableCellHeight.SM)
    sort_by = kw.pop("sort_by", "")
    if sort_by:
        out.sort_by([common.TableSortByFieldState().display_name(sort_by).desc(True)])
    return common_parts(out, title, targets, **kw)


def bar_gauge(title: str, targets: Sequence[Influx], **kw: Any) -> bargauge.Panel:
    """Horizontal bars of the latest value of each series."""
    out = bargauge.Panel().color_scheme(colour_mode(dash.FieldColorModeId.PALETTE_CLASSIC)).decimals(0)
    out.orientation(model.VizOrientation.HORIZONTAL).display_mode(model.BarGaugeDisplayMode.BASIC)
    out.reduce_options(common.ReduceDataOptions().calcs(["lastNotNull"]))
    return common_parts(out, title, targets, **kw)


def text(title: str, content: str) -> text_panel.Panel:
    """A markdown text panel (no query)."""
    return text_panel.Panel().title(title).mode(TextMode.MARKDOWN).content(content)


@dataclass
class Grid:
    """Places panels left to right, wrapping at 24 columns; ``row`` starts a row header. Positions and ids
    are set on the builders here, so the SDK's own automatic layout keeps them."""

    panels: list[PanelBuilder] = field(default_factory=list)
    x: int = 0
    y: int = 0
    line_height: int = 0

    def add(self, item: PanelBuilder, w: int, h: int) -> None:
        """Place ``item`` (``w`` columns, ``h`` rows high)."""
        if self.x + w > 24:
            self.newline()
        item.grid_pos(dash.GridPos(x=self.x, y=self.y, w=w, h=h)).id(len(self.panels) + 1)
        self.panels.append(item)
        self.x += w
        self.line_height = max(self.line_height, h)

    def newline(self) -> None:
        """Continue below the tallest panel of the current line."""
        self.y += self.line_height
        self.x, self.line_height = 0, 0

    def row(self, title: str) -> None:
        """A row header across the full width."""
        self.newline()
        self.add(Row(title).collapsed(False), 24, 1)
        self.newline()

    def extend(self, items: Iterable[PanelBuilder], w: int, h: int) -> None:
        """Place several panels of the same size."""
        for item in items:
            self.add(item, w, h)
