"""Check a dashboard's JSON against grafana-foundation-sdk's models, which are generated from Grafana's own
schema: read it with the models (``Dashboard.from_json``, each panel's options and field config by its
type, each target as an InfluxQL query) and write it back. Whatever the models do not know is dropped on
the way, and whatever they read differently comes back changed; both are reported, so a misspelt key, an
option of the wrong panel type or a value of the wrong shape shows. Keys the models add (their defaults)
are not reported.

The only keys allowed beyond the models are ``EXTENSIONS``: the InfluxDB annotation's query and columns,
which the SDK's annotation model cannot hold (stationpipe.ops.grafana.dashboard).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.dashboard import Dashboard

from stationpipe.ops.grafana.influx import register
from stationpipe.ops.grafana.panels import JSON

#: Paths (``/``-separated, list indices as ``[]``) of keys the SDK's models do not hold, and why.
EXTENSIONS: dict[str, str] = {
    "/annotations/list[]/query": "InfluxQL of an InfluxDB annotation (the SDK models built-in ones only)",
    "/annotations/list[]/textColumn": "the column an InfluxDB annotation shows as text",
    "/annotations/list[]/tagsColumn": "the columns an InfluxDB annotation shows as tags",
}


def round_trip(board: JSON) -> JSON:
    """``board`` read by the SDK's models and written back."""
    register()
    back: JSON = json.loads(JSONEncoder().encode(Dashboard.from_json(board)))
    return back


def problems(board: JSON) -> list[str]:
    """What of ``board`` the SDK's models do not hold or read differently (empty: it follows the schema)."""
    return [p for p in _differences(board, round_trip(board), "") if _generic(p) not in EXTENSIONS]


def _generic(problem: str) -> str:
    """The path of a ``lost`` problem with list indices dropped (as ``EXTENSIONS`` names them)."""
    if not problem.startswith("lost "):
        return ""
    return re.sub(r"\[\d+\]", "[]", problem.removeprefix("lost ").split(" ", 1)[0])


def _differences(original: Any, back: Any, path: str) -> Iterator[str]:
    if isinstance(original, dict) and isinstance(back, dict):
        for key, value in original.items():
            if key not in back:
                yield f"lost {path}/{key} = {json.dumps(value, ensure_ascii=False)[:80]}"
            else:
                yield from _differences(value, back[key], f"{path}/{key}")
    elif isinstance(original, list) and isinstance(back, list):
        if len(original) != len(back):
            yield f"changed {path}: {len(original)} items read as {len(back)}"
        for i, (item, again) in enumerate(zip(original, back, strict=False)):
            yield from _differences(item, again, f"{path}[{i}]")
    elif original != back or type(original) is not type(back):
        yield f"changed {path}: {original!r} read as {back!r}"
