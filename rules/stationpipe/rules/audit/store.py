"""The audit store: mark versions and station-day statuses, durable, append-only, published.

Invariants:

- the tables ``audit_marks`` and ``audit_days`` live in the engine's state file; triggers refuse every
  UPDATE and DELETE (the trail is the rows, as the warnings journal is);
- a record and its MQTT message (the outbox row of sink :data:`SINK`, drained like the desk's actions) are
  written in one transaction: a record that exists is published, at least once;
- a mark, a new version or a restore whose period touches a locked day of its station is refused
  (:class:`LockedError`, HTTP 409) before anything is written;
- a version is the next of its id, made from the version in force (:meth:`MarkVersion.revise`);
- the review marks the ``qc`` rules set are read from the state's append-only ``reviews`` table (written
  by the engine with their outbox row, :meth:`State.commit`); confirming one records the version-1
  invalidation it proposes (:meth:`ReviewMark.audit_mark`), as any mark, refused on a locked day.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, timedelta

from stationpipe.kernel.audit import (
    Action,
    AuditError,
    DayRecord,
    DayStatus,
    MarkVersion,
    Reason,
    day_fields,
    day_status,
    days_from_rows,
    encode_day,
    encode_mark,
    in_force,
    locked_days,
    mark_fields,
    marks_from_rows,
)
from stationpipe.kernel.qc import ReviewMark
from stationpipe.rules.state import State, StateError

#: The outbox sink of the audit records (drained by the engine to the broker).
SINK = "audit"
#: How far back the page and the API list the QC checks' review marks by default.
REVIEWS_KEPT = timedelta(days=90)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS audit_marks (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    mark TEXT NOT NULL,
    version INTEGER NOT NULL,
    station TEXT NOT NULL,
    parameter TEXT NOT NULL,
    body TEXT NOT NULL,
    UNIQUE (mark, version)
);
CREATE INDEX IF NOT EXISTS audit_marks_series ON audit_marks (station, parameter);
CREATE TABLE IF NOT EXISTS audit_days (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    station TEXT NOT NULL,
    day TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_days_station ON audit_days (station, day);
CREATE TRIGGER IF NOT EXISTS audit_marks_no_update BEFORE UPDATE ON audit_marks
    BEGIN SELECT RAISE(ABORT, 'audit marks are append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_marks_no_delete BEFORE DELETE ON audit_marks
    BEGIN SELECT RAISE(ABORT, 'audit marks are append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_days_no_update BEFORE UPDATE ON audit_days
    BEGIN SELECT RAISE(ABORT, 'audit days are append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_days_no_delete BEFORE DELETE ON audit_days
    BEGIN SELECT RAISE(ABORT, 'audit days are append-only'); END;
"""


class LockedError(AuditError):
    """The period touches a locked station-day (HTTP 409); the message names the days."""


class UnknownMarkError(AuditError):
    """No mark by that id (HTTP 404)."""


def _now() -> datetime:
    return datetime.now(UTC)


class AuditStore:
    """Marks and day statuses in the engine's state file (:class:`State`'s connection)."""

    def __init__(self, state: State, wake: Callable[[], None] = lambda: None) -> None:
        self.state, self.wake = state, wake
        try:
            state.db.executescript(_SCHEMA)
        except sqlite3.Error as exc:
            raise StateError(f"cannot prepare the audit tables: {exc}") from exc

    # --- reading ---------------------------------------------------------------------------------------

    def versions(self, station: str | None = None, parameter: str | None = None) -> tuple[MarkVersion, ...]:
        """Every version (the trail), optionally of one station and parameter, linked to its previous."""
        sql, args = "SELECT body FROM audit_marks", []
        where = [(c, v) for c, v in (("station", station), ("parameter", parameter)) if v]
        if where:
            sql += " WHERE " + " AND ".join(f"{c} = ?" for c, _ in where)
            args = [v for _, v in where]
        rows = [json.loads(b) for (b,) in self.state.db.execute(sql + " ORDER BY seq", args)]
        return tuple(sorted(marks_from_rows(rows), key=lambda m: (m.at, m.id, m.version)))

    def marks(
        self,
        station: str | None = None,
        parameter: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> tuple[MarkVersion, ...]:
        """The versions in force, optionally those overlapping ``[start, end)``."""
        found = in_force(self.versions(station, parameter))
        return tuple(m for m in found if (start is None or m.end > start) and (end is None or m.start < end))

    def trail(self, mark_id: str) -> tuple[MarkVersion, ...]:
        """Every version of one mark, oldest first; ``UnknownMarkError`` when there is none."""
        rows = [
            json.loads(b)
            for (b,) in self.state.db.execute(
                "SELECT body FROM audit_marks WHERE mark = ? ORDER BY version", (mark_id,)
            )
        ]
        if not rows:
            raise UnknownMarkError(f"no audit mark {mark_id!r}")
        return marks_from_rows(rows)

    def days(self, station: str | None = None) -> tuple[DayRecord, ...]:
        """Every station-day status record, oldest first."""
        if station:
            found = self.state.db.execute(
                "SELECT body FROM audit_days WHERE station = ? ORDER BY seq", (station,)
            )
        else:
            found = self.state.db.execute("SELECT body FROM audit_days ORDER BY seq")
        rows = [json.loads(b) for (b,) in found]
        return days_from_rows(rows)

    def status(self, station: str, day: date) -> DayStatus:
        """The station-day's status (unreviewed when never set)."""
        return day_status(self.days(station), station, day)

    def reviews(self, station: str, kept: timedelta = REVIEWS_KEPT) -> tuple[tuple[int, ReviewMark], ...]:
        """The review marks of ``station`` made within ``kept`` of now, newest first, with row numbers."""
        return tuple(self.state.reviews(station, (_now() - kept).timestamp()))

    # --- writing ---------------------------------------------------------------------------------------

    def mark(
        self,
        *,
        station: str,
        parameter: str,
        start: datetime,
        end: datetime,
        action: Action,
        reason: Reason,
        note: str,
        author: str,
    ) -> MarkVersion:
        """Record a new mark (version 1); ``LockedError`` when its period touches a locked day."""
        mark = MarkVersion(
            id=secrets.token_hex(8), version=1, station=station, parameter=parameter, start=start, end=end,
            action=action, reason=reason, note=note, author=author, at=_now(),
        )  # fmt: skip
        self._commit_mark(mark)
        return mark

    def confirm(self, review: int, station: str, author: str) -> MarkVersion:
        """Record the invalidation the review mark ``review`` (its row number) of ``station`` proposes
        (version 1, reason ``qc_failed``); ``UnknownMarkError``, ``LockedError``."""
        found = self.state.review(review)
        if found is None or found.station != station:
            raise UnknownMarkError(f"no review mark {review} at {station}")
        mark = found.audit_mark(secrets.token_hex(8), author, _now())
        self._commit_mark(mark)
        return mark

    def revise(self, mark_id: str, *, author: str, **changes: object) -> MarkVersion:
        """Record the next version of a mark (e.g. ``action=Action.RESTORE``); ``LockedError`` when the old
        or the new period touches a locked day; ``UnknownMarkError``."""
        current = self.trail(mark_id)[-1]
        mark = current.revise(author=author, at=max(_now(), current.at), **changes)
        self._refuse_locked(current)
        self._commit_mark(mark)
        return mark

    def set_day(self, station: str, day: date, status: DayStatus, author: str) -> DayRecord:
        """Record a station-day's status (who may is the caller's decision)."""
        record = DayRecord(station, day, status, author, _now())
        topic, payload = encode_day(record)
        body = day_fields(record)
        self._commit(
            "INSERT INTO audit_days (station, day, body) VALUES (?, ?, ?)",
            (station, day.isoformat(), json.dumps(body, ensure_ascii=False)),
            f"day/{station}/{day.isoformat()}@{body['time']}",
            topic,
            payload,
        )
        return record

    def _refuse_locked(self, mark: MarkVersion) -> None:
        locked = locked_days(mark, self.days(mark.station))
        if locked:
            days = ", ".join(d.isoformat() for d in locked)
            raise LockedError(f"{mark.station} is locked on {days}: an auditor must unlock the day first")

    def _commit_mark(self, mark: MarkVersion) -> None:
        self._refuse_locked(mark)
        topic, payload = encode_mark(mark)
        self._commit(
            "INSERT INTO audit_marks (mark, version, station, parameter, body) VALUES (?, ?, ?, ?, ?)",
            (mark.id, mark.version, mark.station, mark.parameter, json.dumps(mark_fields(mark))),
            f"mark/{mark.id}/{mark.version}",
            topic,
            payload,
        )

    def _commit(self, sql: str, args: Iterable[object], key: str, topic: str, payload: bytes) -> None:
        row = {"topic": topic, "payload": payload.decode()}
        db = self.state.db
        try:
            db.execute("BEGIN")
            db.execute(sql, tuple(args))
            db.execute(
                "INSERT OR IGNORE INTO outbox (sink, id, body, queued) VALUES (?, ?, ?, ?)",
                (SINK, key, json.dumps(row, ensure_ascii=False), datetime.now(UTC).timestamp()),
            )
            db.execute("COMMIT")
            self.wake()
        except sqlite3.IntegrityError as exc:
            db.execute("ROLLBACK")
            raise AuditError(f"that record was written meanwhile: {exc}") from exc
        except sqlite3.Error as exc:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise StateError(f"cannot write the audit store: {exc}") from exc
