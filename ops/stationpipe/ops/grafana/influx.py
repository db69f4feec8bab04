"""Raw InfluxQL as a query of grafana-foundation-sdk: the SDK ships builders for many datasources but not
for InfluxDB, so this module gives it one, in the SDK's own shape (a ``Dataquery`` variant with ``to_json``
/ ``from_json`` and a builder), and registers it for the ``influxdb`` datasource type so that the SDK's
models read the dashboards' targets back as InfluxQL queries (stationpipe.ops.grafana.schema).

The fields are those of Grafana's InfluxDB query model for raw InfluxQL (``rawQuery``, ``query``,
``resultFormat``, ``alias``, ``hide``, ``refId``, ``datasource``); the visual editor's fields are not used.
"""

from __future__ import annotations

from typing import Any, Literal, Self

from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.cog import runtime as cogruntime
from grafana_foundation_sdk.cog import variants as cogvariants
from grafana_foundation_sdk.cog.plugins import register_default_plugins
from grafana_foundation_sdk.models.dashboard import DataSourceRef

#: The datasource type Grafana gives InfluxDB.
TYPE = "influxdb"
ResultFormat = Literal["time_series", "table"]


class InfluxQuery(cogvariants.Dataquery):
    """One raw InfluxQL query of a panel."""

    def __init__(
        self,
        query: str = "",
        *,
        ref_id: str = "A",
        datasource: DataSourceRef | None = None,
        result_format: ResultFormat = "time_series",
        alias: str | None = None,
        hide: bool | None = None,
    ) -> None:
        self.query = query
        self.ref_id = ref_id
        self.datasource = datasource
        self.result_format = result_format
        self.alias = alias
        self.hide = hide

    def to_json(self) -> dict[str, object]:
        """Grafana's JSON of the query (keys absent when unset)."""
        payload: dict[str, object] = {
            "refId": self.ref_id,
            "rawQuery": True,
            "query": self.query,
            "resultFormat": self.result_format,
        }
        if self.datasource is not None:
            payload["datasource"] = self.datasource
        if self.alias is not None:
            payload["alias"] = self.alias
        if self.hide is not None:
            payload["hide"] = self.hide
        return payload

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Self:
        """The query from Grafana's JSON; keys this model does not know are left behind (and so found)."""
        args: dict[str, Any] = {}
        names = {"query": "query", "refId": "ref_id", "resultFormat": "result_format", "alias": "alias"}
        for key, name in names.items():
            if key in data:
                args[name] = data[key]
        if "hide" in data:
            args["hide"] = data["hide"]
        if "datasource" in data:
            args["datasource"] = DataSourceRef.from_json(data["datasource"])
        return cls(**args)  # ``rawQuery`` is always written true: a query that is not raw InfluxQL shows


class Influx(cogbuilder.Builder[InfluxQuery]):
    """Builder of an ``InfluxQuery``, in the style of the SDK's builders."""

    def __init__(self, query: str) -> None:
        self._internal = InfluxQuery(query)

    def build(self) -> InfluxQuery:
        """The query."""
        return self._internal

    def ref_id(self, ref_id: str) -> Self:
        """The letter panels and transformations refer to the query by."""
        self._internal.ref_id = ref_id
        return self

    def datasource(self, datasource: DataSourceRef) -> Self:
        """The datasource the query runs on."""
        self._internal.datasource = datasource
        return self

    def result_format(self, result_format: ResultFormat) -> Self:
        """``table`` returns tags as columns (tables, geomaps, joins)."""
        self._internal.result_format = result_format
        return self

    def alias(self, alias: str) -> Self:
        """The series name (``$tag_x`` substitutes a tag)."""
        self._internal.alias = alias
        return self

    def hide(self, hide: bool) -> Self:  # noqa: FBT001 - mirrors the SDK's builders
        """Run the query but do not draw it."""
        self._internal.hide = hide
        return self


def register() -> None:
    """Teach the SDK's runtime every panel type and the InfluxDB query (idempotent)."""
    register_default_plugins()
    cogruntime.register_dataquery_variant(
        cogruntime.DataqueryConfig(identifier=TYPE, from_json_hook=InfluxQuery.from_json)
    )
