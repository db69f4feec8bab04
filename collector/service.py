"""``stationpipe collector``: MQTT readings into InfluxDB, at least once, idempotent.

Messages are acknowledged only after the batch holding them is written (manual acknowledgement on a
persistent session), so a collector killed mid-batch loses nothing: the broker redelivers and the
rewrite lands on the same points (the key is the reading's own timestamp).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

import aiomqtt

from collector.config import CollectorConfig
from collector.deadletter import DeadLetters
from collector.influx import V1Writer
from collector.points import readings_lines
from station import wire
from station.backoff import Backoff
from station.errors import RejectedError, StoreUnavailableError
from station.mqtt import QOS, ack, enable_manual_ack, make_client
from station.reading import StationMessage

log = logging.getLogger(__name__)


@dataclass
class Batch:
    """Lines waiting to be written and the messages to acknowledge once they are."""

    lines: list[str] = field(default_factory=list)
    messages: list[aiomqtt.Message] = field(default_factory=list)
    started: float | None = None

    def add(self, message: aiomqtt.Message, lines: list[str]) -> None:
        """Take one decoded message."""
        if self.started is None:
            self.started = asyncio.get_running_loop().time()
        self.lines.extend(lines)
        self.messages.append(message)


def _readings(topic: str, payload: bytes) -> StationMessage:
    msg = wire.decode(topic, payload)
    if not isinstance(msg, StationMessage):
        raise RejectedError(f"unexpected record on {topic}")
    return msg


class Collector:
    """One collector instance: its writer, its dead letters and its current batch."""

    def __init__(self, config: CollectorConfig) -> None:
        self.config = config
        self.writer = V1Writer(config.influx)
        self.dead = DeadLetters()
        self.written = 0

    async def handle(self, client: aiomqtt.Client, message: aiomqtt.Message, batch: Batch) -> None:
        """Decode one message into the batch, or dead-letter it (and acknowledge it at once)."""
        payload = message.payload if isinstance(message.payload, bytes) else str(message.payload).encode()
        try:
            msg = _readings(message.topic.value, payload)
        except RejectedError as exc:
            await self.dead.send(client, str(exc), message.topic.value, payload)
            ack(client, message)
            return
        batch.add(message, readings_lines(msg))

    async def flush(self, client: aiomqtt.Client, batch: Batch) -> None:
        """Write the batch (retrying while the database is unavailable), then acknowledge its messages."""
        backoff = Backoff()
        while batch.lines:
            try:
                await self.writer.write(batch.lines)
                break
            except StoreUnavailableError as exc:
                delay = backoff.next_delay(exc.retry_after)
                log.warning("write failed (%s); retrying in %.1f s", exc, delay)
                await asyncio.sleep(delay)
        self.written += len(batch.lines)
        for message in batch.messages:
            ack(client, message)

    async def consume(self, client: aiomqtt.Client) -> None:
        """Batch messages by size and age; flush and acknowledge; forever."""
        batch = Batch()
        messages = client.messages
        loop = asyncio.get_running_loop()
        while True:
            deadline = None if batch.started is None else batch.started + self.config.batch.max_age
            try:
                async with asyncio.timeout_at(deadline):
                    await self.handle(client, await anext(messages), batch)
            except TimeoutError:
                pass
            full = len(batch.lines) >= self.config.batch.max_points
            old = batch.started is not None and loop.time() >= batch.started + self.config.batch.max_age
            if full or old:
                await self.flush(client, batch)
                batch = Batch()


async def run(config: CollectorConfig, ready: asyncio.Event | None = None) -> None:
    """Connect (persistent session, shared subscription, QoS 1) and collect until cancelled.

    ``ready`` is set once the subscription is in place (for tests and embedding).
    """
    collector = Collector(config)
    backoff = Backoff()
    topic = f"$share/{config.group}/stations/+/readings"
    try:
        while True:
            client = make_client(config.mqtt, clean_session=False)
            enable_manual_ack(client)
            try:
                async with client:
                    await client.subscribe(topic, qos=QOS)
                    log.info("collector subscribed to %s", topic)
                    if ready is not None:
                        ready.set()
                    backoff.reset()
                    await collector.consume(client)
            except aiomqtt.MqttError as exc:
                delay = backoff.next_delay()
                log.warning("broker unavailable (%s); retrying in %.1f s", exc, delay)
                await asyncio.sleep(delay)
    finally:
        await collector.writer.aclose()
