"""Records carried on the topics other than readings: status, derived results, warnings, dead letters.

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

    def __post_init__(self) -> None:
        for name in ("started", "ts"):
            require_utc(getattr(self, name), name)
        if self.ended is not None:
            require_utc(self.ended, "ended")
        if not 1 <= self.level <= 4:
            raise ValueError(f"level must be 1..4, got {self.level}")


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
