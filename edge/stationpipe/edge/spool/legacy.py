"""Reading the SQLite spool of earlier versions (``spool.sqlite``, ``hj212.sqlite``) for the migration.

The old spool kept its messages in a ``messages`` table (``id``, ``seq``, ``created``, ``topic``,
``payload``) and its counters in ``meta`` (``next_seq``, ``dropped``). An upgrade reads them out, in id
order, into the segment log; the SQLite files are removed only once the log holds them on the device.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Counters:
    """The old spool's seq counter and drop count."""

    next_seq: int
    dropped: int


def counters(path: Path) -> Counters:
    """``next_seq`` and ``dropped`` from the ``meta`` table."""
    db = sqlite3.connect(path)
    try:
        meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
    finally:
        db.close()
    return Counters(int(meta.get("next_seq", 0)), int(meta.get("dropped", 0)))


def records(path: Path) -> Iterator[tuple[int, float, str, bytes]]:
    """Every waiting message (seq, created, topic, payload) in id order, one row at a time (an old spool
    may hold hundreds of MB)."""
    db = sqlite3.connect(path)
    try:
        for row in db.execute("SELECT seq, created, topic, payload FROM messages ORDER BY id"):
            yield int(row[0]), float(row[1]), str(row[2]), bytes(row[3])
    finally:
        db.close()


def remove(path: Path) -> None:
    """Delete the SQLite file and its WAL and shared-memory files."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
