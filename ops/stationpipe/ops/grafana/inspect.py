"""Walk a dashboard's queries: panel targets, template variables and annotations (for checks and tests)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from stationpipe.ops.grafana.panels import JSON


@dataclass(frozen=True, slots=True)
class Query:
    """One InfluxQL query and where it sits (``panel 'title' A``, ``variable station``, …)."""

    where: str
    text: str
    hidden: bool = False


def queries(board: JSON) -> Iterator[Query]:
    """Every query of ``board``, in dashboard order."""
    for var in board["templating"]["list"]:
        if var["type"] == "query":
            yield Query(f"variable {var['name']}", var["query"])
    for ann in board["annotations"]["list"]:
        if "query" in ann:
            yield Query(f"annotation {ann['name']}", ann["query"])
    for panel in board["panels"]:
        for tgt in panel.get("targets", ()):
            yield Query(f"panel {panel['title']!r} {tgt['refId']}", tgt["query"], bool(tgt.get("hide")))
