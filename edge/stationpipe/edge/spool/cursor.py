"""The spool's cursor: what has left the spool, persisted cheaply in one small file.

The file ``cursor`` holds two slots (at offsets 0 and ``SLOT``), written in turn in place with ``pwrite``,
each framed with length and CRC and numbered by a generation: a torn write spoils one slot and the other
still holds the previous state. In place, the file's one page stays in the page cache and is dirtied again
without new allocation; the spool writes it at most once per ``interval`` (and on close), never fsyncs it:
a cursor that lags only makes acknowledged messages be sent again (at least once).

A state is the ``floor`` (every seq up to it has left), the seqs above it acknowledged out of order (as
ranges; those that do not fit a slot are left out, and are sent again), the next seq and the drop counter.
"""

from __future__ import annotations

import os
import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path

FILE = "cursor"
SLOT = 2048
_HEAD = struct.Struct("<II")
_STATE = struct.Struct("<qqqqH")
_RANGE = struct.Struct("<qq")
_MAX_RANGES = (SLOT - _HEAD.size - _STATE.size) // _RANGE.size


@dataclass
class CursorState:
    """What has left the spool (``floor`` and ``acked`` above it), the next seq and the drop count."""

    floor: int = -1
    next_seq: int = 0
    dropped: int = 0
    acked: set[int] = field(default_factory=set)


def ranges(seqs: set[int]) -> list[tuple[int, int]]:
    """Sorted inclusive runs of ``seqs``."""
    out: list[tuple[int, int]] = []
    for seq in sorted(seqs):
        if out and out[-1][1] == seq - 1:
            out[-1] = (out[-1][0], seq)
        else:
            out.append((seq, seq))
    return out


def _encode(state: CursorState, generation: int) -> bytes:
    runs = ranges(state.acked)[:_MAX_RANGES]
    body = _STATE.pack(generation, state.floor, state.next_seq, state.dropped, len(runs))
    body += b"".join(_RANGE.pack(*run) for run in runs)
    return _HEAD.pack(len(body), zlib.crc32(body)) + body


def _decode(slot: bytes) -> tuple[int, CursorState] | None:
    if len(slot) < _HEAD.size + _STATE.size:
        return None
    length, crc = _HEAD.unpack_from(slot)
    body = slot[_HEAD.size : _HEAD.size + length]
    if length < _STATE.size or len(body) != length or zlib.crc32(body) != crc:
        return None
    generation, floor, next_seq, dropped, count = _STATE.unpack_from(body)
    if _STATE.size + count * _RANGE.size != length:
        return None
    acked: set[int] = set()
    for i in range(count):
        low, high = _RANGE.unpack_from(body, _STATE.size + i * _RANGE.size)
        acked.update(range(low, high + 1))
    return generation, CursorState(floor, next_seq, dropped, acked)


def _newest(path: Path) -> tuple[int, CursorState] | None:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    states = [s for s in (_decode(data[:SLOT]), _decode(data[SLOT : 2 * SLOT])) if s is not None]
    return max(states, key=lambda s: s[0]) if states else None


def read(path: Path) -> CursorState | None:
    """The newest whole state in the file, or ``None`` (no file, or neither slot whole)."""
    newest = _newest(path)
    return None if newest is None else newest[1]


class Cursor:
    """The open cursor file; :meth:`write` puts a state in the older slot."""

    def __init__(self, path: Path) -> None:
        self.path = path
        newest = _newest(path)
        self._generation = 0 if newest is None else newest[0]
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)

    def write(self, state: CursorState) -> None:
        """Persist ``state`` in place (page cache; see the module doc)."""
        self._generation += 1
        os.pwrite(self._fd, _encode(state, self._generation), (self._generation % 2) * SLOT)

    def fsync(self) -> None:
        """Force the file to the device."""
        os.fsync(self._fd)

    def close(self) -> None:
        """Close the file."""
        os.close(self._fd)
