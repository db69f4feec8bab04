"""Data audit (数据审核): marks that invalidate or restore one parameter of one station over a period.

A mark never rewrites a reading. Statistics apply the marks when they read (:func:`apply_marks`), so the
raw figures and the audited figures come from the same stored data. Invariants:

- a mark covers ``[start, end)`` (UTC) of one ``parameter`` at one ``station``;
- marks are versioned: a change is a new :class:`MarkVersion` of the same ``id`` with ``version`` + 1 and
  ``previous`` holding what it was before; the highest version of an id is the one in force;
- where marks in force overlap, the one recorded last (``at``) decides: an ``invalidate`` excludes the
  reading, a ``restore`` gives it back (a restore never makes an instrument-flagged reading valid);
- an invalidation whose reason is :attr:`Reason.EXCEPTIONAL_EVENT` excludes the reading only when the
  evaluation asks for it (``exclude_exceptional``: HJ 663-2026 deducts exceptional events, 2013 did not);
- each station-day has an :class:`DayStatus`; a locked day takes no new marks (:func:`locked_days`).

The store (docs/design.md#influxdb, measurements ``audit_marks`` and ``audit_days``) holds one point per
version; :func:`marks_from_rows` and :func:`days_from_rows` read its rows, :func:`load_marks_file` reads
the same records from a JSON-lines file (offline statistics, tests).
"""

from __future__ import annotations

import json
from bisect import bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType
from typing import Any

from stationpipe.kernel.errors import RejectedError
from stationpipe.kernel.reading import Reading, require_utc

#: The standards' calendar: a station-day is a natural day in China (UTC+8).
_CHINA = timezone(timedelta(hours=8), "CST")


class AuditError(RejectedError):
    """An audit record that does not fit (a bad period, a broken version chain, a locked day)."""


class Reason(StrEnum):
    """Why a period was invalidated (or restored)."""

    INSTRUMENT_FAULT = "instrument_fault"
    MAINTENANCE = "maintenance"
    QC_FAILED = "qc_failed"
    EXCEPTIONAL_EVENT = "exceptional_event"
    COMMUNICATION = "communication"
    OTHER = "other"

    @property
    def label(self) -> str:
        """Bilingual label as operators read it, e.g. ``仪器故障 instrument fault``."""
        zh, en = REASON_LABELS[self]
        return f"{zh} {en}"


#: (Chinese, English) of each reason.
REASON_LABELS: MappingProxyType[Reason, tuple[str, str]] = MappingProxyType(
    {
        Reason.INSTRUMENT_FAULT: ("仪器故障", "instrument fault"),
        Reason.MAINTENANCE: ("运维", "maintenance"),
        Reason.QC_FAILED: ("质控不合格", "QC check failed"),
        Reason.EXCEPTIONAL_EVENT: ("异常事件", "exceptional event"),
        Reason.COMMUNICATION: ("通讯故障", "communication failure"),
        Reason.OTHER: ("其他", "other"),
    }
)


class Action(StrEnum):
    """What a mark does to the readings it covers."""

    INVALIDATE = "invalidate"
    RESTORE = "restore"


class DayStatus(StrEnum):
    """Audit status of one station-day (a natural day in China)."""

    UNREVIEWED = "unreviewed"
    REVIEWED = "reviewed"
    LOCKED = "locked"


@dataclass(frozen=True, slots=True)
class MarkVersion:
    """One version of one audit mark; ``previous`` is the version it replaced (``None`` for version 1)."""

    id: str
    version: int
    station: str
    parameter: str
    start: datetime
    end: datetime
    action: Action
    reason: Reason
    note: str
    author: str
    at: datetime
    previous: MarkVersion | None = None

    def __post_init__(self) -> None:
        for name in ("start", "end", "at"):
            require_utc(getattr(self, name), name)
        if self.end <= self.start:
            raise AuditError(f"mark {self.id}: end {self.end.isoformat()} is not after start")
        if self.version < 1:
            raise AuditError(f"mark {self.id}: version must be >= 1, got {self.version}")
        if (self.previous is None) != (self.version == 1):
            raise AuditError(f"mark {self.id}: version {self.version} needs exactly its previous version")
        if self.previous is not None and (
            self.previous.id != self.id or self.previous.version != self.version - 1
        ):
            raise AuditError(f"mark {self.id}: previous is not version {self.version - 1} of it")

    def covers(self, reading: Reading) -> bool:
        """True when ``reading`` is this mark's station and parameter, within ``[start, end)``."""
        return (
            reading.station == self.station
            and reading.parameter == self.parameter
            and self.start <= reading.ts < self.end
        )

    def revise(self, *, author: str, at: datetime, **changes: Any) -> MarkVersion:
        """The next version with ``changes`` (any of station … note), recorded by ``author`` at ``at``."""
        fields = {name: getattr(self, name) for name in _CONTENT} | changes
        return MarkVersion(
            id=self.id, version=self.version + 1, author=author, at=at, previous=self, **fields
        )


_CONTENT = ("station", "parameter", "start", "end", "action", "reason", "note")


def in_force(marks: Iterable[MarkVersion]) -> tuple[MarkVersion, ...]:
    """The highest version of each mark id, ordered by when it was recorded (``at``, then id)."""
    latest: dict[str, MarkVersion] = {}
    for m in marks:
        if m.id not in latest or m.version > latest[m.id].version:
            latest[m.id] = m
    return tuple(sorted(latest.values(), key=lambda m: (m.at, m.id)))


class MarkIndex:
    """Marks in force per (station, parameter), for deciding many readings quickly."""

    def __init__(self, marks: Iterable[MarkVersion], *, exclude_exceptional: bool = True) -> None:
        self.exclude_exceptional = exclude_exceptional
        self._by_series: dict[tuple[str, str], list[MarkVersion]] = {}
        for m in in_force(marks):
            self._by_series.setdefault((m.station, m.parameter), []).append(m)
        for series in self._by_series.values():
            series.sort(key=lambda m: m.start)
        self._starts = {key: [m.start for m in ms] for key, ms in self._by_series.items()}

    def __len__(self) -> int:
        return sum(len(ms) for ms in self._by_series.values())

    def deciding(self, station: str, parameter: str, ts: datetime) -> MarkVersion | None:
        """The mark that decides a reading at ``ts``: the one recorded last among those covering it."""
        marks = self._by_series.get((station, parameter))
        if not marks:
            return None
        upto = bisect_right(self._starts[(station, parameter)], ts)  # the marks starting at or before ts
        found = [m for m in marks[:upto] if ts < m.end]
        return max(found, key=lambda m: (m.at, m.id)) if found else None

    def invalidated(self, station: str, parameter: str, ts: datetime) -> bool:
        """True when the marks take a reading at ``ts`` out of the statistics."""
        mark = self.deciding(station, parameter, ts)
        if mark is None or mark.action is Action.RESTORE:
            return False
        return mark.reason is not Reason.EXCEPTIONAL_EVENT or self.exclude_exceptional


def apply_marks(
    readings: Iterable[Reading], marks: Iterable[MarkVersion] | MarkIndex, *, exclude_exceptional: bool = True
) -> tuple[Reading, ...]:
    """The readings the marks leave in the statistics, in their order; the readings themselves unchanged.

    Pure: the raw readings are the caller's; only those a mark invalidates are left out.
    """
    index = (
        marks if isinstance(marks, MarkIndex) else MarkIndex(marks, exclude_exceptional=exclude_exceptional)
    )
    return tuple(r for r in readings if not index.invalidated(r.station, r.parameter, r.ts))


@dataclass(frozen=True, slots=True)
class DayRecord:
    """The audit status of ``station`` on the China day ``day``, set by ``author`` at ``at``."""

    station: str
    day: date
    status: DayStatus
    author: str
    at: datetime


def day_status(records: Iterable[DayRecord], station: str, day: date) -> DayStatus:
    """The status last recorded for the station-day; unreviewed when none was."""
    found = [r for r in records if r.station == station and r.day == day]
    return max(found, key=lambda r: r.at).status if found else DayStatus.UNREVIEWED


def china_days(start: datetime, end: datetime) -> tuple[date, ...]:
    """The China days ``[start, end)`` touches."""
    first = start.astimezone(_CHINA).date()
    last = (end - timedelta(microseconds=1)).astimezone(_CHINA).date()
    return tuple(first + timedelta(days=i) for i in range((last - first).days + 1))


def locked_days(mark: MarkVersion, records: Iterable[DayRecord]) -> tuple[date, ...]:
    """The locked days of the mark's station its period touches (a store refuses such a mark)."""
    kept = list(records)
    return tuple(
        d for d in china_days(mark.start, mark.end) if day_status(kept, mark.station, d) is DayStatus.LOCKED
    )


# --- the stored form -------------------------------------------------------------------------------------


def _time(value: Any) -> datetime:
    """A row's time: nanoseconds since the epoch (InfluxDB ``epoch=ns``) or RFC 3339 text."""
    if isinstance(value, int):
        return datetime.fromtimestamp(value // 10**9, UTC).replace(microsecond=(value // 1000) % 10**6)
    text = str(value).replace("Z", "+00:00")
    return datetime.fromisoformat(text).astimezone(UTC)


def mark_fields(mark: MarkVersion) -> dict[str, Any]:
    """The stored form of one version: tags ``station``, ``parameter``, ``mark``; the rest fields; ``at``
    is the point's time. ``previous`` is not stored: it is the stored version before."""
    return {
        "mark": mark.id,
        "version": mark.version,
        "station": mark.station,
        "parameter": mark.parameter,
        "start": mark.start.isoformat().replace("+00:00", "Z"),
        "end": mark.end.isoformat().replace("+00:00", "Z"),
        "action": mark.action.value,
        "reason": mark.reason.value,
        "note": mark.note,
        "author": mark.author,
        "time": mark.at.isoformat().replace("+00:00", "Z"),
    }


def marks_from_rows(rows: Iterable[Mapping[str, Any]]) -> tuple[MarkVersion, ...]:
    """Every stored version, each linked to its previous one; ``AuditError`` naming a broken chain."""
    by_id: dict[str, list[Mapping[str, Any]]] = {}
    for row in rows:
        by_id.setdefault(str(row["mark"]), []).append(row)
    out: list[MarkVersion] = []
    for mark_id, versions in by_id.items():
        previous: MarkVersion | None = None
        for row in sorted(versions, key=lambda r: int(r["version"])):
            try:
                previous = MarkVersion(
                    id=mark_id,
                    version=int(row["version"]),
                    station=str(row["station"]),
                    parameter=str(row["parameter"]),
                    start=_time(row["start"]),
                    end=_time(row["end"]),
                    action=Action(row["action"]),
                    reason=Reason(row["reason"]),
                    note=str(row.get("note") or ""),
                    author=str(row["author"]),
                    at=_time(row["time"]),
                    previous=previous,
                )
            except (KeyError, ValueError) as exc:
                raise AuditError(f"mark {mark_id}: stored version does not fit: {exc}") from exc
            out.append(previous)
    return tuple(out)


def days_from_rows(rows: Iterable[Mapping[str, Any]]) -> tuple[DayRecord, ...]:
    """Station-day statuses from stored rows (``station``, ``day`` YYYY-MM-DD, ``status``, ``author``)."""
    try:
        return tuple(
            DayRecord(
                str(r["station"]),
                date.fromisoformat(str(r["day"])),
                DayStatus(r["status"]),
                str(r.get("author") or ""),
                _time(r["time"]),
            )
            for r in rows
        )
    except (KeyError, ValueError) as exc:
        raise AuditError(f"stored day status does not fit: {exc}") from exc


def load_marks_file(path: Path | str) -> tuple[MarkVersion, ...]:
    """Mark versions from a JSON-lines file, one :func:`mark_fields` object a line (blank lines skipped)."""
    rows = []
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise AuditError(f"{path}:{number}: not JSON: {exc}") from exc
    return marks_from_rows(rows)
