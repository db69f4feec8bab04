"""A :class:`Notification`: one lifecycle change of one instance, in every shape a sink needs.

``id`` is deterministic (``station/rule.param/started-ms/change/level``): the same change always has the
same id, so a re-delivery after a crash carries the same idempotency key and receivers drop it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, NamedTuple

from stationpipe.kernel.messages import AlertState, Handling, WarningEvent
from stationpipe.kernel.registry import StationInfo, WaterClass
from stationpipe.kernel.wire import rfc3339
from stationpipe.rules.lifecycle import Change, Instance

_STATE = {
    Change.PENDING: AlertState.PENDING,
    Change.FIRING: AlertState.FIRING,
    Change.ESCALATED: AlertState.FIRING,
    Change.DEESCALATED: AlertState.FIRING,
    Change.CANCELLED: AlertState.RESOLVED,
    Change.RESOLVED: AlertState.RESOLVED,
}
_DONE = frozenset({Change.RESOLVED, Change.CANCELLED})
COLOURS = {1: "blue", 2: "yellow", 3: "orange", 4: "red"}
COLOURS_ZH = {1: "蓝色", 2: "黄色", 3: "橙色", 4: "红色"}
_tuple_new = tuple.__new__
#: ``Change.value`` and ``WaterClass.label``, looked up in a dict rather than through enum properties.
_CHANGE_VALUES = {c: c.value for c in Change}
_CLASS_LABELS = {c: c.label for c in WaterClass}


def _utc(epoch: float | None) -> datetime | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, UTC)


class Notification(NamedTuple):
    """Everything about one change; times are UTC (reading time, except no-data and deadman: wall clock).

    Immutable; a named tuple rather than a frozen dataclass because it is built on the engine's hot path
    (every lifecycle change) and a frozen dataclass of 20 fields costs several times more to construct.
    """

    id: str
    change: Change
    station: str
    section: str
    rule: str
    topic_rule: str
    parameter: str | None
    level: int
    value: float | None
    limit: float | None
    multiple: float | None
    target_class: str | None
    started: datetime
    ended: datetime | None
    ts: datetime
    message_zh: str
    message_en: str
    backfilled: bool
    expected: datetime | None
    fired: bool
    station_name: str
    city: str
    river: str
    kind: str
    handling: Handling
    acknowledged_by: str | None
    assignee: str | None

    @property
    def state(self) -> AlertState:
        """pending, firing or resolved."""
        return _STATE[self.change]

    @property
    def message(self) -> str:
        """Bilingual operator message: ``"<中文> / <English>"``."""
        return f"{self.message_zh} / {self.message_en}"

    def warning(self) -> WarningEvent:
        """The retained ``warnings/<station>/<rule>`` record."""
        return WarningEvent(
            self.station,
            self.topic_rule,
            self.level,
            self.state,
            self.message,
            self.started,
            self.ts,
            self.parameter,
            self.value,
            self.limit,
            self.ended,
            self.handling if self.fired else None,
            self.acknowledged_by,
            self.assignee,
        )

    def to_json(self) -> dict[str, Any]:
        """The webhook body (schema in :mod:`stationpipe.rules.channels.webhook`) and the outbox record."""
        return {
            "v": 1,
            "id": self.id,
            "station": self.station,
            "section": self.section,
            "rule": self.rule,
            "instance": self.topic_rule,
            "parameter": self.parameter,
            "level": self.level,
            "colour": COLOURS[self.level],
            "state": self.state.value,
            "change": self.change.value,
            "value": self.value,
            "limit": self.limit,
            "target_class": self.target_class,
            "exceedance_multiple": self.multiple,
            "started": rfc3339(self.started),
            "ended": rfc3339(self.ended) if self.ended else None,
            "ts": rfc3339(self.ts),
            "expected": rfc3339(self.expected) if self.expected else None,
            "backfilled": self.backfilled,
            "fired": self.fired,
            "station_name": self.station_name,
            "city": self.city,
            "river": self.river,
            "kind": self.kind,
            "message": {"zh": self.message_zh, "en": self.message_en},
            "acknowledged": self.acknowledged_by is not None,
            "handling": {
                "state": self.handling.value,
                "acknowledged_by": self.acknowledged_by,
                "assignee": self.assignee,
            },
        }


def notification(
    inst: Instance, change: Change, info: StationInfo | None, ts: float, kind: str = ""
) -> Notification:
    """Build the notification of ``change`` of ``inst`` at ``ts`` (epoch s); ``kind``: the rule's kind."""
    started = inst.since if inst.since is not None else ts
    done = change in _DONE
    zh = f"{COLOURS_ZH[inst.level]}预警 {inst.zh}" if not done else f"已解除 {inst.zh}"
    en = f"{COLOURS[inst.level]} warning: {inst.en}" if not done else f"resolved: {inst.en}"
    if inst.backfilled:
        zh, en = f"[补传] {zh}", f"[backfilled] {en}"
    target = _CLASS_LABELS[info.target_class] if info is not None and info.target_class is not None else None
    station, parameter, level = inst.station, inst.parameter, inst.level
    topic_rule = inst.topic_rule
    # Every field in order, built in C (a lifecycle change is on the hot path): see Notification's fields.
    return _tuple_new(
        Notification,
        (
            f"{station}/{topic_rule}/{round(started * 1000)}/{_CHANGE_VALUES[change]}/{level}",  # id
            change,
            station,
            info.section if info is not None else "",  # section
            inst.rule,
            topic_rule,
            parameter,
            max(level, 1),  # level
            inst.value,
            inst.limit,
            inst.multiple,
            target,  # target_class
            datetime.fromtimestamp(started, UTC),  # started
            _utc(inst.ended) if done else None,  # ended
            datetime.fromtimestamp(ts, UTC),  # ts
            zh,  # message_zh
            en,  # message_en
            inst.backfilled,
            _utc(inst.expected),  # expected
            inst.fired,
            info.name if info is not None else "",  # station_name
            info.city if info is not None else "",  # city
            info.river if info is not None else "",  # river
            kind,
            inst.handling,
            inst.acknowledged_by,
            inst.assignee,
        ),
    )
