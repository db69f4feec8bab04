"""Durable state of the rules engine in one SQLite file (WAL): instances, series, outbox, small facts.

Invariants:

- a lifecycle change and the notifications it causes are committed in **one transaction**
  (:meth:`State.commit`), so after a crash either both exist or neither: no lost resolution, and no
  duplicate (a change already made is not made again, its notification already queued stays queued);
- the outbox is keyed ``(sink, id)`` with ``INSERT OR IGNORE``: queueing the same notification twice is a
  no-op; a row leaves only through :meth:`State.delivered` after its sink confirmed it;
- series state (windows, counters) is saved by the engine's timer (every ``evaluation.tick``) and at
  shutdown; a crash loses at most one tick of window state, never an instance or a notification.
- a fact whose value is ``None`` in a batch is deleted;
- each outbox row keeps the wall-clock instant it was queued (``queued``): the channels people read group
  what arrived within a window of it, so what waits to be grouped is in the outbox and survives a crash;
  :meth:`State.settle` removes the rows one message carried and records its facts (a rate-limit count) in
  one transaction.
- the journal (each warning episode's course: machine changes and operators' actions, with who and when)
  is append-only: triggers refuse every UPDATE and DELETE, and its rows are written in the transaction
  of the change or action they record;
- an operator's acknowledgement withdraws the rows still waiting for the channels people read
  (``Batch.withdrawn``) in the transaction that records it: no message about the episode is sent after
  it except what :func:`stationpipe.rules.channels.people.silenced` lets through.
- the review marks a ``qc`` rule sets (``Batch.reviews``) are kept in the append-only table ``reviews``,
  keyed like their outbox row (``INSERT OR IGNORE``), in the transaction that queues that row: the audit
  page and API read them after the row is published and gone (docs/design.md#audit).

Every call is a short local transaction on the event loop's thread; ``timeout`` bounds waiting for a lock.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stationpipe.kernel import wire
from stationpipe.kernel.errors import FatalError
from stationpipe.kernel.qc import ReviewMark
from stationpipe.rules.lifecycle import Instance

_SCHEMA = """
CREATE TABLE IF NOT EXISTS instances (key TEXT PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS series (key TEXT PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS facts (key TEXT PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    sink TEXT NOT NULL,
    id TEXT NOT NULL,
    body TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    queued REAL NOT NULL DEFAULT 0,
    UNIQUE (sink, id)
);
CREATE TABLE IF NOT EXISTS journal (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    episode TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS journal_episode ON journal (episode, seq);
CREATE TRIGGER IF NOT EXISTS journal_no_update BEFORE UPDATE ON journal
    BEGIN SELECT RAISE(ABORT, 'the journal is append-only'); END;
CREATE TRIGGER IF NOT EXISTS journal_no_delete BEFORE DELETE ON journal
    BEGIN SELECT RAISE(ABORT, 'the journal is append-only'); END;
CREATE TABLE IF NOT EXISTS reviews (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    station TEXT NOT NULL,
    made REAL NOT NULL,
    topic TEXT NOT NULL,
    payload TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS reviews_station ON reviews (station, made);
CREATE TRIGGER IF NOT EXISTS reviews_no_update BEFORE UPDATE ON reviews
    BEGIN SELECT RAISE(ABORT, 'review marks are append-only'); END;
CREATE TRIGGER IF NOT EXISTS reviews_no_delete BEFORE DELETE ON reviews
    BEGIN SELECT RAISE(ABORT, 'review marks are append-only'); END;
"""


class StateError(FatalError):
    """The state file cannot be opened or written: stop rather than lose warnings."""


@dataclass(frozen=True, slots=True)
class Queued:
    """One outbox row."""

    seq: int
    id: str
    body: dict[str, Any]
    attempts: int
    queued: float = 0.0


@dataclass
class Batch:
    """What one evaluation step changed, committed together."""

    instances: dict[str, Instance]
    series: dict[str, dict[str, Any]]
    outbox: list[tuple[str, str, dict[str, Any]]]
    facts: dict[str, Any]
    journal: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (episode, entry)
    withdrawn: list[int] = field(default_factory=list)  # outbox rows (seq) that are not to be sent
    reviews: list[tuple[str, ReviewMark]] = field(default_factory=list)  # (outbox id, mark)

    @classmethod
    def empty(cls) -> Batch:
        """Nothing changed yet."""
        return cls({}, {}, [], {})

    def __bool__(self) -> bool:
        return bool(
            self.instances
            or self.series
            or self.outbox
            or self.facts
            or self.journal
            or self.withdrawn
            or self.reviews
        )


def _review_values(key: str, mark: ReviewMark) -> tuple[str, str, float, str, str]:
    topic, payload = wire.encode(mark)
    return key, mark.station, mark.ts.timestamp(), topic, payload.decode()


class State:
    """The engine's SQLite state. ``path`` may be ``":memory:"`` (``rules test``, the bench)."""

    def __init__(self, path: Path | str, *, timeout: float = 5.0) -> None:
        try:
            if str(path) != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(str(path), timeout=timeout, isolation_level=None)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.executescript(_SCHEMA)
            columns = {row[1] for row in self.db.execute("PRAGMA table_info(outbox)")}
            if "queued" not in columns:  # a state file from before the channels people read
                self.db.execute("ALTER TABLE outbox ADD COLUMN queued REAL NOT NULL DEFAULT 0")
        except (sqlite3.Error, OSError) as exc:
            raise StateError(f"cannot open rules state {path}: {exc}") from exc

    def close(self) -> None:
        """Close the file (idempotent)."""
        self.db.close()

    def instances(self) -> dict[str, Instance]:
        """Every stored instance by key."""
        rows = self.db.execute("SELECT key, body FROM instances").fetchall()
        return {key: Instance.from_json(json.loads(body)) for key, body in rows}

    def series(self) -> dict[str, dict[str, Any]]:
        """Every stored series state by key."""
        return {key: json.loads(body) for key, body in self.db.execute("SELECT key, body FROM series")}

    def facts(self, prefix: str) -> dict[str, Any]:
        """Every stored fact whose key starts with ``prefix``."""
        rows = self.db.execute(
            "SELECT key, body FROM facts WHERE substr(key, 1, ?) = ?", (len(prefix), prefix)
        )
        return {key: json.loads(body) for key, body in rows}

    def fact(self, key: str, default: Any = None) -> Any:
        """A small stored fact (JSON), or ``default``."""
        row = self.db.execute("SELECT body FROM facts WHERE key = ?", (key,)).fetchone()
        return default if row is None else json.loads(row[0])

    def commit(self, batch: Batch) -> None:
        """Write a batch in one transaction (see the module invariants)."""
        now = time.time()
        try:
            self.db.execute("BEGIN")
            self.db.executemany(
                "INSERT OR REPLACE INTO instances VALUES (?, ?)",
                [(k, json.dumps(i.to_json(), ensure_ascii=False)) for k, i in batch.instances.items()],
            )
            self.db.executemany(
                "INSERT OR REPLACE INTO series VALUES (?, ?)",
                [(k, json.dumps(s)) for k, s in batch.series.items()],
            )
            facts = batch.facts.items()
            self.db.executemany(
                "INSERT OR REPLACE INTO facts VALUES (?, ?)",
                [(k, json.dumps(v, ensure_ascii=False)) for k, v in facts if v is not None],
            )
            self.db.executemany("DELETE FROM facts WHERE key = ?", [(k,) for k, v in facts if v is None])
            self.db.executemany(
                "INSERT OR IGNORE INTO outbox (sink, id, body, queued) VALUES (?, ?, ?, ?)",
                [(sink, i, json.dumps(body, ensure_ascii=False), now) for sink, i, body in batch.outbox],
            )
            self.db.executemany(
                "INSERT INTO journal (episode, body) VALUES (?, ?)",
                [(episode, json.dumps(entry, ensure_ascii=False)) for episode, entry in batch.journal],
            )
            self.db.executemany("DELETE FROM outbox WHERE seq = ?", [(s,) for s in batch.withdrawn])
            self.db.executemany(
                "INSERT OR IGNORE INTO reviews (id, station, made, topic, payload) VALUES (?, ?, ?, ?, ?)",
                [_review_values(key, mark) for key, mark in batch.reviews],
            )
            self.db.execute("COMMIT")
        except sqlite3.Error as exc:
            if self.db.in_transaction:
                self.db.execute("ROLLBACK")
            raise StateError(f"cannot write rules state: {exc}") from exc

    def journal(self, episode: str) -> list[dict[str, Any]]:
        """The course of one warning episode, oldest first."""
        rows = self.db.execute("SELECT body FROM journal WHERE episode = ? ORDER BY seq", (episode,))
        return [json.loads(body) for (body,) in rows]

    def queued(self, sink: str, limit: int = 100) -> list[Queued]:
        """The oldest undelivered rows of ``sink``, oldest first."""
        rows = self.db.execute(
            "SELECT seq, id, body, attempts, queued FROM outbox WHERE sink = ? ORDER BY seq LIMIT ?",
            (sink, limit),
        ).fetchall()
        return [Queued(seq, i, json.loads(body), attempts, at) for seq, i, body, attempts, at in rows]

    def waiting(self, sink: str, prefix: str) -> list[Queued]:
        """Every undelivered row of ``sink`` whose id starts with ``prefix``, oldest first."""
        rows = self.db.execute(
            "SELECT seq, id, body, attempts, queued FROM outbox WHERE sink = ? AND substr(id, 1, ?) = ? "
            "ORDER BY seq",
            (sink, len(prefix), prefix),
        ).fetchall()
        return [Queued(seq, i, json.loads(body), attempts, at) for seq, i, body, attempts, at in rows]

    def settle(self, seqs: Iterable[int], facts: dict[str, Any]) -> None:
        """Remove the rows one message carried and write ``facts`` (``None``: delete), in one transaction."""
        try:
            self.db.execute("BEGIN")
            self.db.executemany("DELETE FROM outbox WHERE seq = ?", [(s,) for s in seqs])
            self.db.executemany(
                "INSERT OR REPLACE INTO facts VALUES (?, ?)",
                [(k, json.dumps(v, ensure_ascii=False)) for k, v in facts.items() if v is not None],
            )
            self.db.executemany(
                "DELETE FROM facts WHERE key = ?", [(k,) for k, v in facts.items() if v is None]
            )
            self.db.execute("COMMIT")
        except sqlite3.Error as exc:
            if self.db.in_transaction:
                self.db.execute("ROLLBACK")
            raise StateError(f"cannot write rules state: {exc}") from exc

    def delivered(self, seqs: Iterable[int]) -> None:
        """Remove rows their sink confirmed."""
        self.db.executemany("DELETE FROM outbox WHERE seq = ?", [(s,) for s in seqs])

    def failed(self, seq: int) -> None:
        """Count one failed attempt of a row."""
        self.db.execute("UPDATE outbox SET attempts = attempts + 1 WHERE seq = ?", (seq,))

    def depth(self, sink: str) -> int:
        """Rows waiting for ``sink``."""
        return int(self.db.execute("SELECT count(*) FROM outbox WHERE sink = ?", (sink,)).fetchone()[0])

    def reviews(self, station: str, since: float = 0.0) -> list[tuple[int, ReviewMark]]:
        """The review marks of ``station`` made at or after ``since`` (epoch seconds), newest first, each
        with its row number (``seq``)."""
        found = self.db.execute(
            "SELECT seq, topic, payload FROM reviews WHERE station = ? AND made >= ? "
            "ORDER BY made DESC, seq DESC",
            (station, since),
        )
        out = []
        for seq, topic, payload in found:
            mark = wire.decode(topic, payload.encode())
            if isinstance(mark, ReviewMark):
                out.append((int(seq), mark))
        return out

    def review(self, seq: int) -> ReviewMark | None:
        """One review mark by its row number, or ``None``."""
        row = self.db.execute("SELECT topic, payload FROM reviews WHERE seq = ?", (seq,)).fetchone()
        mark = None if row is None else wire.decode(row[0], row[1].encode())
        return mark if isinstance(mark, ReviewMark) else None
