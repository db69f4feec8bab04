"""Reading the SQLite spool of earlier versions (``spool.sqlite``, ``hj212.sqlite``) for the migration.

The old spool kept its messages in a ``messages`` table (``id``, ``seq``, ``created``, ``topic``,
``payload``) and its counters in ``meta`` (``next_seq``, ``dropped``). An upgrade reads them out, in id
order, into the segment log; the SQLite files are removed only once the log holds them on the device.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class LegacySpool:
    """What an old SQLite spool held."""

    records: list[tuple[int, float, str, bytes]]
    next_seq: int
    dropped: int


def read(path: Path) -> LegacySpool:
    """Every waiting message (seq, created, topic, payload) in id order, and the counters."""
    db = sqlite3.connect(path)
    try:
        rows = db.execute("SELECT seq, created, topic, payload FROM messages ORDER BY id").fetchall()
        meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
    finally:
        db.close()
    records = [(int(r[0]), float(r[1]), str(r[2]), bytes(r[3])) for r in rows]
    return LegacySpool(records, int(meta.get("next_seq", 0)), int(meta.get("dropped", 0)))


def remove(path: Path) -> None:
    """Delete the SQLite file and its WAL and shared-memory files."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
