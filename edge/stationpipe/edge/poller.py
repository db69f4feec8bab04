"""Polls one device on its interval grid through its driver's reader (:mod:`stationpipe.edge.drivers`).

A failed request flags only its own points B; the other requests of the poll go on (the driver's
business). A device whose every request fails is backed off on its own (its polls yield B readings
without touching the line), so a dead unit never stalls its neighbours on a shared line. Timestamps are
the instant each request was sent; polls keep to the grid (k * interval + phase) and never drift. The
phase is the station's own offset into the interval (``EdgeConfig.phase``), so that a fleet of stations
with synchronised clocks does not poll, and publish, in one burst at every tick. The poller keeps the
timing, the backoff, the availability and the metrics; it knows no protocol. A poll that failed only
because the link is down (``DeviceOfflineError``: a DTU not dialled in; nothing was sent) is not backed
off: the next tick fails as cheaply, or reads the device as soon as its DTU is back.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable

from stationpipe.edge.drivers.base import Poll, Reader
from stationpipe.edge.metrics import EdgeMetrics
from stationpipe.kernel.backoff import Backoff
from stationpipe.kernel.errors import (
    DeviceChecksumError,
    DeviceError,
    DeviceExceptionError,
    DeviceOfflineError,
    DeviceSilentError,
)
from stationpipe.kernel.qc import QcRecord
from stationpipe.kernel.reading import Reading

log = logging.getLogger(__name__)
#: What becomes of one poll: the device's name, its readings and the QC checks it showed first.
Emit = Callable[[str, list[Reading], tuple[QcRecord, ...]], Awaitable[None]]


def next_tick(now: float, interval: float, phase: float = 0.0) -> float:
    """The next grid instant ``k * interval + phase`` strictly after ``now`` (epoch seconds)."""
    return (math.floor((now - phase) / interval) + 1) * interval + phase


class Poller:
    """One device: its reader, its availability and its own backoff."""

    def __init__(self, reader: Reader, metrics: EdgeMetrics, phase: float = 0.0) -> None:
        self.reader, self.metrics = reader, metrics
        self.name, self.interval = reader.name, reader.interval
        self.phase = phase % self.interval
        self.available = True
        self._backoff = Backoff(initial=self.interval, cap=max(300.0, self.interval))
        self._retry_at = 0.0

    async def poll_once(self) -> Poll:
        """Read the device once; failures become B-flagged readings of the points they cover."""
        if time.monotonic() < self._retry_at:
            return Poll(self.reader.unanswered(), answered=False)
        poll = await self.reader.poll()
        for error in poll.errors:
            self._count_error(error)
        if poll.answered:
            self._backoff.reset()
            self._set_available(available=True, why="answering again")
        else:
            # a link that is down, or a pushing device that is silent, costs nothing to ask again
            offline = any(isinstance(e, DeviceOfflineError) for e in poll.errors)
            if not offline:
                self._retry_at = time.monotonic() + self._backoff.next_delay()
            why = str(poll.errors[-1]) if poll.errors else ""
            self._set_available(available=False, why=why, backing_off=not offline)
        return poll

    def _count_error(self, exc: DeviceError) -> None:
        kind = "no_answer"  # also a silent pushing device (DeviceSilentError)
        if isinstance(exc, DeviceExceptionError):
            kind = "exception"
        elif isinstance(exc, DeviceChecksumError):
            kind = "checksum"
        elif isinstance(exc, DeviceOfflineError) and not isinstance(exc, DeviceSilentError):
            kind = "offline"
        self.metrics.errors.labels(self.name, kind).inc()

    def _set_available(self, *, available: bool, why: str, backing_off: bool = True) -> None:
        if available != self.available:
            self.available = available
            level = logging.INFO if available else logging.WARNING
            state = "unavailable (backing off)" if backing_off else "unavailable (link down)"
            state = "available" if available else state
            log.log(level, "device %s %s: %s", self.name, state, why)

    async def run(self, emit: Emit) -> None:
        """Poll on the grid forever; a poll that overruns skips the missed ticks (never bursts)."""
        while True:
            wake = next_tick(time.time(), self.interval, self.phase)
            await asyncio.sleep(max(0.0, wake - time.time()))
            poll = await self.poll_once()
            self.metrics.polls.labels(self.name).inc()
            for r in poll.readings:
                self.metrics.points.labels(self.name, r.flag.value).inc()
            await emit(self.name, poll.readings, poll.qc)
