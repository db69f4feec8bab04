"""Drains the spool to the broker at QoS 1; a message leaves the spool only after its PUBACK.

Each broker session has two lanes: the *live* lane publishes what is produced during the session as
it comes; the *backlog* lane publishes what was waiting when the session began, oldest first, paced at
``drain_rate`` messages per second, so after an outage the backlog drains in order while fresh
readings keep flowing. Each lane keeps its order on the wire; up to ``window`` messages await PUBACK at
once. A lost connection ends the session; whatever was not acknowledged is still in the spool and is
sent again (at least once; the collector's writes are idempotent).

Over MQTT 5 a PUBACK says what the broker did with the message. A message it gave to no subscriber
(reason 0x10: the consumers are not subscribed, e.g. right after a broker restart that forgot their
shared subscriptions) or refused (0x80 and above) stays in the spool: the session ends, waits with
backoff and starts again on the same connection, resending from the oldest message kept.

Cancellation (SIGTERM) always wins. Python 3.11's ``TaskGroup`` raises its children's errors instead of
a ``CancelledError`` that arrives at the same moment (a publish held while the agent is told to stop),
and ``Task.cancelling()`` cannot tell: a group whose child fails while it is already exiting requests a
cancel of its parent and never withdraws it. So :meth:`Publisher.run` does the work in a task of its own,
and when it is cancelled it says so in ``_stopping`` before cancelling that task; every handler of a
session's errors re-raises the cancellation while stopping, instead of starting the next session.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from stationpipe.edge.config import EdgeConfig
from stationpipe.edge.metrics import EdgeMetrics
from stationpipe.edge.spool import Spool, Spooled
from stationpipe.kernel import wire
from stationpipe.kernel.backoff import Backoff
from stationpipe.kernel.errors import BrokerUnavailableError, UndeliveredError, reasons
from stationpipe.kernel.messages import AgentState, StationStatus
from stationpipe.kernel.mqtt import NO_MATCHING_SUBSCRIBERS, QOS, Client, Will, make_client, undelivered
from stationpipe.kernel.reading import utc_now
from stationpipe.kernel.version import package_version

log = logging.getLogger(__name__)
VERSION = package_version()


class Pacer:
    """At most ``rate`` events per second, without bursts after idle time."""

    def __init__(self, rate: float) -> None:
        self._period = 1.0 / rate
        self._next = time.monotonic()

    async def wait(self) -> None:
        """Return when the next event may happen."""
        now = time.monotonic()
        self._next = max(self._next, now)
        await asyncio.sleep(self._next - now)
        self._next += self._period


class Publisher:
    """The agent's one broker connection: status, live lane and backlog lane."""

    def __init__(
        self, config: EdgeConfig, spool: Spool, metrics: EdgeMetrics, health: Callable[[], str]
    ) -> None:
        self.config, self.spool, self.metrics, self.health = config, spool, metrics, health
        self._new = asyncio.Event()
        self._holding = False
        self._held = Backoff(initial=0.5, cap=5.0)
        self._stopping = False

    def notify(self) -> None:
        """A message was appended to the spool."""
        self._new.set()

    def _status(self, state: AgentState) -> tuple[str, bytes]:
        depth = self.spool.depth
        self.metrics.spool_depth.set(depth)
        self.metrics.spool_dropped.set(self.spool.dropped)
        health = self.health() if state is AgentState.ONLINE else "offline"
        return wire.encode(StationStatus(self.config.station, state, utc_now(), VERSION, depth, health))

    async def run(self) -> None:
        """Keep a broker session up until cancelled; then stop for sure (module doc)."""
        work = asyncio.create_task(self._connected())
        try:
            await asyncio.shield(work)
        finally:
            self._stopping = True
            work.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await work

    def _unless_stopping(self) -> None:
        """Re-raise the cancellation a task group dropped in favour of its children's errors."""
        if self._stopping:
            raise asyncio.CancelledError

    async def _connected(self) -> None:
        """Keep a broker session up forever, reconnecting with backoff; log state changes only."""
        backoff = Backoff()
        topic, offline = self._status(AgentState.OFFLINE)
        will = Will(topic, offline, qos=QOS, retain=True)
        up = True
        while True:
            try:
                async with make_client(self.config.mqtt, will=will, clean_session=False) as client:
                    log.info(
                        "connected to broker %s:%d (spool depth %d)",
                        self.config.mqtt.host,
                        self.config.mqtt.port,
                        self.spool.depth,
                    )
                    up = True
                    backoff.reset()
                    await self._sessions(client)
            except* BrokerUnavailableError as group:
                self._unless_stopping()
                self.metrics.connected.set(0)
                delay = backoff.next_delay()
                if up:
                    log.warning("broker unavailable (%s); spooling, retrying with backoff", reasons(group))
                    up = False
                await asyncio.sleep(delay)

    async def _sessions(self, client: Client) -> None:
        """Sessions on one connection: one ends when the broker did not deliver a message (module doc)."""
        while True:
            try:
                await self._session(client)
            except* UndeliveredError as group:
                self._unless_stopping()
                error = reasons(group)
                delay = self._held.next_delay()
                if not self._holding:
                    log.warning("%s; keeping it and what follows in the spool, sending again", error)
                    self._holding = True
                log.debug("holding for %.1f s: %s", delay, error)
                await asyncio.sleep(delay)

    async def _session(self, client: Client) -> None:
        self.metrics.connected.set(1)
        boundary = self.spool.last_id()
        try:
            await client.publish(*self._status(AgentState.ONLINE), qos=QOS, retain=True)
            async with asyncio.TaskGroup() as tg:
                tg.create_task(self._status_loop(client))
                tg.create_task(self._lane(client, after=boundary, upto=None, pacer=None))
                if boundary:
                    tg.create_task(
                        self._lane(client, after=0, upto=boundary, pacer=Pacer(self.config.spool.drain_rate))
                    )
        finally:
            if self._stopping:
                await self._say_offline(client)

    async def _say_offline(self, client: Client) -> None:
        with contextlib.suppress(BrokerUnavailableError, TimeoutError):
            async with asyncio.timeout(2):
                await client.publish(*self._status(AgentState.OFFLINE), qos=QOS, retain=True)

    async def _status_loop(self, client: Client) -> None:
        while True:
            await asyncio.sleep(self.config.status_interval)
            await client.publish(*self._status(AgentState.ONLINE), qos=QOS, retain=True)

    async def _lane(self, client: Client, *, after: int, upto: int | None, pacer: Pacer | None) -> None:
        """Publish ``after < id <= upto`` in id order; the live lane (``upto=None``) is endless."""
        window = asyncio.Semaphore(self.config.spool.window)
        cursor = after
        async with asyncio.TaskGroup() as tg:
            while True:
                if upto is None:
                    self._new.clear()
                batch = self.spool.oldest(self.config.spool.window, after=cursor, upto=upto)
                if not batch:
                    if upto is not None:
                        break
                    await self._new.wait()
                    continue
                for message in batch:
                    await window.acquire()
                    if pacer is not None:
                        await pacer.wait()
                    tg.create_task(self._publish(client, message, window))
                    cursor = message.id
        if upto is not None:
            log.info("backlog drained (up to message %d)", upto)

    async def _publish(self, client: Client, message: Spooled, window: asyncio.Semaphore) -> None:
        start = time.monotonic()
        try:
            reason = await client.publish_acked(message.topic, message.payload)  # returns after PUBACK
        finally:
            window.release()
        if reason and (reason != NO_MATCHING_SUBSCRIBERS or self.config.mqtt.require_subscriber):
            self.metrics.held.labels(f"0x{reason:02x}").inc()
            raise undelivered(message.topic, reason)
        if self._holding:
            self._holding = False
            self._held.reset()
            log.info("the broker delivers again; sending what was kept in the spool")
        self.spool.delete(message)
        self.metrics.published.inc()
        self.metrics.publish_latency.observe(time.monotonic() - start)
