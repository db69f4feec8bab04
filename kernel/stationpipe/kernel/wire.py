"""Records <-> MQTT topics and versioned JSON payloads (``"v": 1``), for every topic in docs/design.md#mqtt.

Encoding is canonical (compact UTF-8 JSON, RFC 3339 UTC timestamps ending in ``Z``). Decoding is strict:
pydantic schemas with ``extra="forbid"`` and strict types; the first problem becomes one ``WireError``
whose ``field`` is the dotted path (``readings.nh3n.value``). A payload never decodes to half a message.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Literal, NamedTuple, NotRequired, TypeVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, with_config
from typing_extensions import TypedDict  # pydantic needs this one before Python 3.12

from stationpipe.kernel.errors import WireError
from stationpipe.kernel.messages import (
    AgentState,
    AlertState,
    DeadLetter,
    Derived,
    DerivedValue,
    Handling,
    StationStatus,
    WarningAction,
    WarningEvent,
)
from stationpipe.kernel.reading import Flag, Reading, StationMessage
from stationpipe.kernel.wire_topics import Topic, TopicKind, parse_topic, readings_topic, topic_for

__all__ = ["Topic", "TopicKind", "decode", "encode", "parse_topic", "rfc3339", "topic_for"]

VERSION = 1
_Message = StationMessage | StationStatus | Derived | WarningEvent | WarningAction | DeadLetter


_STRICT = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)


class _Strict(BaseModel):
    model_config = ConfigDict(**_STRICT, frozen=True)


_Id = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.\-]+$")


@with_config(_STRICT)
class _Point(TypedDict):
    """One reading of a readings message: validated as strictly as the models, but kept a dict (ten
    per message: building a model for each cost a consumer a third of its decoding time)."""

    value: float | None
    unit: str
    flag: Flag
    ts: NotRequired[AwareDatetime | None]


class _Readings(_Strict):
    v: Literal[1]
    station: str = _Id
    device: str = _Id
    seq: int = Field(ge=0)
    ts: AwareDatetime
    readings: dict[str, _Point]
    backfill: bool = False  # written only when true: every other payload is as before


class _Status(_Strict):
    v: Literal[1]
    station: str = _Id
    state: AgentState
    ts: AwareDatetime
    version: str
    spool_depth: int = Field(ge=0)
    health: str


class _Derived(_Strict):
    v: Literal[1]
    station: str = _Id
    index: str = _Id
    ts: AwareDatetime
    values: dict[str, float | int | str | list[str]]


class _Warning(_Strict):
    v: Literal[1]
    station: str = _Id
    rule: str = _Id
    level: int = Field(ge=1, le=4)
    state: AlertState
    message: str
    started: AwareDatetime
    ts: AwareDatetime
    parameter: str | None
    value: float | None
    limit: float | None
    ended: AwareDatetime | None
    # the human state: written only by an engine that tracks it (every other payload is as before)
    handling: Handling | None = None
    acknowledged_by: str | None = None
    assignee: str | None = None


class _Action(_Strict):
    v: Literal[1]
    station: str = _Id
    rule: str = _Id
    started: AwareDatetime
    action: str = _Id
    user: str = Field(min_length=1, max_length=128)
    ts: AwareDatetime
    handling: Handling
    level: int = Field(ge=1, le=4)
    note: str | None = None
    assignee: str | None = None


class _DeadLetter(_Strict):
    v: Literal[1]
    component: str = _Id
    reason: str
    topic: str
    payload: str
    encoding: Literal["utf-8", "base64"]
    ts: AwareDatetime


def rfc3339(ts: datetime) -> str:
    """RFC 3339 UTC with a ``Z``; microseconds only when present (lossless for our timestamps)."""
    return ts.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _utc(ts: datetime, field: str = "ts") -> datetime:
    try:
        return ts.astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00:00+01:00: valid RFC 3339, no UTC instant in Python
        raise WireError(field, f"{ts.isoformat()} is out of range once converted to UTC") from None


def _dumps(obj: dict[str, Any]) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()


# --- encoding --------------------------------------------------------------------------------------


def _encode_readings(msg: StationMessage) -> dict[str, Any]:
    points: dict[str, Any] = {}
    for r in msg.readings:
        point: dict[str, Any] = {"value": r.value, "unit": r.unit, "flag": r.flag.value}
        if r.ts != msg.ts:
            point["ts"] = rfc3339(r.ts)
        points[r.parameter] = point
    return {
        "station": msg.station,
        "device": msg.device,
        "seq": msg.seq,
        "ts": rfc3339(msg.ts),
        "readings": points,
    } | ({"backfill": True} if msg.backfill else {})


def _encode_status(msg: StationStatus) -> dict[str, Any]:
    return {
        "station": msg.station,
        "state": msg.state.value,
        "ts": rfc3339(msg.ts),
        "version": msg.version,
        "spool_depth": msg.spool_depth,
        "health": msg.health,
    }


def _encode_derived(msg: Derived) -> dict[str, Any]:
    values = {k: list(v) if isinstance(v, tuple) else v for k, v in msg.values.items()}
    return {"station": msg.station, "index": msg.index, "ts": rfc3339(msg.ts), "values": values}


def _encode_warning(msg: WarningEvent) -> dict[str, Any]:
    return {
        "station": msg.station,
        "rule": msg.rule,
        "level": msg.level,
        "state": msg.state.value,
        "message": msg.message,
        "started": rfc3339(msg.started),
        "ts": rfc3339(msg.ts),
        "parameter": msg.parameter,
        "value": msg.value,
        "limit": msg.limit,
        "ended": rfc3339(msg.ended) if msg.ended else None,
    } | _human(msg)


def _human(msg: WarningEvent) -> dict[str, Any]:
    """The human state's fields, only when the engine tracks it."""
    if msg.handling is None:
        return {}
    return {
        "handling": msg.handling.value,
        "acknowledged_by": msg.acknowledged_by,
        "assignee": msg.assignee,
    }


def _encode_action(msg: WarningAction) -> dict[str, Any]:
    return {
        "station": msg.station,
        "rule": msg.rule,
        "started": rfc3339(msg.started),
        "action": msg.action,
        "user": msg.user,
        "ts": rfc3339(msg.ts),
        "handling": msg.handling.value,
        "level": msg.level,
        "note": msg.note,
        "assignee": msg.assignee,
    }


def _encode_deadletter(msg: DeadLetter) -> dict[str, Any]:
    return {
        "component": msg.component,
        "reason": msg.reason,
        "topic": msg.topic,
        "payload": msg.payload,
        "encoding": msg.encoding,
        "ts": rfc3339(msg.ts),
    }


def encode(msg: _Message) -> tuple[str, bytes]:
    """Return the topic and the JSON payload for any record that travels over MQTT."""
    body: dict[str, Any]
    if isinstance(msg, StationMessage):
        body = _encode_readings(msg)
    elif isinstance(msg, StationStatus):
        body = _encode_status(msg)
    elif isinstance(msg, Derived):
        body = _encode_derived(msg)
    elif isinstance(msg, WarningEvent):
        body = _encode_warning(msg)
    elif isinstance(msg, WarningAction):
        body = _encode_action(msg)
    else:
        body = _encode_deadletter(msg)
    return topic_for(msg), _dumps({"v": VERSION, **body})


# --- decoding --------------------------------------------------------------------------------------

_M = TypeVar("_M", bound=_Strict)


def _validate(schema: type[_M], payload: bytes) -> _M:
    try:
        return schema.model_validate_json(payload)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        where = ".".join(str(part) for part in err["loc"]) or "payload"
        raise WireError(where, err["msg"]) from None


def _decode_readings(p: _Readings) -> StationMessage:
    ts = _utc(p.ts)
    readings = []
    for code, point in p.readings.items():
        own = point.get("ts")
        at = _utc(own, f"readings.{code}.ts") if own else ts
        try:
            readings.append(Reading(p.station, code, point["value"], point["unit"], at, point["flag"]))
        except ValueError as exc:
            raise WireError(f"readings.{code}", str(exc)) from None
    return StationMessage(p.station, p.device, p.seq, ts, tuple(readings), p.backfill)


def _decode_status(p: _Status) -> StationStatus:
    return StationStatus(p.station, p.state, _utc(p.ts), p.version, p.spool_depth, p.health)


def _decode_derived(p: _Derived) -> Derived:
    values: dict[str, DerivedValue] = {k: tuple(v) if isinstance(v, list) else v for k, v in p.values.items()}
    return Derived(p.station, p.index, _utc(p.ts), values)


def _decode_warning(p: _Warning) -> WarningEvent:
    return WarningEvent(
        p.station,
        p.rule,
        p.level,
        p.state,
        p.message,
        _utc(p.started, "started"),
        _utc(p.ts),
        p.parameter,
        p.value,
        p.limit,
        _utc(p.ended, "ended") if p.ended else None,
        p.handling,
        p.acknowledged_by,
        p.assignee,
    )


def _decode_action(p: _Action) -> WarningAction:
    return WarningAction(
        p.station,
        p.rule,
        _utc(p.started, "started"),
        p.action,
        p.user,
        _utc(p.ts),
        p.handling,
        p.level,
        p.note,
        p.assignee,
    )


def _decode_deadletter(p: _DeadLetter) -> DeadLetter:
    return DeadLetter(p.component, p.reason, p.topic, p.payload, _utc(p.ts), p.encoding)


_DECODERS: dict[TopicKind, tuple[type[_Strict], Callable[[Any], _Message]]] = {
    TopicKind.READINGS: (_Readings, _decode_readings),
    TopicKind.STATUS: (_Status, _decode_status),
    TopicKind.DERIVED: (_Derived, _decode_derived),
    TopicKind.WARNING: (_Warning, _decode_warning),
    TopicKind.ACTION: (_Action, _decode_action),
    TopicKind.DEADLETTER: (_DeadLetter, _decode_deadletter),
}


def decode(topic: str, payload: bytes) -> _Message:
    """Decode one MQTT message strictly; the topic must agree with the payload.

    Raises ``WireError`` naming the offending field (``topic`` for a topic problem).
    """
    where = parse_topic(topic)
    schema, build = _DECODERS[where.kind]
    msg = build(_validate(schema, payload))
    if topic_for(msg) != where.topic:
        raise WireError("topic", f"{topic!r} does not match the payload (expected {topic_for(msg)!r})")
    return msg


class ReadingRow(NamedTuple):
    """One reading of a validated readings message, not built into a ``Reading`` (a consumer's hot path;
    a named tuple because it is made ten times per message and a frozen dataclass costs three times more).

    ``flag`` is a ``Flag``, which is a ``str``. ``ts`` is the reading's own UTC instant when it differs
    from the message's, else ``None``.
    """

    parameter: str
    value: float | None
    flag: str
    ts: datetime | None


class ReadingRows(NamedTuple):
    """A readings message decoded as rows: station, the message's UTC instant, the rows, and the latest
    instant among the message's and its readings' own."""

    station: str
    ts: datetime
    rows: list[ReadingRow]
    latest: datetime


_row = tuple.__new__  # builds a ReadingRow without its generated __new__ (a Python call per row)


def decode_readings_rows(topic: str, payload: bytes) -> ReadingRows:
    """Decode a ``stations/<id>/readings`` message as strictly as :func:`decode` does, without building
    records. ``WireError`` as :func:`decode`."""
    return decode_readings_marked(topic, payload)[0]


def decode_readings_marked(topic: str, payload: bytes) -> tuple[ReadingRows, bool]:
    """:func:`decode_readings_rows` and whether the message is marked ``backfill`` (re-sent after an
    outage)."""
    where = parse_topic(topic)
    if where.kind is not TopicKind.READINGS:
        raise WireError("topic", f"{topic!r} is not a readings topic")
    p = _validate(_Readings, payload)
    if p.station != where.owner:
        expected = readings_topic(p.station)
        raise WireError("topic", f"{topic!r} does not match the payload (expected {expected!r})")
    ts = latest = _utc(p.ts)
    rows = []
    for code, point in p.readings.items():
        if not code:
            raise WireError("readings", "a parameter code must not be empty")
        at = point.get("ts")
        if at is not None:
            at = _utc(at, f"readings.{code}.ts")
            latest = max(latest, at)
            if at == ts:
                at = None
        rows.append(_row(ReadingRow, (code, point["value"], point["flag"], at)))
    return ReadingRows(p.station, ts, rows, latest), p.backfill


def dead_letter(component: str, reason: str, topic: str, payload: bytes, ts: datetime) -> DeadLetter:
    """Wrap undecodable input for ``deadletter/<component>``, keeping its bytes exactly."""
    try:
        return DeadLetter(component, reason, topic, payload.decode("utf-8"), ts)
    except UnicodeDecodeError:
        return DeadLetter(component, reason, topic, base64.b64encode(payload).decode(), ts, "base64")
