"""Making batches durable: written to InfluxDB, or else kept in the disk spool and written later.

Order is kept: while anything is spooled, new batches join the spool behind it; only the drain task
writes spooled batches, oldest first, and deletes each only after it was written. Lines the database
refuses go to the dead letters with the reason; the rest of their batch is written.
"""

from __future__ import annotations

import asyncio
import logging
import time

from stationpipe.collector.deadletter import DeadLetters
from stationpipe.collector.metrics import Metrics
from stationpipe.collector.policy import write_all
from stationpipe.collector.spool import Spool, SpoolFullError
from stationpipe.collector.tasks import raise_if_cancelled
from stationpipe.collector.writers.base import Writer
from stationpipe.kernel.backoff import Backoff
from stationpipe.kernel.errors import TransientError

log = logging.getLogger(__name__)


class Store:
    """The writer, the spool and the dead letters behind one collector."""

    def __init__(self, writer: Writer, spool: Spool, dead: DeadLetters, metrics: Metrics) -> None:
        self.writer = writer
        self.spool = spool
        self.dead = dead
        self.metrics = metrics
        self._spooled = asyncio.Event()
        self._outage = False
        self._spool_full = False
        self._gauges()
        if not spool.empty:
            self._spooled.set()

    def _gauges(self) -> None:
        self.metrics.spool_points.set(self.spool.points)
        self.metrics.spool_bytes.set(self.spool.size)

    async def _write(self, lines: list[str], topics: list[str]) -> None:
        """Write what the database accepts, dead-letter the rest; raises ``TransientError``/``FatalError``."""
        started = time.perf_counter()
        refused = await write_all(self.writer, lines)
        self.metrics.latency.observe(time.perf_counter() - started)
        self.metrics.last_write.set_to_current_time()
        self.metrics.points.inc(len(lines) - len(refused))
        if refused:
            origin = dict(zip(lines, topics, strict=True))
            for r in refused:
                await self.dead.send("rejected", r.reason, origin.get(r.line, ""), r.line.encode())

    async def durable(self, lines: list[str], topics: list[str]) -> None:
        """Return once the batch is written or spooled (then its messages may be acknowledged).

        While the spool is full (its byte bound, or its disk) the batch waits, unacknowledged; each time
        the spool is found empty the batch is written directly again, since a full disk may refuse even an
        empty spool.
        """
        backoff = Backoff(initial=0.1, cap=2.0)
        while True:
            if self.spool.empty and await self._direct(lines, topics):
                self._full(why="")
                return
            try:
                await self.spool.append(lines, topics)
            except SpoolFullError as exc:
                self._full(why=str(exc))
                await asyncio.sleep(backoff.next_delay())  # the drain frees room; messages stay unacked
                continue
            self._full(why="")
            self._gauges()
            self._spooled.set()
            self.metrics.batches.labels("spooled").inc()
            return

    def _full(self, *, why: str) -> None:
        """Log the spool filling up and having room again once each (``why`` empty: it has room)."""
        if why and not self._spool_full:
            log.warning("%s: holding messages unacknowledged until the drain frees room", why)
        elif not why and self._spool_full:
            log.info("spool has room again")
        self._spool_full = bool(why)

    async def _direct(self, lines: list[str], topics: list[str]) -> bool:
        """Write a batch straight to the database; False (counted, logged once) when it is unavailable."""
        try:
            await self._write(lines, topics)
        except TransientError as exc:
            self.metrics.retries.inc()
            self._state(outage=True, why=str(exc))
            return False
        self.metrics.batches.labels("written").inc()
        return True

    def health(self) -> str:
        """The health line: writing, or spooling through a database outage."""
        spool = f"spool {self.spool.points} points ({self.spool.size} bytes)"
        return f"database unavailable: spooling; {spool}" if self._outage else f"ok: {spool}"

    def _state(self, *, outage: bool, why: str = "") -> None:
        """Log the database going away and coming back once each (not every failure)."""
        if outage and not self._outage:
            log.warning("InfluxDB unavailable (%s); spooling to %s", why, self.spool.path)
        elif not outage and self._outage:
            log.info("InfluxDB available again; spool drained")
        self._outage = outage

    async def drain(self) -> None:
        """Forever: write spooled batches oldest first, retrying with backoff (honouring Retry-After)."""
        backoff = Backoff()
        while True:
            raise_if_cancelled()
            self._spooled.clear()  # before looking, so an append that lands meanwhile is not missed
            batch = await self.spool.oldest()
            if batch is None:
                self._state(outage=False)
                await self._spooled.wait()
                continue
            try:
                await self._write(batch.lines, batch.topics)
            except TransientError as exc:
                self.metrics.retries.inc()
                self._state(outage=True, why=str(exc))
                await asyncio.sleep(backoff.next_delay(exc.retry_after))
                continue
            backoff.reset()
            await self.spool.delete(batch.id)
            self.metrics.batches.labels("drained").inc()
            self._gauges()
