"""Small builders for Grafana dashboard JSON (schema of Grafana 10/11): targets, panels, thresholds.

Every query is raw InfluxQL against the provisioned datasource ``DATASOURCE``; panels are laid out by a
``Grid`` (24 columns) so dashboard modules only say what goes where, in reading order.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

JSON = dict[str, Any]

#: The one datasource every panel uses (provisioned with this uid; see deploy/grafana/provisioning/).
DATASOURCE: JSON = {"type": "influxdb", "uid": "stationpipe-influxdb"}


def target(query: str, ref: str = "A", *, table: bool = False, alias: str = "", hide: bool = False) -> JSON:
    """One raw InfluxQL query; ``table`` returns tags as columns (for tables, geomaps and joins)."""
    out: JSON = {
        "datasource": DATASOURCE,
        "refId": ref,
        "rawQuery": True,
        "query": query,
        "resultFormat": "table" if table else "time_series",
    }
    if alias:
        out["alias"] = alias
    if hide:
        out["hide"] = True
    return out


def steps(base: str, *pairs: tuple[float, str]) -> JSON:
    """Absolute thresholds: ``base`` colour below the first value, then each ``(value, colour)``."""
    items: list[JSON] = [{"color": base, "value": None}]
    items += [{"color": colour, "value": value} for value, colour in pairs]
    return {"mode": "absolute", "steps": items}


def value_map(entries: Mapping[str, tuple[str, str]], *, null_colour: str = "") -> list[JSON]:
    """A value mapping ``{value: (text, colour)}``; optionally colour nulls (``transparent`` hides them)."""
    options = {
        key: {"text": text, "color": colour, "index": i}
        for i, (key, (text, colour)) in enumerate(entries.items())
    }
    out: list[JSON] = [{"type": "value", "options": options}]
    if null_colour:
        out.append({"type": "special", "options": {"match": "null", "result": {"color": null_colour}}})
    return out


def override(name: str, **props: Any) -> JSON:
    """A field override by field name; ``props`` become ``{"id": key, "value": value}`` pairs."""
    key_ids = {"display_name": "displayName", "custom_line_style": "custom.lineStyle"}
    return {
        "matcher": {"id": "byName", "options": name},
        "properties": [{"id": key_ids.get(k, k), "value": v} for k, v in props.items()],
    }


def panel(
    kind: str,
    title: str,
    targets: Sequence[JSON],
    *,
    defaults: JSON | None = None,
    options: JSON | None = None,
    overrides: Sequence[JSON] = (),
    transformations: Sequence[JSON] = (),
    description: str = "",
) -> JSON:
    """A panel without position (the ``Grid`` places it)."""
    out: JSON = {
        "type": kind,
        "title": title,
        "datasource": DATASOURCE,
        "targets": list(targets),
        "fieldConfig": {"defaults": defaults or {}, "overrides": list(overrides)},
        "options": options or {},
    }
    if transformations:
        out["transformations"] = list(transformations)
    if description:
        out["description"] = description
    return out


def stat(title: str, query: str, *, unit: str = "none", thresholds: JSON | None = None, **kw: Any) -> JSON:
    """A single number with its colour from ``thresholds``."""
    defaults: JSON = {"unit": unit, "decimals": kw.pop("decimals", 1), "noValue": kw.pop("no_value", "—")}
    defaults["color"] = {"mode": "thresholds"}
    defaults["thresholds"] = thresholds or steps("blue")
    if "mappings" in kw:
        defaults["mappings"] = kw.pop("mappings")
    options = {
        "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
        "colorMode": "background",
    }
    options["graphMode"] = "none"
    return panel("stat", title, [target(query)], defaults=defaults, options=options, **kw)


def timeseries(title: str, targets: Sequence[JSON], *, unit: str = "none", **kw: Any) -> JSON:
    """Lines over time; ``bars=True`` draws bars; ``thresholds`` are drawn as dashed lines and bands."""
    custom: JSON = {"drawStyle": "bars" if kw.pop("bars", False) else "line", "spanNulls": True}
    custom["fillOpacity"] = 60 if custom["drawStyle"] == "bars" else 10
    defaults: JSON = {"unit": unit, "custom": custom, "color": {"mode": "palette-classic"}}
    if "thresholds" in kw:
        defaults["thresholds"] = kw.pop("thresholds")
        custom["thresholdsStyle"] = {"mode": kw.pop("thresholds_style", "line+area")}
    if kw.pop("colour_by_thresholds", False):
        defaults["color"] = {"mode": "thresholds"}
        custom["gradientMode"] = "scheme"
    options = {"legend": {"displayMode": "list", "placement": "bottom"}, "tooltip": {"mode": "multi"}}
    return panel("timeseries", title, targets, defaults=defaults, options=options, **kw)


def state_timeline(title: str, targets: Sequence[JSON], mappings: list[JSON], **kw: Any) -> JSON:
    """Coloured bands of a categorical value over time (flags, classes, primary pollutant)."""
    defaults: JSON = {"mappings": mappings, "color": {"mode": "fixed", "fixedColor": "#8E8E8E"}}
    defaults["custom"] = {"fillOpacity": 80, "lineWidth": 0}
    options = {"showValue": "never", "mergeValues": True, "rowHeight": 0.8, "legend": {"showLegend": False}}
    return panel("state-timeline", title, targets, defaults=defaults, options=options, **kw)


def table(title: str, targets: Sequence[JSON], **kw: Any) -> JSON:
    """A table; ``sort_by`` names the column to sort descending."""
    options: JSON = {"showHeader": True, "cellHeight": "sm"}
    sort_by = kw.pop("sort_by", "")
    if sort_by:
        options["sortBy"] = [{"displayName": sort_by, "desc": True}]
    return panel("table", title, targets, options=options, **kw)


def text(title: str, content: str) -> JSON:
    """A markdown text panel (no query)."""
    out = panel("text", title, [], options={"mode": "markdown", "content": content})
    del out["datasource"]
    return out


@dataclass
class Grid:
    """Places panels left to right, wrapping at 24 columns; ``row`` starts a collapsible-looking header."""

    panels: list[JSON] = field(default_factory=list)
    x: int = 0
    y: int = 0
    line_height: int = 0

    def add(self, item: JSON, w: int, h: int) -> None:
        """Place ``item`` (``w`` columns, ``h`` rows high)."""
        if self.x + w > 24:
            self.newline()
        item["gridPos"] = {"x": self.x, "y": self.y, "w": w, "h": h}
        item["id"] = len(self.panels) + 1
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
        self.add({"type": "row", "title": title, "collapsed": False, "panels": []}, 24, 1)
        self.newline()

    def extend(self, items: Iterable[JSON], w: int, h: int) -> None:
        """Place several panels of the same size."""
        for item in items:
            self.add(item, w, h)
