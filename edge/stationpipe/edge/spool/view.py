"""A spool read from outside the agent (tests, benchmarks, an operator), without disturbing it.

Nothing is written or cut: a torn tail simply ends a segment's records. The cursor may lag the agent's
memory by up to a second (:mod:`.log`), so a message acknowledged just now may still count as waiting.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from stationpipe.edge.spool import cursor, frames, segment
from stationpipe.edge.spool.cursor import CursorState


@dataclass(frozen=True)
class SpoolView:
    """The seqs waiting, the next seq and the drop counter of a spool directory."""

    waiting: list[int]
    next_seq: int
    dropped: int

    @property
    def depth(self) -> int:
        """Messages waiting."""
        return len(self.waiting)


def records(paths: list[Path]) -> Iterator[frames.Frame]:
    """Every whole record of the given segment files, in order."""
    for path in paths:
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            continue
        yield from frames.scan(data)


def view(directory: Path) -> SpoolView:
    """What the spool in ``directory`` holds (empty when there is none yet)."""
    state = cursor.read(directory / cursor.FILE) or CursorState()
    seqs = [f.seq for f in records(segment.paths(directory))] if directory.is_dir() else []
    waiting = [s for s in seqs if s > state.floor and s not in state.acked]
    return SpoolView(waiting, max([state.next_seq, *(s + 1 for s in seqs)]), state.dropped)
