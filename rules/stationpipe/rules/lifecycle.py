"""Lifecycle of one warning instance (rule x station x parameter), pure and driven by reading time.

::

    inactive ──active──► pending ──active for `for`──► firing ──clear (and `keep_firing_for` over)──► resolved
        ▲                   │ (for = 0: straight to firing)  │ level changes: escalated / de-escalated
        └──── resolved ◄────┘ not active: cancelled          └ not active but not clear: stays firing

- *active*: the kind's outcome has a level > 0; *clear*: its separate clear condition (hysteresis);
- ``for`` and ``keep_firing_for`` are measured in reading time, so backfilled data behaves as live data;
- no-data policy (wall clock, timer): ``keep`` holds the state, ``resolve`` resolves after ``no_data_after``.

Beside the machine phase an instance carries the human state of its current episode (``handling``,
``acknowledged_by``, ``assignee``: :mod:`stationpipe.rules.handling`); a new episode (inactive or resolved
to pending) starts it afresh as ``issued`` and unacknowledged.

:func:`step` mutates the instance and returns the :class:`Change` to notify, or ``None``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

from stationpipe.kernel.messages import Handling
from stationpipe.rules.kinds.base import Outcome
from stationpipe.rules.rule_models import AnyRule


class Phase(StrEnum):
    """Where an instance is in its lifecycle."""

    INACTIVE = "inactive"
    PENDING = "pending"
    FIRING = "firing"
    RESOLVED = "resolved"


class Change(StrEnum):
    """A transition worth telling someone about."""

    PENDING = "pending"
    FIRING = "firing"
    ESCALATED = "escalated"
    DEESCALATED = "deescalated"
    CANCELLED = "cancelled"  # pending that never fired
    RESOLVED = "resolved"


_OPEN = frozenset({Phase.PENDING, Phase.FIRING})
_IDLE = frozenset({Phase.INACTIVE, Phase.RESOLVED})


@dataclass
class Instance:
    """Durable state of one instance. Instants are epoch seconds (UTC): reading time except ``seen_wall``."""

    station: str
    rule: str
    parameter: str | None
    phase: Phase = Phase.INACTIVE
    level: int = 0
    since: float | None = None
    last_active: float | None = None
    ended: float | None = None
    fired: bool = False
    value: float | None = None
    limit: float | None = None
    multiple: float | None = None
    zh: str = ""
    en: str = ""
    expected: float | None = None
    seen_wall: float = 0.0
    backfilled: bool = False
    until: float | None = None  # a pre-warning's latest expected arrival (epoch s)
    handling: Handling = Handling.ISSUED
    acknowledged_by: str | None = None
    acknowledged_at: float | None = None
    assignee: str | None = None

    @property
    def key(self) -> str:
        """``station/rule/parameter``: the durable key."""
        return f"{self.station}/{self.rule}/{self.parameter or '-'}"

    @property
    def topic_rule(self) -> str:
        """The rule segment of ``warnings/<station>/<rule>``: ``rule.parameter`` or the rule alone."""
        return f"{self.rule}.{self.parameter}" if self.parameter else self.rule

    @property
    def acknowledged(self) -> bool:
        """An operator acknowledged this episode: reminders and escalation to people stop."""
        return self.acknowledged_by is not None

    @property
    def episode(self) -> str:
        """``station/rule.parameter/started-ms``: names one episode (the prefix of its notifications' ids)."""
        return f"{self.station}/{self.topic_rule}/{round((self.since or 0.0) * 1000)}"

    @property
    def open(self) -> bool:
        """Pending or firing."""
        return self.phase in _OPEN

    def to_json(self) -> dict[str, Any]:
        """JSON-able dict (for the state store)."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Instance:
        """Inverse of :meth:`to_json`."""
        handling = Handling(data.get("handling", Handling.ISSUED))
        return cls(**{**data, "phase": Phase(data["phase"]), "handling": handling})


@dataclass(frozen=True, slots=True)
class Policy:
    """Lifecycle options of a rule, in seconds."""

    for_s: float
    keep_s: float
    no_data: str
    no_data_after_s: float

    @classmethod
    def of(cls, rule: AnyRule) -> Policy:
        """The rule's lifecycle options."""
        return cls(
            rule.for_.total_seconds(),
            rule.keep_firing_for.total_seconds(),
            rule.no_data,
            rule.no_data_after.total_seconds(),
        )


def _details(inst: Instance, o: Outcome) -> None:
    inst.value, inst.limit, inst.multiple = o.value, o.limit, o.multiple
    inst.zh, inst.en = o.zh, o.en
    inst.expected = o.expected.timestamp() if o.expected else None


def _new_episode(inst: Instance) -> None:
    inst.handling, inst.acknowledged_by, inst.acknowledged_at, inst.assignee = (
        Handling.ISSUED,
        None,
        None,
        None,
    )


def _fire(inst: Instance) -> Change:
    inst.phase, inst.fired = Phase.FIRING, True
    return Change.FIRING


def _active(inst: Instance, o: Outcome, ts: float, policy: Policy) -> Change | None:
    _details(inst, o)
    inst.last_active = ts
    if inst.phase in _IDLE:
        inst.phase, inst.since, inst.ended, inst.fired, inst.level = Phase.PENDING, ts, None, False, o.level
        _new_episode(inst)
        return _fire(inst) if policy.for_s <= 0 else Change.PENDING
    if inst.phase is Phase.PENDING:
        inst.level = o.level
        since = ts if inst.since is None else inst.since
        return _fire(inst) if ts - since >= policy.for_s else None
    if o.level == inst.level:
        return None
    up = o.level > inst.level
    inst.level = o.level
    return Change.ESCALATED if up else Change.DEESCALATED


def _resolve(inst: Instance, ts: float) -> Change:
    inst.phase, inst.ended = Phase.RESOLVED, ts
    return Change.RESOLVED if inst.fired else Change.CANCELLED


def close(inst: Instance, ts: float) -> Change | None:
    """End an open instance at ``ts`` whatever its outcome (a pre-warning whose source or window ended)."""
    return _resolve(inst, ts) if inst.open else None


def step(inst: Instance, o: Outcome, ts: float, policy: Policy, wall: float) -> Change | None:
    """Apply one outcome at reading time ``ts`` (epoch s); ``wall`` is the arrival clock (no-data)."""
    inst.seen_wall = wall
    if o.level > 0:
        return _active(inst, o, ts, policy)
    if inst.phase is Phase.PENDING:
        inst.value = o.value if o.value is not None else inst.value
        return _resolve(inst, ts)
    if inst.phase is not Phase.FIRING or not o.clear:
        return None  # nothing open, or inside the hysteresis band
    if inst.last_active is not None and ts - inst.last_active < policy.keep_s:
        return None
    inst.value = o.value if o.value is not None else inst.value
    return _resolve(inst, ts)


def no_data(inst: Instance, policy: Policy, wall: float) -> Change | None:
    """The no-data policy at wall-clock ``wall``: resolve a silent open instance when the rule says so."""
    if not inst.open or policy.no_data != "resolve" or wall - inst.seen_wall < policy.no_data_after_s:
        return None
    inst.zh, inst.en = f"无数据 {inst.zh}", f"no data: {inst.en}"
    return _resolve(inst, wall)
