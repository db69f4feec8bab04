"""Records carried on the topics other than readings: status, derived results, warnings, warning actions,
dead letters.

Like ``Reading`` they are frozen, timezone-aware UTC, and built only through their constructors.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from stationpipe.kernel.reading import require_utc

#: Values a derived result may carry: numbers, words, or a list of words (e.g. exceeding parameters).
DerivedValue = float | int | str | tuple[str, ...]


class AgentState(StrEnum):
    """What the retained ``stations/<id>/status`` message says; the broker's LWT sets ``offline``."""

    ONLINE = "online"
    OFFLINE = "offline"


class AlertState(StrEnum):
    """Lifecycle state of one warning instance."""

    PENDING = "pending"
    FIRING = "firing"
    RESOLVED = "resolved"


class Handling(StrEnum):
    """The human state of a warning (预警发布 → 核实 → 处置 → 解除; docs/domain.md#handling-warnings).

    ``lifted`` and ``false_alarm`` close a warning; the others leave it open.
    """

    ISSUED = "issued"  # 预警发布: the engine fired it, nobody has verified it yet
    VERIFIED = "verified"  # 核实: an operator confirmed it on site or in the data
    RESPONDING = "responding"  # 处置: the response is under way
    LIFTED = "lifted"  # 解除: closed after the event
    FALSE_ALARM = "false_alarm"  # 误报: closed, the warning was wrong

    @property
    def closed(self) -> bool:
        """Lifted or a false alarm: nothing more to do."""
        return self in {Handling.LIFTED, Handling.FALSE_ALARM}


@dataclass(frozen=True, slots=True)
class StationStatus:
    """Health line of an edge agent (or of an HJ 212 logger connection) for one station."""

    station: str
    state: AgentState
    ts: datetime
    version: str = ""
    spool_depth: int = 0
    health: str = "ok"

    def __post_init__(self) -> None:
        require_utc(self.ts)
        if self.spool_depth < 0:
            raise ValueError("spool_depth must be >= 0")


@dataclass(frozen=True, slots=True)
class Derived:
    """A result the rules engine computed for one station at one instant (``water_class``, ``aqi``, …)."""

    station: str
    index: str
    ts: datetime
    values: dict[str, DerivedValue] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        require_utc(self.ts)


@dataclass(frozen=True, slots=True)
class WarningEvent:
    """The current state of one warning instance (``warnings/<station>/<rule>``, retained).

    ``level`` is 1 blue … 4 red (docs/domain.md#warning-levels-policy); ``message`` is bilingual.
    ``handling`` is the human state beside the machine ``state`` (``None`` from an engine that does not
    track it); ``acknowledged_by`` and ``assignee`` name operators.
    """

    station: str
    rule: str
    level: int
    state: AlertState
    message: str
    started: datetime
    ts: datetime
    parameter: str | None = None
    value: float | None = None
    limit: float | None = None
    ended: datetime | None = None
    handling: Handling | None = None
    acknowledged_by: str | None = None
    assignee: str | None = None

    def __post_init__(self) -> None:
        for name in ("started", "ts"):
            require_utc(getattr(self, name), name)
        if self.ended is not None:
            require_utc(self.ended, "ended")
        if not 1 <= self.level <= 4:
            raise ValueError(f"level must be 1..4, got {self.level}")


@dataclass(frozen=True, slots=True)
class WarningAction:
    """What one operator did to one warning (``warnings/actions/<station>/<rule>``, not retained).

    ``started`` names the warning's episode (its start); ``handling`` is the human state after the action;
    ``note`` and ``assignee`` are set by the actions that carry them.
    """

    station: str
    rule: str
    started: datetime
    action: str
    user: str
    ts: datetime
    handling: Handling
    level: int
    note: str | None = None
    assignee: str | None = None

    def __post_init__(self) -> None:
        for name in ("started", "ts"):
            require_utc(getattr(self, name), name)
        if not 1 <= self.level <= 4:
            raise ValueError(f"level must be 1..4, got {self.level}")
        if not self.action or not self.user:
            raise ValueError("action and user must not be empty")


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """Something a component could not use, kept with the reason (``deadletter/<component>``).

    ``payload`` is the original bytes as UTF-8 text when they are text, else base64 with
    ``encoding = "base64"``.
    """

    component: str
    reason: str
    topic: str
    payload: str
    ts: datetime
    encoding: str = "utf-8"

    def __post_init__(self) -> None:
        require_utc(self.ts)
        if self.encoding not in {"utf-8", "base64"}:
            raise ValueError("encoding must be utf-8 or base64")
