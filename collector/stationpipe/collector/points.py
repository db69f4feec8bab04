"""Records -> InfluxDB line protocol, following the schema table of docs/design.md#influxdb.

The point key is the record's own timestamp, so a redelivered message rewrites the same point.
Reading values are always floats, so a field never changes type. Derived results are mapped generically
(numbers -> float fields, words -> string fields, word lists -> comma-joined strings) except the fields the
schema documents as integers (``water_class.class``, ``aqi.aqi``, ``aqi.level``).
"""

from __future__ import annotations

from datetime import datetime

from stationpipe.collector.lineproto import FieldValue, line, reading_line, reading_lines, timestamp_ns
from stationpipe.kernel.errors import RejectedError
from stationpipe.kernel.messages import Derived, DerivedValue, WarningAction, WarningEvent
from stationpipe.kernel.reading import StationMessage
from stationpipe.kernel.registry import StationInfo
from stationpipe.kernel.wire import ReadingRow, rfc3339

#: Fields the schema documents as integers, per measurement; every other number is a float.
INTEGER_FIELDS: dict[str, frozenset[str]] = {
    "water_class": frozenset({"class"}),
    "aqi": frozenset({"aqi", "level"}),
}


def readings_lines(msg: StationMessage) -> list[str]:
    """One ``readings`` line per reading: tags station, parameter; fields value (float, if any), flag."""
    return [
        reading_line(r.station, r.parameter, r.value, r.flag.value, timestamp_ns(r.ts)) for r in msg.readings
    ]


def rows_lines(station: str, ts: datetime, rows: list[ReadingRow]) -> list[str]:
    """The same lines as :func:`readings_lines`, from a message decoded as rows (the hot path)."""
    return reading_lines(station, timestamp_ns(ts), rows)


def _derived_field(index: str, key: str, value: DerivedValue) -> FieldValue:
    if isinstance(value, tuple):
        return ",".join(value)
    if isinstance(value, str):
        return value
    if key in INTEGER_FIELDS.get(index, frozenset()):
        if isinstance(value, float) and not value.is_integer():
            raise RejectedError(f"values.{key}: {value!r} must be an integer")
        return int(value)
    return float(value)


def derived_lines(msg: Derived) -> list[str]:
    """One line in the measurement named by the index (``water_class``, ``aqi``, …), tag station."""
    fields = {key: _derived_field(msg.index, key, value) for key, value in msg.values.items()}
    return [line(msg.index, {"station": msg.station}, fields, timestamp_ns(msg.ts))]


def warning_lines(msg: WarningEvent) -> list[str]:
    """One ``warnings`` line: tags station, rule, level; instants ``started``/``ended`` as RFC 3339 text."""
    fields: dict[str, FieldValue] = {"state": msg.state.value, "message": msg.message}
    fields["started"] = rfc3339(msg.started)
    if msg.ended is not None:
        fields["ended"] = rfc3339(msg.ended)
    if msg.parameter is not None:
        fields["parameter"] = msg.parameter
    if msg.value is not None:
        fields["value"] = float(msg.value)
    if msg.limit is not None:
        fields["limit"] = float(msg.limit)
    if msg.handling is not None:  # the human state, from an engine that tracks it
        fields["handling"] = msg.handling.value
        fields["acknowledged_by"] = msg.acknowledged_by or ""
        fields["assignee"] = msg.assignee or ""
    tags = {"station": msg.station, "rule": msg.rule, "level": str(msg.level)}
    return [line("warnings", tags, fields, timestamp_ns(msg.ts))]


def action_lines(msg: WarningAction) -> list[str]:
    """One ``warning_actions`` line: tags station, rule, action; who, the human state after, the episode."""
    fields: dict[str, FieldValue] = {
        "user": msg.user,
        "handling": msg.handling.value,
        "started": rfc3339(msg.started),
        "level": msg.level,
    }
    if msg.note is not None:
        fields["note"] = msg.note
    if msg.assignee is not None:
        fields["assignee"] = msg.assignee
    tags = {"station": msg.station, "rule": msg.rule, "action": msg.action}
    return [line("warning_actions", tags, fields, timestamp_ns(msg.ts))]


def station_line(info: StationInfo, ts_ns: int) -> str:
    """One ``stations`` line: tags station, kind, city, river; the rest as fields (``ts_ns``: file mtime)."""
    fields: dict[str, FieldValue] = {
        "name": info.name,
        "section": info.section,
        "lat": float(info.lat),
        "lon": float(info.lon),
    }
    if info.target_class is not None:
        fields["target_class"] = int(info.target_class)
    if info.water_body is not None:
        fields["water_body"] = info.water_body.value
    if info.drinking_source:
        fields["drinking_source"] = True
    tags = {"station": info.id, "kind": info.kind.value, "city": info.city, "river": info.river}
    return line("stations", tags, fields, ts_ns)
