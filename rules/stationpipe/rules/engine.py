"""``stationpipe rules``: the rules engine service (``async def run(config)``).

One :class:`asyncio.TaskGroup` owns: the MQTT connection (readings in through the engine's own
shared-subscription group, one filter per owned station when partitioned; derived results out), the timer
(held readings, deadman, no-data, backfill flush, series snapshot, headline, the channels' re-sends), one
outbox drain per configured channel (:data:`stationpipe.rules.channels.CHANNELS`), and the reload watcher
(SIGHUP or a changed file); with ``[api]``, the operators' desk (:mod:`stationpipe.rules.handling`) and
the drain of its ``actions`` outbox and of the audit store's (``audit/<station>/marks|days``,
:mod:`stationpipe.rules.audit`).

Readings are acknowledged (manual PUBACK, persistent session) only after the state their evaluation
changed, with the notifications it caused, is committed: a crash loses nothing, and a redelivered
reading is recognised as already evaluated (:mod:`stationpipe.rules.ordering`). The messages already
received when one is taken (up to ``_TAKE``) are evaluated in order and committed in one transaction,
then acknowledged in one write (:meth:`Engine.handle`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from stationpipe.kernel import health, wire
from stationpipe.kernel.backoff import Backoff, consumer_reconnect
from stationpipe.kernel.errors import BrokerUnavailableError, RejectedError
from stationpipe.kernel.messages import Derived, StationStatus
from stationpipe.kernel.metrics import serving
from stationpipe.kernel.mqtt import (
    QOS,
    Client,
    Message,
    ack_all,
    enable_manual_ack,
    make_client,
    ready_messages,
)
from stationpipe.kernel.qc import QcRecord
from stationpipe.kernel.reading import StationMessage
from stationpipe.kernel.runtime import tune_gc
from stationpipe.rules.audit.store import SINK as AUDIT
from stationpipe.rules.channels import CHANNELS, Channel, rows
from stationpipe.rules.channels.people import PeopleChannel
from stationpipe.rules.config import RulesConfig
from stationpipe.rules.delivery import drain, drain_people
from stationpipe.rules.evaluator import Evaluator, Output, merge
from stationpipe.rules.handling.accounts import Accounts
from stationpipe.rules.handling.app import serve
from stationpipe.rules.handling.desk import ACTIONS, Desk, action_sender, journal_change
from stationpipe.rules.lifecycle import Phase
from stationpipe.rules.metrics import RulesMetrics
from stationpipe.rules.reload import watch
from stationpipe.rules.state import Batch, State

__all__ = ["Engine", "run"]
log = logging.getLogger(__name__)
_DERIVED_QUEUE = 10_000  # derived results waiting for the broker (bounded: docs/design.md#style rule 9)
_DERIVED_BATCH = 200
_TAKE = 200  # received messages evaluated, committed and acknowledged together at most
_T = TypeVar("_T")


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Engine:
    """State and wiring of one running engine."""

    config: RulesConfig
    state: State
    evaluator: Evaluator = field(init=False)
    channels: dict[str, Channel] = field(default_factory=dict)
    wake: dict[str, asyncio.Event] = field(default_factory=dict)
    client: Client | None = None
    decode_errors: int = 0
    derived_dropped: int = 0
    derived: asyncio.Queue[Derived] = field(default_factory=lambda: asyncio.Queue(_DERIVED_QUEUE))
    last_headline: tuple[Any, ...] = ()
    headline_at: float = 0.0
    status_at: float = 0.0
    metrics: RulesMetrics = field(default_factory=RulesMetrics)
    reconnect: Backoff = field(default_factory=consumer_reconnect)

    def __post_init__(self) -> None:
        self.evaluator = Evaluator(self.config, self.config.load_registry(), _now())
        self.evaluator.restore(self.state.instances(), self.state.series())
        self.wake = {name: asyncio.Event() for name in (*CHANNELS, ACTIONS, AUDIT)}
        self._recover_deferred()

    def open_channels(self) -> None:
        """Build the configured channels (the rows whose settings are present), in table order."""
        for name, row in CHANNELS.items():
            channel = row.build(self.config, lambda: self.client)
            if channel is not None:
                self.channels[name] = channel

    async def close_channels(self) -> None:
        """Release the channels' connections."""
        for channel in self.channels.values():
            await channel.aclose()

    def _recover_deferred(self) -> None:
        """Backfill notifications held when the engine stopped go out now (once: the outbox dedupes)."""
        batch = Batch.empty()
        for key, body in self.state.facts("deferred/").items():
            batch.facts[key] = None
            batch.outbox.extend(rows(body, self.config.delivery))
        if batch:
            self.state.commit(batch)

    def commit(self, out: Output) -> None:
        """Queue the notifications of ``out`` with its state in one transaction, then wake the sinks."""
        for note in out.notes:
            body = note.to_json()
            out.batch.outbox.extend(rows(body, self.config.delivery))
            out.batch.journal.append(journal_change(note))
        if out.batch:
            self.state.commit(out.batch)
        for note in out.notes:
            self.metrics.changes.labels(note.change.value).inc()
        for sink in {row[0] for row in out.batch.outbox}:
            self.wake[sink].set()

    def counted(self, sink: str, send: Callable[[_T], Awaitable[None]]) -> Callable[[_T], Awaitable[None]]:
        """``send`` with each attempt counted by outcome in the metrics."""

        async def attempt(item: _T) -> None:
            try:
                await send(item)
            except Exception:
                self.metrics.deliveries.labels(sink, "failed").inc()
                raise
            self.metrics.deliveries.labels(sink, "ok").inc()

        return attempt

    def drainer(self, name: str, channel: Channel) -> Coroutine[Any, Any, None]:
        """The task that empties ``name``'s outbox: grouped for the channels people read."""
        cap, wake = self.config.delivery.retry_cap, self.wake[name]
        if isinstance(channel, PeopleChannel):
            return drain_people(self.state, channel, self.counted(name, channel.deliver), wake, cap)
        send = self.counted(name, channel.send)
        return drain(self.state, name, send, wake, cap, concurrent=channel.concurrent)

    def health(self) -> str:
        """The health line: readings evaluated, instances firing, notifications waiting."""
        firing = sum(1 for inst in self.evaluator.instances.values() if inst.phase is Phase.FIRING)
        waiting = sum(self.state.depth(sink) for sink in CHANNELS)
        return (
            f"ok: {self.evaluator.evaluated} readings evaluated, {firing} warnings firing, "
            f"{waiting} notifications waiting, {self.derived_dropped} derived dropped"
        )

    def gauges(self) -> None:
        """Refresh the gauges (on the timer)."""
        levels = Counter(i.level for i in self.evaluator.instances.values() if i.phase is Phase.FIRING)
        for level in range(1, 5):
            self.metrics.active.labels(str(level)).set(levels.get(level, 0))
        for sink in CHANNELS:
            self.metrics.outbox.labels(sink).set(self.state.depth(sink))

    async def publish(self, records: list[Derived]) -> None:
        """Queue derived results for :meth:`publisher`; counted and dropped when the queue is full."""
        for record in records:
            try:
                self.derived.put_nowait(record)
            except asyncio.QueueFull:
                self._dropped(1)

    async def publisher(self) -> None:
        """Forever: publish queued derived results (QoS 1), a batch at a time; dropped while disconnected."""
        while True:
            batch = [await self.derived.get()]
            while not self.derived.empty() and len(batch) < _DERIVED_BATCH:
                batch.append(self.derived.get_nowait())
            client = self.client
            if client is None:
                self._dropped(len(batch))
                continue
            try:
                async with asyncio.timeout(self.config.mqtt.timeout):
                    await asyncio.gather(*(client.publish(*wire.encode(r), qos=QOS) for r in batch))
            except (BrokerUnavailableError, TimeoutError) as exc:
                self._dropped(len(batch))
                log.debug("derived results dropped: %s", exc)
            else:
                self.metrics.derived.labels("published").inc(len(batch))

    def _dropped(self, count: int) -> None:
        self.derived_dropped += count
        self.metrics.derived.labels("dropped").inc(count)

    def evaluate(self, message: Message) -> Output | None:
        """Decode and evaluate one message: its output (state, notifications, derived results) to commit,
        or ``None`` when it changes nothing durable (a status heartbeat, an undecodable message)."""
        payload = message.payload if isinstance(message.payload, bytes) else str(message.payload).encode()
        try:
            msg = wire.decode(message.topic.value, payload)
            if isinstance(msg, StationStatus):
                self.evaluator.status(msg, _now())  # a heartbeat for deadman rules that watch status
                return None
            if isinstance(msg, QcRecord):
                self.metrics.messages.labels("qc").inc()
                return self.evaluator.qc(msg, _now())  # state, warnings and review marks together
            if not isinstance(msg, StationMessage):
                raise RejectedError(f"not a readings message: {message.topic.value}")  # noqa: TRY301
        except (RejectedError, ValueError) as exc:
            self.decode_errors += 1
            self.metrics.messages.labels("undecodable").inc()
            log.debug("ignored undecodable message on %s: %s", message.topic.value, exc)
            return None
        started, unknown = time.perf_counter(), self.evaluator.unknown
        out = self.evaluator.process(msg, _now())
        self.metrics.seconds.observe(time.perf_counter() - started)
        if self.evaluator.unknown > unknown:
            self.metrics.messages.labels("unknown_station").inc()
        else:
            self.metrics.messages.labels("evaluated").inc()
            self.metrics.readings.inc(len(msg.readings))
        return out

    async def handle(self, client: Client, messages: list[Message]) -> None:
        """Evaluate messages taken together, commit what they changed (with the notifications it caused)
        in one transaction, then acknowledge them all in one write and publish their derived results.

        Nothing is acknowledged before its state is committed, so a crash loses nothing; one commit and
        one PUBACK write per batch instead of per message is what lets a backlog drain faster than it
        built up (the messages already received are taken without waiting: :func:`ready_messages`)."""
        outs = [out for message in messages if (out := self.evaluate(message)) is not None]
        merged = outs[0] if len(outs) == 1 else merge(outs)
        self.commit(merged)
        ack_all(client, messages)
        self.metrics.batch.observe(len(messages))
        await self.publish(merged.derived)

    async def connection(self, ready: asyncio.Event | None) -> None:
        """One broker session: subscribe, then evaluate messages until the connection fails."""
        client_id = self.config.mqtt.client_id
        client = make_client(self.config.mqtt, clean_session=False, will=health.last_will(client_id))
        enable_manual_ack(client)
        async with client:
            for topic in self.config.topics(self.config.load_registry()):
                await client.subscribe(topic, qos=QOS)
            self.client = client
            await health.report(client, client_id, self.health())
            for wake in self.wake.values():  # a channel that publishes on the connection (mqtt) can again;
                wake.set()  # the others look at their outbox once more
            self.reconnect.reset()
            log.info("rules engine subscribed as %s", self.config.mqtt.client_id)
            if ready is not None:
                ready.set()
            try:
                async for message in client.messages:
                    await self.handle(client, [message, *ready_messages(client, _TAKE - 1)])
            finally:
                self.client = None

    async def mqtt(self, ready: asyncio.Event | None) -> None:
        """Forever: connect and evaluate; reconnect with backoff."""
        while True:
            try:
                await self.connection(ready)
            except (BrokerUnavailableError, TimeoutError) as exc:
                delay = self.reconnect.next_delay()
                log.warning("broker unavailable (%s); retrying in %.1f s", exc, delay)
                await asyncio.sleep(delay)

    async def timer(self) -> None:
        """Forever, every ``evaluation.tick``: the evaluator's timer work, headline, re-sends."""
        period = self.config.evaluation.tick.total_seconds()
        while True:
            await asyncio.sleep(period)  # a period, not a wait for an event
            await self.tick(_now())

    async def tick(self, wall: datetime) -> None:
        """One timer step at ``wall``."""
        out = self.evaluator.tick(wall)
        self._resend(wall, out)
        self.commit(out)
        self.gauges()
        await self._status(wall)
        records = out.derived
        every = self.config.derived.headline_every.total_seconds()
        if wall.timestamp() - self.headline_at >= every:  # built only when due: it walks the registry
            headline = self.evaluator.headline_record(wall)
            figures = tuple(sorted((k, str(v)) for k, v in headline.values.items()))
            if figures != self.last_headline:
                self.last_headline, self.headline_at = figures, wall.timestamp()
                records = [*records, headline]
        await self.publish(records)

    async def _status(self, wall: datetime) -> None:
        """The health line, every ``status_every`` seconds while connected."""
        client = self.client
        if client is None or wall.timestamp() - self.status_at < self.config.status_every:
            return
        self.status_at = wall.timestamp()
        try:
            async with asyncio.timeout(self.config.mqtt.timeout):
                await health.report(client, self.config.mqtt.client_id, self.health())
        except (BrokerUnavailableError, TimeoutError) as exc:
            log.debug("health line not published: %s", exc)

    def _resend(self, wall: datetime, out: Output) -> None:
        """Queue what the channels send again on the timer (Alertmanager: firing alerts, resolutions)."""
        instances, stations = self.evaluator.instances.values(), self.evaluator.stations
        for name, channel in self.channels.items():
            rows = channel.resends(wall, instances, stations)
            out.batch.outbox.extend((name, key, body) for key, body in rows)

    def desk(self, accounts: Accounts) -> Desk:
        """The operators' desk over this engine's instances and state."""

        def wake(sinks: Iterable[str]) -> None:
            for sink in sinks:
                self.wake[sink].set()

        return Desk(
            self.state, lambda: self.evaluator.instances, lambda: self.evaluator.stations, accounts, wake
        )

    def reload(self, config: RulesConfig) -> None:
        """Swap in validated rules and registry (connection settings need a restart)."""
        self.evaluator.configure(config, config.load_registry())
        self.config = self.config.model_copy(update={"rules": config.rules, "derived": config.derived})
        log.info("rules reloaded: %d rules", len(config.rules))

    def close(self) -> None:
        """Save series state and close the state file."""
        self.state.commit(Batch({}, dict(self.evaluator.series), [], {}))
        self.state.close()


async def run(config: RulesConfig, ready: asyncio.Event | None = None, *, path: Path | None = None) -> None:
    """Run one rules engine until cancelled.

    ``ready`` is set once subscribed; ``path`` (the config file) enables reload on SIGHUP or change.
    """
    engine = Engine(config, State(config.state))
    tune_gc()
    try:
        engine.open_channels()
        with serving(engine.metrics, config.metrics):
            async with asyncio.TaskGroup() as tg:
                tg.create_task(engine.mqtt(ready))
                tg.create_task(engine.timer())
                tg.create_task(engine.publisher())
                for name, channel in engine.channels.items():
                    tg.create_task(engine.drainer(name, channel))
                if path is not None:
                    tg.create_task(watch(path, config.watch_every, engine.reload))
                if config.api is not None:
                    desk = engine.desk(Accounts(Path(config.api.users)))
                    tg.create_task(serve(desk, config.api))
                    send = action_sender(lambda: engine.client, config.mqtt.timeout)
                    cap = config.delivery.retry_cap
                    tg.create_task(drain(engine.state, ACTIONS, send, engine.wake[ACTIONS], cap))
                    tg.create_task(drain(engine.state, AUDIT, send, engine.wake[AUDIT], cap))
    finally:
        await engine.close_channels()
        engine.close()
