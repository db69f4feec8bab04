"""Disk spool for database outages: batches of lines in SQLite (WAL), first in, first out.

Invariants:

- ``append`` returns only once the batch is committed (``synchronous = FULL``): after it, the batch
  survives a crash or power cut, so its MQTT messages may be acknowledged;
- batches leave in the order they came (``id`` is an autoincrement key), and only by ``delete`` after
  they were written, so a restart resumes with the oldest batch;
- the total stored size (compressed bytes) stays at or below ``max_bytes``: ``append`` raises
  ``SpoolFullError`` rather than exceed it, and the caller stops acknowledging (the broker keeps the
  messages). A disk that fills first is the same case: SQLite's "database or disk is full" on an
  append is raised as ``SpoolFullError``, never as a crash; a delete the full disk refuses leaves the
  written batch in the file, skipped, until the spool is drained and the file started afresh.

All SQLite work runs on one dedicated worker thread, so the event loop never waits on a disk flush.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import sqlite3
import zlib
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import ParamSpec, TypeVar

from stationpipe.kernel.errors import TransientError

log = logging.getLogger(__name__)
_T = TypeVar("_T")
_P = ParamSpec("_P")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS batches (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    points INTEGER NOT NULL,
    size INTEGER NOT NULL,
    body BLOB NOT NULL
)
"""


class SpoolFullError(TransientError):
    """The spool holds its maximum; wait for the drain before accepting more."""


@dataclass(frozen=True, slots=True)
class Spooled:
    """One stored batch: its key, its lines and the MQTT topic each line came from."""

    id: int
    lines: list[str]
    topics: list[str]


def _pack(lines: list[str], topics: list[str]) -> bytes:
    return zlib.compress(json.dumps([lines, topics], ensure_ascii=False).encode(), 1)


def _unpack(body: bytes) -> tuple[list[str], list[str]]:
    lines, topics = json.loads(zlib.decompress(body))
    return list(lines), list(topics)


class Spool:
    """A bounded FIFO of batches in ``<dir>/spool.sqlite3``; use ``await Spool.open(...)``."""

    def __init__(self, path: Path, max_bytes: int) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="spool")
        self._db: sqlite3.Connection | None = None
        #: Points and stored bytes currently spooled (kept in step with the table).
        self.points = 0
        self.size = 0
        #: Batches up to this id are written but still in the file: a full disk refused their delete.
        self._written_upto = 0

    @classmethod
    async def open(cls, path: Path, max_bytes: int) -> Spool:
        """Open (creating if needed) and count what a previous run left."""
        spool = cls(path, max_bytes)
        await spool._run(spool._open)
        return spool

    async def _run(self, fn: Callable[_P, _T], *args: _P.args, **kwargs: _P.kwargs) -> _T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, functools.partial(fn, *args, **kwargs))

    def _conn(self) -> sqlite3.Connection:
        assert self._db is not None, "spool is closed"
        return self._db

    def _open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = FULL")
        db.execute(_SCHEMA)
        points, size = db.execute(
            "SELECT COALESCE(SUM(points), 0), COALESCE(SUM(size), 0) FROM batches"
        ).fetchone()
        self._db, self.points, self.size = db, int(points), int(size)

    def _append(self, lines: list[str], topics: list[str]) -> None:
        body = _pack(lines, topics)
        if self.size + len(body) > self.max_bytes and self.size > 0:
            raise SpoolFullError(f"spool full ({self.size} of {self.max_bytes} bytes)")
        with self._disk_full_is_full(), self._conn():  # a disk full before the bound: the same case
            self._conn().execute(
                "INSERT INTO batches (points, size, body) VALUES (?, ?, ?)", (len(lines), len(body), body)
            )
        self.points += len(lines)
        self.size += len(body)

    def _oldest(self) -> Spooled | None:
        row = (
            self._conn()
            .execute("SELECT id, body FROM batches WHERE id > ? ORDER BY id LIMIT 1", (self._written_upto,))
            .fetchone()
        )
        if row is None:
            return None
        lines, topics = _unpack(row[1])
        return Spooled(int(row[0]), lines, topics)

    def _delete(self, batch_id: int) -> None:
        found = self._conn().execute("SELECT points, size FROM batches WHERE id = ?", (batch_id,)).fetchone()
        if found is None or batch_id <= self._written_upto:
            return
        try:
            with self._disk_full_is_full(), self._conn():
                self._conn().execute("DELETE FROM batches WHERE id = ?", (batch_id,))
        except SpoolFullError:
            # SQLite cannot delete on a full disk (even a delete needs room in the write-ahead log): the
            # batch is skipped from now on, and the file is started afresh once every batch is written
            # (a crash before that writes these batches again: the writes are idempotent)
            self._written_upto = batch_id
        self.points -= int(found[0])
        self.size -= int(found[1])
        if self.size == 0:
            self._compact()

    def _compact(self) -> None:
        """Drained: give the disk space back (a new file if deletes were refused, else a checkpoint)."""
        if self._written_upto:
            log.warning("spool drained on a full disk: starting %s afresh to free the space", self.path)
            self._conn().close()
            for suffix in ("", "-wal", "-shm"):
                Path(f"{self.path}{suffix}").unlink(missing_ok=True)
            self._written_upto = 0
            self._open()
            return
        with contextlib.suppress(SpoolFullError), self._disk_full_is_full():
            self._conn().execute("PRAGMA wal_checkpoint(TRUNCATE)")

    @contextlib.contextmanager
    def _disk_full_is_full(self) -> Iterator[None]:
        """Translate SQLite's "database or disk is full" into ``SpoolFullError`` (retry once drained)."""
        try:
            yield
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode != sqlite3.SQLITE_FULL:
                raise
            raise SpoolFullError(f"spool disk full ({self.path.parent}) at {self.size} bytes") from exc

    async def append(self, lines: list[str], topics: list[str]) -> None:
        """Store one batch durably; ``SpoolFullError`` when it would exceed the bound."""
        await self._run(self._append, lines, topics)

    async def oldest(self) -> Spooled | None:
        """The oldest stored batch, or ``None`` when the spool is empty."""
        return await self._run(self._oldest)

    async def delete(self, batch_id: int) -> None:
        """Forget a batch once it is written."""
        await self._run(self._delete, batch_id)

    @property
    def empty(self) -> bool:
        """True when no batch waits."""
        return self.size == 0  # every stored batch has a non-empty compressed body

    async def close(self) -> None:
        """Close the database and the worker thread."""
        if self._db is not None:
            await self._run(self._conn().close)
            self._db = None
        self._pool.shutdown(wait=True)
