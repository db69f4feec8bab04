"""``stationpipe collector``: readings, derived results and warnings from MQTT into InfluxDB, at least
once, idempotent, through database outages.

Pipeline of one connection: ``consume`` decodes messages into batches (by points, messages and age) and
hands each full batch to ``commit`` through a one-slot queue, so one batch is written while the next one
fills. It is a group commit: while a write is in flight the next batch gathers (up to its limits); when
none is, a batch is written once it is ``gather`` seconds old instead of waiting for ``max_age``, so a
light load is stored within a write's latency and a heavy one in batches as large as the writes are slow.
``commit`` makes the batch durable (written, or spooled on disk) and only then acknowledges its
messages, in the order they arrived (manual acknowledgement on a persistent session). A collector killed
mid-batch loses nothing: the broker redelivers and the rewrite lands on the same points.

When the connection drops, the batches taken from it and not yet acknowledged (the one being written,
the queued one, the one filling) are still made durable, within ``_KEEP_TIMEOUT``, though they can no
longer be acknowledged (their packet ids belong to the old connection): a broker that is restarted
redelivers them on the new one and the rewrite lands on the same points, but one that was killed before
it saved them to disk cannot, and they would be lost.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from stationpipe.collector.config import BatchSettings, CollectorConfig
from stationpipe.collector.deadletter import DeadLetters
from stationpipe.collector.metrics import Metrics
from stationpipe.collector.records import Decoded, decode
from stationpipe.collector.spool import Spool
from stationpipe.collector.stations import Stations
from stationpipe.collector.store import Store
from stationpipe.collector.subscriptions import describe, filters, follow, subscribe
from stationpipe.collector.tasks import raise_if_cancelled
from stationpipe.collector.writers import make_writer
from stationpipe.kernel import health
from stationpipe.kernel.backoff import consumer_reconnect
from stationpipe.kernel.errors import BrokerUnavailableError, RejectedError, first_error
from stationpipe.kernel.metrics import serving
from stationpipe.kernel.mqtt import (
    Client,
    Message,
    ack_all,
    enable_manual_ack,
    make_client,
    ready_messages,
)
from stationpipe.kernel.reading import utc_now
from stationpipe.kernel.runtime import tune_gc

log = logging.getLogger(__name__)
_QUEUE_SLOTS = 1  # batches waiting to be written while the next fills (bounded: docs/design.md#style rule 9)
_KEEP_TIMEOUT = 10.0  # seconds to make a dropped connection's unacknowledged batches durable
#: Messages taken and decoded between two turns of the event loop: a write that has finished meanwhile
#: is then acknowledged and the next one started within ~1.5 ms, not after a whole batch (~15 ms).
_YIELD_EVERY = 50


@dataclass
class Batch:
    """Lines waiting to be written, the topic of each line, and the messages to acknowledge after."""

    lines: list[str] = field(default_factory=list)
    topics: list[str] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)
    started: float | None = None

    def add(self, message: Message, topic: str, lines: list[str]) -> None:
        """Take one message (``lines`` may be empty: a dead-lettered message is acknowledged in order)."""
        if self.started is None:
            self.started = asyncio.get_running_loop().time()
        self.lines.extend(lines)
        self.topics.extend([topic] * len(lines))
        self.messages.append(message)

    def deadline(self, limits: BatchSettings, last: float, *, writer_idle: bool) -> float | None:
        """When the batch must be written even if no further message comes (``None``: it is empty);
        ``writer_idle``: no batch is being written or waiting to be, so ``gather`` is long enough."""
        if self.started is None:
            return None
        age = min(limits.max_age, limits.gather) if writer_idle else limits.max_age
        return min(self.started + age, last + limits.max_idle)

    def due(self, limits: BatchSettings, now: float, last: float, *, writer_idle: bool) -> bool:
        """Full (points or messages), old, or idle: time to write."""
        deadline = self.deadline(limits, last, writer_idle=writer_idle)
        if deadline is None:
            return False
        return (
            len(self.lines) >= limits.max_points
            or len(self.messages) >= limits.max_messages
            or now >= deadline
        )


@dataclass
class Unacked:
    """The batches of one connection not yet acknowledged: filling, queued for writing, being written."""

    queue: asyncio.Queue[Batch] = field(default_factory=lambda: asyncio.Queue(_QUEUE_SLOTS))
    filling: Batch = field(default_factory=Batch)
    writing: Batch | None = None
    written: asyncio.Event = field(default_factory=asyncio.Event)  # set when a write has finished

    def writer_idle(self) -> bool:
        """No batch is being written and none waits to be."""
        return self.writing is None and self.queue.empty()

    def batches(self) -> list[Batch]:
        """All of them, oldest first (taking the queued ones out of the queue)."""
        queued = [self.queue.get_nowait() for _ in range(self.queue.qsize())]
        return [b for b in (self.writing, *queued, self.filling) if b is not None and b.lines]


class Collector:
    """One collector instance: metrics, dead letters, spool, writer and station registry."""

    def __init__(self, config: CollectorConfig, store: Store, stations: Stations) -> None:
        self.config = config
        self.store = store
        self.stations = stations
        self.metrics = store.metrics
        self.fast_clocks: set[str] = set()  # stations whose readings arrive stamped in the future
        self.reconnect = consumer_reconnect()

    async def handle(self, messages: list[Message], batch: Batch) -> None:
        """Decode messages into the batch, in order; an undecodable one is dead-lettered (and acked in
        order). One clock reading and one count per kind for all of them: they arrived together.

        Nothing is awaited before every message is in the batch (the dead letters are sent after), so a
        connection lost meanwhile still finds them all there (``keep``).
        """
        now = utc_now()
        max_ahead = self.config.clock.max_ahead
        counts: Counter[str] = Counter()
        dead: list[tuple[str, str, bytes]] = []
        for message in messages:
            payload = message.payload if isinstance(message.payload, bytes) else str(message.payload).encode()
            topic = message.topic.value
            try:
                decoded = decode(topic, payload, now, max_ahead)
            except RejectedError as exc:
                counts["undecodable"] += 1
                dead.append((str(exc), topic, payload))
                batch.add(message, topic, [])
                continue
            counts[decoded.kind] += 1
            self.stations.seen(decoded.station)
            if decoded.ahead or decoded.station in self.fast_clocks:
                self._clock(decoded)
            batch.add(message, topic, decoded.lines)
        for kind, count in counts.items():
            self.metrics.received(kind).inc(count)
        for reason, topic, payload in dead:
            await self.store.dead.send("undecodable", reason, topic, payload)

    def _clock(self, decoded: Decoded) -> None:
        """Count readings stamped ahead of our clock; log a station's clock running ahead, and back, once."""
        station = decoded.station
        if decoded.ahead:
            self.metrics.ahead.labels(station).inc(decoded.ahead)
            if station not in self.fast_clocks:
                self.fast_clocks.add(station)
                log.warning(
                    "station %s: readings stamped more than %g s ahead of this clock: stored with the field "
                    "'ahead'; check the station's clock (NTP)",
                    station,
                    self.config.clock.max_ahead,
                )
        elif decoded.kind == "readings":
            self.fast_clocks.discard(station)
            log.info("station %s: readings no longer ahead of this clock", station)

    async def consume(self, client: Client, unacked: Unacked) -> None:
        """Batch messages by size, age and idleness and queue each due batch; forever.

        The next message is awaited in a task that a batch deadline never cancels: aiomqtt's message
        iterator is not cancellation-safe (a message taken from its queue in the same loop iteration as
        a timeout would be lost, unacknowledged until the next session). A batch gathering while a
        write is in flight also wakes when that write finishes (group commit: it may be due then).
        """
        limits = self.config.batch
        loop = asyncio.get_running_loop()
        messages = client.messages
        batch = unacked.filling
        last = loop.time()  # when the latest message arrived
        receiving: asyncio.Task[Message] | None = None
        written: asyncio.Task[bool] | None = None
        try:
            while True:
                raise_if_cancelled()
                if receiving is None:
                    receiving = asyncio.ensure_future(anext(messages))
                idle = unacked.writer_idle()
                waiting: set[asyncio.Future[Any]] = {receiving}
                if not idle and batch.started is not None:
                    if written is None:
                        unacked.written.clear()
                        written = asyncio.ensure_future(unacked.written.wait())
                    waiting.add(written)
                deadline = batch.deadline(limits, last, writer_idle=idle)
                timeout = None if deadline is None else max(0.0, deadline - loop.time())
                await asyncio.wait(waiting, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
                if written is not None and written.done():
                    written = None
                if receiving.done():
                    message, receiving = receiving.result(), None
                    last = loop.time()
                    await self.take(client, message, batch)
                if batch.due(limits, loop.time(), last, writer_idle=unacked.writer_idle()):
                    await unacked.queue.put(batch)
                    batch = unacked.filling = Batch()
        finally:
            for task in (receiving, written):
                if task is not None:
                    task.cancel()

    async def take(self, client: Client, message: Message, batch: Batch) -> None:
        """Decode ``message`` and whatever else the client has received into the batch, until it holds
        ``max_messages``, ``_YIELD_EVERY`` at a time with a turn of the event loop in between.

        Each turn comes when every message taken from the client is in the batch: a connection lost
        then still finds them all there (``keep``).
        """
        limits = self.config.batch
        group = [message]
        while group:
            await self.handle(group, batch)
            room = min(_YIELD_EVERY, limits.max_messages - len(batch.messages))
            if room <= 0:
                return
            await asyncio.sleep(0)  # see _YIELD_EVERY
            group = ready_messages(client, room)

    async def commit(self, client: Client, unacked: Unacked) -> None:
        """Make each queued batch durable, then acknowledge its messages in arrival order; forever."""
        while True:
            raise_if_cancelled()
            batch = unacked.writing = await unacked.queue.get()
            if batch.lines:
                await self.store.durable(batch.lines, batch.topics)
            ack_all(client, batch.messages)
            unacked.writing = None
            unacked.written.set()

    async def keep(self, unacked: Unacked) -> None:
        """Make a dropped connection's unacknowledged batches durable (see the module docstring)."""
        batches = unacked.batches()
        if not batches:
            return
        points = sum(len(b.lines) for b in batches)
        try:
            async with asyncio.timeout(_KEEP_TIMEOUT):
                for batch in batches:
                    await self.store.durable(batch.lines, batch.topics)
        except TimeoutError:
            log.warning("connection lost: %d unacknowledged points not made durable in time", points)
            return
        log.info("connection lost: %d unacknowledged points made durable (rewritten if redelivered)", points)

    async def connection(self, ready: asyncio.Event | None) -> None:
        """One broker session: subscribe, then consume and commit until the connection fails."""
        client_id = self.config.mqtt.client_id
        client = make_client(self.config.mqtt, clean_session=False, will=health.last_will(client_id))
        enable_manual_ack(client)
        async with client:
            topics = filters(self.config, self.stations)
            await subscribe(client, topics)
            log.info("collector subscribed as %s (%s)", client_id, describe(self.config, len(topics)))
            self.store.dead.client = client
            self.reconnect.reset()
            if ready is not None:
                ready.set()
            unacked = Unacked()
            try:
                async with asyncio.TaskGroup() as tg:
                    tg.create_task(self.consume(client, unacked))
                    tg.create_task(self.commit(client, unacked))
                    tg.create_task(self.status(client))
                    if self.config.partition.count > 1:
                        tg.create_task(follow(client, self.config, self.stations, set(topics)))
            except* BrokerUnavailableError:
                self.store.dead.client = None  # dead letters go to their file, not to the lost connection
                await self.keep(unacked)
                raise
            finally:
                self.store.dead.client = None

    async def status(self, client: Client) -> None:
        """Forever: the retained health line, every ``status_every`` seconds."""
        while True:
            try:
                async with asyncio.timeout(self.config.mqtt.timeout):
                    await health.report(client, self.config.mqtt.client_id, self.store.health())
            except TimeoutError:
                log.debug("health line not published within %.1f s", self.config.mqtt.timeout)
            await asyncio.sleep(self.config.status_every)  # a period, not a wait for an event

    async def mqtt(self, ready: asyncio.Event | None) -> None:
        """Forever: connect (persistent session) and collect; reconnect with backoff."""
        while True:
            try:
                await self.connection(ready)
            except* BrokerUnavailableError as group:
                delay = self.reconnect.next_delay()
                log.warning("broker unavailable (%s); retrying in %.1f s", first_error(group), delay)
                await asyncio.sleep(delay)


async def run(
    config: CollectorConfig, ready: asyncio.Event | None = None, metrics: Metrics | None = None
) -> None:
    """Run one collector until cancelled; a ``FatalError`` (bad credentials, bad registry) stops it.

    ``ready`` is set once the subscriptions are in place; ``metrics`` lets an embedder read the counters.
    """
    metrics = metrics or Metrics()
    spool = await Spool.open(config.state_dir / "spool.sqlite3", int(config.spool.max_mb * 2**20))
    writer = make_writer(config.influx)
    store = Store(writer, spool, DeadLetters(config.state_dir / "deadletters.jsonl", metrics), metrics)
    stations = Stations(config.registry, metrics)
    collector = Collector(config, store, stations)
    try:
        with serving(metrics, config.metrics):
            if config.registry is not None:
                await stations.refresh(store)
            tune_gc()  # after start-up: its modules, schemas and registry are long-lived
            async with asyncio.TaskGroup() as tg:
                tg.create_task(store.drain())
                tg.create_task(stations.watch(store))
                tg.create_task(collector.mqtt(ready))
    finally:
        await writer.aclose()
        await spool.close()
