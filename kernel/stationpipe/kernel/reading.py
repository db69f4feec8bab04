"""The one record type that flows end to end: ``Reading``, its ``Flag``, and the per-poll ``StationMessage``.

Invariants (checked at construction, so no module can build a half-valid record):

- ``ts`` is timezone-aware and in UTC: the instant the instrument was read;
- ``value`` is a finite float, or ``None`` when the instrument gave no number;
- every reading of a message belongs to the message's station, and parameters are unique in it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum


class Flag(StrEnum):
    """HJ 212-2017 data flags: the vocabulary operators already use."""

    N = "N"  # normal
    F = "F"  # instrument stopped
    M = "M"  # maintenance
    S = "S"  # manually set
    D = "D"  # instrument fault
    C = "C"  # calibration
    T = "T"  # above the measuring range
    B = "B"  # communication failure between instrument and logger

    @property
    def valid(self) -> bool:
        """Only normal readings count in water-class, AQI and threshold evaluation."""
        return self is Flag.N

    @property
    def label(self) -> str:
        """Bilingual description for operators."""
        return _FLAG_LABELS[self]


_FLAG_LABELS = {
    Flag.N: "正常 normal",
    Flag.F: "停运 instrument stopped",
    Flag.M: "维护 maintenance",
    Flag.S: "手工输入 manually set",
    Flag.D: "故障 instrument fault",
    Flag.C: "校准 calibration",
    Flag.T: "超测量上限 above range",
    Flag.B: "通讯异常 communication failure",
}


def require_utc(ts: datetime, what: str = "ts") -> None:
    """Raise ``ValueError`` unless ``ts`` is timezone-aware UTC."""
    if ts.tzinfo is None or ts.utcoffset() != UTC.utcoffset(ts):
        raise ValueError(f"{what} must be timezone-aware UTC, got {ts!r}")


@dataclass(frozen=True, slots=True)
class Reading:
    """One value of one parameter of one station at one instant."""

    station: str
    parameter: str
    value: float | None
    unit: str
    ts: datetime
    flag: Flag = Flag.N

    def __post_init__(self) -> None:
        require_utc(self.ts)
        if self.value is not None and not math.isfinite(self.value):
            raise ValueError(f"{self.parameter}: value must be finite or None, got {self.value!r}")
        if not self.station or not self.parameter:
            raise ValueError("station and parameter must not be empty")


@dataclass(frozen=True, slots=True)
class StationMessage:
    """All points of one device poll of one station: what one ``stations/<id>/readings`` message carries.

    ``seq`` is per station, monotonic and persisted across agent restarts, so consumers can see gaps.
    ``backfill``: the sender marks the message as re-sent after an outage (HJ 212-2025 ``RF=1``); it is
    stored with ``backfill=true`` and evaluated as backfill whatever its age.
    """

    station: str
    device: str
    seq: int
    ts: datetime
    readings: tuple[Reading, ...] = field(default_factory=tuple)
    backfill: bool = False

    def __post_init__(self) -> None:
        require_utc(self.ts)
        if self.seq < 0:
            raise ValueError("seq must be >= 0")
        seen: set[str] = set()
        for reading in self.readings:
            if reading.station != self.station:
                raise ValueError(f"reading for {reading.station!r} in a message of {self.station!r}")
            if reading.parameter in seen:
                raise ValueError(f"parameter {reading.parameter!r} twice in one message")
            seen.add(reading.parameter)


def utc_now() -> datetime:
    """The current instant, timezone-aware UTC (the only clock read in the pipeline's records)."""
    return datetime.now(UTC)
