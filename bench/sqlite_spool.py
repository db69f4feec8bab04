"""The edge spool as it was before issue 21 point 8 (SQLite in WAL mode), kept as the baseline of
``bench/spool_disk.py``; the agent's spool is now a segment log (:mod:`stationpipe.edge.spool`).

Every message enters the spool (with its per-station ``seq``, assigned in the same transaction) before it
is published, and leaves only after the broker's PUBACK. The spool is bounded by message count, bytes and
age; when a bound is hit the oldest messages are dropped and counted. The ``seq`` counter lives in the
same database, so it survives restarts and never repeats.

Durability: ``synchronous=NORMAL`` in WAL mode survives a crash of the agent (SIGKILL); a power cut may
lose the last transaction (``synchronous=FULL`` via ``fsync = true`` closes that gap at a cost per write).
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

from stationpipe.edge.spool import Spooled, SpoolLimits

__all__ = ["Spool", "SpoolLimits", "Spooled"]

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    seq INTEGER NOT NULL,
    created REAL NOT NULL,
    topic TEXT NOT NULL,
    payload BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS messages_created ON messages (created);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT OR IGNORE INTO meta (key, value) VALUES ('next_seq', 0), ('dropped', 0);
"""


class Spool:
    """A bounded FIFO of encoded messages on disk, with the station's sequence counter."""

    def __init__(self, path: Path, limits: SpoolLimits, *, fsync: bool = False) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(f"PRAGMA synchronous={'FULL' if fsync else 'NORMAL'}")
        self._db.executescript(_SCHEMA)
        self.limits = limits
        self._next_age_check = 0.0
        self._dropping = False
        row = self._db.execute("SELECT count(*), coalesce(sum(length(payload)), 0) FROM messages").fetchone()
        self._count: int = int(row[0])
        self._bytes: int = int(row[1])

    def next_seq(self) -> int:
        """The seq the next appended message will get."""
        return int(self._db.execute("SELECT value FROM meta WHERE key = 'next_seq'").fetchone()[0])

    def append(self, topic: str, build: Callable[[int], bytes]) -> Spooled:
        """Store one message; ``build(seq) -> bytes`` makes its payload with the seq assigned here.

        Seq assignment and the insert are one transaction. Returns the stored message.
        """
        with self._tx():
            seq = self.next_seq()
            payload = build(seq)
            cur = self._db.execute(
                "INSERT INTO messages (seq, created, topic, payload) VALUES (?, ?, ?, ?)",
                (seq, time.time(), topic, payload),
            )
            self._db.execute("UPDATE meta SET value = ? WHERE key = 'next_seq'", (seq + 1,))
        self._count += 1
        self._bytes += len(payload)
        if self._over_bounds() or time.monotonic() >= self._next_age_check:
            self.enforce_limits()
        return Spooled(int(cur.lastrowid or 0), seq, topic, payload)

    def oldest(self, limit: int, *, after: int = 0, upto: int | None = None) -> list[Spooled]:
        """Up to ``limit`` messages with ``after < id <= upto``, oldest first."""
        rows = self._db.execute(
            "SELECT id, seq, topic, payload FROM messages WHERE id > ? AND id <= ? ORDER BY id LIMIT ?",
            (after, upto if upto is not None else 2**62, limit),
        ).fetchall()
        return [Spooled(int(r[0]), int(r[1]), str(r[2]), bytes(r[3])) for r in rows]

    def last_id(self) -> int:
        """The id of the newest message (0 when empty)."""
        return int(self._db.execute("SELECT coalesce(max(id), 0) FROM messages").fetchone()[0])

    def delete(self, message: Spooled) -> None:
        """Remove a message after its PUBACK (idempotent)."""
        cur = self._db.execute("DELETE FROM messages WHERE id = ?", (message.id,))
        if cur.rowcount:
            self._count -= 1
            self._bytes -= len(message.payload)

    def enforce_limits(self) -> int:
        """Drop the oldest messages beyond the bounds; return how many were dropped now."""
        dropped = 0
        self._next_age_check = time.monotonic() + 10.0
        with self._tx():
            cutoff = time.time() - self.limits.max_age
            dropped += self._drop(
                "DELETE FROM messages WHERE created < ? RETURNING length(payload)", (cutoff,)
            )
            while self._over_bounds():
                excess = max(self._count - self.limits.max_messages, 1)
                dropped += self._drop(
                    "DELETE FROM messages WHERE id IN (SELECT id FROM messages ORDER BY id LIMIT ?) "
                    "RETURNING length(payload)",
                    (excess,),
                )
            if dropped:
                self._db.execute("UPDATE meta SET value = value + ? WHERE key = 'dropped'", (dropped,))
        self._log_drops(dropped)
        return dropped

    def _log_drops(self, dropped: int) -> None:
        """One warning when dropping starts, one line when it stops (state changes, not every drop)."""
        if dropped and not self._dropping:
            log.warning(
                "spool full or too old: dropping the oldest messages (%d now; bounds %s)",
                dropped,
                self.limits,
            )
        elif not dropped and self._dropping and not self._over_bounds():
            log.info("spool back within its bounds; %d messages dropped in all", self.dropped)
        self._dropping = bool(dropped) or (self._dropping and self._over_bounds())

    def _over_bounds(self) -> bool:
        return self._count > self.limits.max_messages or self._bytes > self.limits.max_bytes

    def _drop(self, sql: str, args: tuple[float | int, ...]) -> int:
        sizes = [int(r[0]) for r in self._db.execute(sql, args).fetchall()]
        self._count -= len(sizes)
        self._bytes -= sum(sizes)
        return len(sizes)

    @property
    def depth(self) -> int:
        """Messages waiting."""
        return self._count

    @property
    def size_bytes(self) -> int:
        """Payload bytes waiting."""
        return self._bytes

    @property
    def dropped(self) -> int:
        """Messages dropped by the bounds, ever (persisted)."""
        return int(self._db.execute("SELECT value FROM meta WHERE key = 'dropped'").fetchone()[0])

    def _tx(self) -> _Transaction:
        return _Transaction(self._db)

    def close(self) -> None:
        """Close the database (a checkpoint folds the WAL back)."""
        self._db.close()


class _Transaction:
    """``BEGIN IMMEDIATE`` … ``COMMIT`` (``ROLLBACK`` on error)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, *_: object) -> None:
        self._db.execute("ROLLBACK" if exc_type else "COMMIT")
