"""The spool itself: an append-only log of segment files with a cursor of what has left it.

Appending writes one frame to the newest segment (:mod:`.segment`); acknowledging a message (``delete``)
marks its seq in memory and in the cursor (:mod:`.cursor`), which is rewritten in place at most once a
second (and whenever the spool drains empty); a segment is deleted as a whole once every record in it
has left. A process kill loses nothing appended (every frame is in the page cache when ``append``
returns); a lagging cursor only makes messages be sent again. A power cut loses what the device has not
got yet: with ``fsync_interval`` the segment is fsynced at most that often (0: on every append).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from stationpipe.edge.spool import cursor, legacy, segment
from stationpipe.edge.spool.cursor import CursorState
from stationpipe.edge.spool.segment import Segment

log = logging.getLogger(__name__)

CURSOR = cursor.FILE
CURSOR_INTERVAL = 1.0
AGE_CHECK = 10.0


@dataclass(frozen=True, slots=True)
class Spooled:
    """One message waiting for its acknowledgement; ``id`` orders the spool (``seq + 1``)."""

    id: int
    seq: int
    topic: str
    payload: bytes


@dataclass(frozen=True)
class SpoolLimits:
    """Bounds of the spool: count, total payload bytes and age in seconds; and the size of a segment."""

    max_messages: int = 1_000_000
    max_bytes: int = 512 * 1024 * 1024
    max_age: float = 30 * 86_400.0
    segment_bytes: int = 4 * 1024 * 1024


class Spool:
    """A bounded FIFO of encoded messages on disk, with the station's sequence counter."""

    def __init__(
        self,
        directory: Path,
        limits: SpoolLimits,
        *,
        fsync_interval: float | None = None,
        legacy_path: Path | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.directory, self.limits, self._clock = directory, limits, clock
        self._fsync_interval = fsync_interval
        migrating = legacy_path is not None and legacy_path.exists()
        if migrating and not (directory / CURSOR).exists():
            for stale in segment.paths(directory):  # an earlier migration that did not finish
                stale.unlink()
        self._segments: list[Segment] = []
        self._head = 0
        self.torn = 0
        self._load_segments()
        state = cursor.read(directory / CURSOR) or CursorState()
        self._cursor = cursor.Cursor(directory / CURSOR)
        self._floor, self._acked, self._dropped = state.floor, state.acked, state.dropped
        self._next_seq = max(state.next_seq, self._last_seq() + 1)
        self._dirty, self._saved, self._synced = False, self._clock(), self._clock()
        self._next_age_check = 0.0
        self._dropping = False
        if migrating and legacy_path is not None:
            self._migrate(legacy_path)
        self._settle()
        self._count, self._bytes = self._measure()

    # -- opening -------------------------------------------------------------------------------------

    def _load_segments(self) -> None:
        found = segment.paths(self.directory)
        for path in found:
            seg, torn = Segment.load(path)
            if torn:
                self.torn += 1
                log.warning("spool: cut a torn tail of %d bytes off %s (a cut mid-write)", torn, path)
            if len(seg) or path == found[-1]:
                self._segments.append(seg)
            else:
                seg.delete()

    def _last_seq(self) -> int:
        return next((seg.seqs[-1] for seg in reversed(self._segments) if len(seg)), -1)

    def _migrate(self, path: Path) -> None:
        """Read an old SQLite spool into the log; remove it once the log holds it on the device."""
        old, moved, known = legacy.counters(path), 0, self._next_seq
        for seq, created, topic, payload in legacy.records(path):
            if seq >= known:  # a migration that finished before a kill already holds the others
                self._write(seq, created, topic, payload)
                moved += 1
        self._next_seq = max(self._next_seq, old.next_seq, self._last_seq() + 1)
        self._dropped = max(self._dropped, old.dropped)
        self._save()
        self._fsync_all()
        legacy.remove(path)
        log.info("spool: moved %d messages from %s into the segment log %s", moved, path, self.directory)

    def _measure(self) -> tuple[int, int]:
        count = size = 0
        for n, seg in enumerate(self._segments):
            for i in range(self._head if n == 0 else 0, len(seg)):
                if not self._gone(seg.seqs[i]):
                    count += 1
                    size += seg.sizes[i]
        return count, size

    # -- the publisher's API -------------------------------------------------------------------------

    def next_seq(self) -> int:
        """The seq the next appended message will get."""
        return self._next_seq

    def append(self, topic: str, build: Callable[[int], bytes]) -> Spooled:
        """Store one message; ``build(seq) -> bytes`` makes its payload with the seq assigned here.

        When this returns, the message is in the page cache (it survives a kill of the process)."""
        seq = self._next_seq
        payload = build(seq)
        self._write(seq, time.time(), topic, payload)
        self._next_seq = seq + 1
        self._count += 1
        self._bytes += len(payload)
        if self._over_bounds() or self._clock() >= self._next_age_check:
            self.enforce_limits()
        self._maybe_fsync()
        self._maybe_save()
        return Spooled(seq + 1, seq, topic, payload)

    def oldest(self, limit: int, *, after: int = 0, upto: int | None = None) -> list[Spooled]:
        """Up to ``limit`` waiting messages with ``after < id <= upto``, oldest first."""
        after_seq, upto_seq = after - 1, (upto - 1 if upto is not None else 2**62)
        out: list[Spooled] = []
        for n, seg in enumerate(self._segments):
            if not len(seg) or seg.seqs[-1] <= after_seq:
                continue
            start = max(seg.after(after_seq), self._head if n == 0 else 0)
            for i in range(start, len(seg)):
                seq = seg.seqs[i]
                if seq > upto_seq:
                    return out
                if seq in self._acked:
                    continue
                frame = seg.read(i)
                out.append(Spooled(seq + 1, seq, frame.topic, frame.payload))
                if len(out) >= limit:
                    return out
        return out

    def last_id(self) -> int:
        """The id of the newest waiting message (0 when empty)."""
        if not self._count:
            return 0
        for seg in reversed(self._segments):
            for i in range(len(seg) - 1, -1, -1):
                if not self._gone(seg.seqs[i]):
                    return seg.seqs[i] + 1
        return 0

    def delete(self, message: Spooled) -> None:
        """A message has been acknowledged: it leaves the spool (idempotent)."""
        seq = message.seq
        if self._gone(seq) or seq >= self._next_seq:
            return
        self._acked.add(seq)
        self._count -= 1
        self._bytes -= len(message.payload)
        self._dirty = True
        self._settle()
        self._maybe_save()

    def enforce_limits(self) -> int:
        """Drop the oldest messages beyond the bounds; return how many were dropped now."""
        dropped = 0
        self._next_age_check = self._clock() + AGE_CHECK
        cutoff = time.time() - self.limits.max_age
        while (head := self._head_record()) is not None and (self._over_bounds() or head[1] < cutoff):
            seq, _, size = head
            self._floor = seq
            self._head += 1
            self._count -= 1
            self._bytes -= size
            dropped += 1
            self._settle()
        if dropped:
            self._dropped += dropped
            self._save()
        self._log_drops(dropped)
        return dropped

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
        return self._dropped

    def close(self) -> None:
        """Save the cursor (fsynced when ``fsync_interval`` is set) and close every file."""
        self._save()
        if self._fsync_interval is not None:
            self._fsync_all()
        self._cursor.close()
        for seg in self._segments:
            seg.close()
        self._segments = []

    # -- inside --------------------------------------------------------------------------------------

    def _gone(self, seq: int) -> bool:
        return seq <= self._floor or seq in self._acked

    def _head_record(self) -> tuple[int, float, int] | None:
        """(seq, created, payload size) of the oldest waiting record (after :meth:`_settle`)."""
        if not self._segments or self._head >= len(self._segments[0]):
            return None
        seg = self._segments[0]
        return seg.seqs[self._head], seg.created[self._head], seg.sizes[self._head]

    def _settle(self) -> None:
        """Move the head past what has left; delete the segments behind it (never the newest)."""
        while self._segments:
            seg = self._segments[0]
            if self._head < len(seg):
                seq = seg.seqs[self._head]
                if seq in self._acked:
                    self._acked.discard(seq)
                elif seq > self._floor:
                    return
                self._floor = max(self._floor, seq)
                self._head += 1
            elif len(self._segments) > 1:
                self._segments.pop(0).delete()
                self._head = 0
            else:
                return

    def _write(self, seq: int, created: float, topic: str, payload: bytes) -> None:
        active = self._segments[-1] if self._segments else None
        if active is None or (len(active) and active.end >= self.limits.segment_bytes):
            if active is not None and self._fsync_interval is not None:
                active.fsync()
            self._segments.append(Segment(self.directory / segment.name(seq)))
            if self._fsync_interval is not None:
                _fsync_dir(self.directory)
        self._segments[-1].append(seq, created, topic, payload)
        self._settle()

    def _over_bounds(self) -> bool:
        return self._count > self.limits.max_messages or self._bytes > self.limits.max_bytes

    def _maybe_fsync(self) -> None:
        if self._fsync_interval is None or self._clock() - self._synced < self._fsync_interval:
            return
        self._segments[-1].fsync()
        self._synced = self._clock()

    def _maybe_save(self) -> None:
        if self._dirty and (not self._count or self._clock() - self._saved >= CURSOR_INTERVAL):
            self._save()

    def _save(self) -> None:
        self._cursor.write(CursorState(self._floor, self._next_seq, self._dropped, set(self._acked)))
        self._dirty, self._saved = False, self._clock()

    def _fsync_all(self) -> None:
        for seg in self._segments:
            seg.fsync()
        self._cursor.fsync()
        _fsync_dir(self.directory)

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


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
