"""Reading-time order per station, with a configurable evaluation offset.

A reading is *released* for evaluation once its time is at or before ``max(latest reading time of its
station, wall clock) - offset``: with ``offset = 0`` at once; with an offset, late readings that arrive
within it are still evaluated in order. A reading at or before the last released time of its series
(station x parameter) is *late* (or a redelivered duplicate): it is counted and not evaluated.
"""

from __future__ import annotations

import heapq
import itertools
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from operator import attrgetter

from stationpipe.kernel.reading import Reading

_TS = attrgetter("ts")

#: A released reading and the wall-clock instant it arrived.
Released = tuple[Reading, datetime]


@dataclass
class Reorder:
    """Per-station min-heaps of held readings; ``released`` is the last released time per series."""

    offset: timedelta
    held: dict[str, list[tuple[datetime, int, Reading, datetime]]] = field(default_factory=dict)
    newest: dict[str, datetime] = field(default_factory=dict)
    released: dict[tuple[str, str], datetime] = field(default_factory=dict)
    late: int = 0
    _seq: itertools.count[int] = field(default_factory=itertools.count)

    def _fresh(self, r: Reading) -> bool:
        last = self.released.get((r.station, r.parameter))
        if last is not None and r.ts <= last:
            self.late += 1
            return False
        return True

    def push(self, readings: tuple[Reading, ...], wall: datetime) -> list[Released]:
        """Take one message's readings (arrived at ``wall``); return those released now, in time order."""
        if not self.offset:
            out = [(r, wall) for r in sorted(readings, key=_TS) if self._fresh(r)]
            for r, _ in out:
                self.released[r.station, r.parameter] = r.ts
            return out
        for r in readings:
            if self._fresh(r):
                heapq.heappush(self.held.setdefault(r.station, []), (r.ts, next(self._seq), r, wall))
                self.newest[r.station] = max(self.newest.get(r.station, r.ts), r.ts)
        stations = {r.station for r in readings}
        return [r for s in sorted(stations) for r in self._release(s, wall)]

    def _release(self, station: str, wall: datetime) -> list[Released]:
        heap = self.held.get(station, [])
        horizon = max(self.newest.get(station, wall), wall) - self.offset
        out = []
        while heap and heap[0][0] <= horizon:
            _, _, r, arrival = heapq.heappop(heap)
            if self._fresh(r):
                self.released[r.station, r.parameter] = r.ts
                out.append((r, arrival))
        return out

    def due(self, wall: datetime) -> list[Released]:
        """Readings of every station released by the wall clock alone (for the timer)."""
        return [r for s in sorted(self.held) for r in self._release(s, wall)]
