"""Publishes queued messages at QoS 1, one at a time, removing each only after its PUBACK.

Reconnects with ``station.backoff``; the retained status topic says online, and the broker's LWT says
offline when the agent vanishes.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque

import aiomqtt

from station import wire
from station.backoff import Backoff
from station.messages import AgentState, StationStatus
from station.mqtt import QOS, MqttSettings, make_client
from station.reading import StationMessage, utc_now

log = logging.getLogger(__name__)
VERSION = "0.1.0"


class Outbox:
    """A bounded in-memory FIFO; when full the oldest message is dropped and counted."""

    def __init__(self, size: int) -> None:
        self._items: deque[StationMessage] = deque()
        self._size = size
        self._ready = asyncio.Event()
        self.dropped = 0

    def put(self, msg: StationMessage) -> None:
        """Append; drop the oldest when full (logged once per overflow episode)."""
        if len(self._items) >= self._size:
            self._items.popleft()
            if self.dropped == 0:
                log.warning("outbox full (%d): dropping the oldest messages", self._size)
            self.dropped += 1
        self._items.append(msg)
        self._ready.set()

    async def peek(self) -> StationMessage:
        """Wait for and return the oldest message without removing it."""
        while not self._items:
            self._ready.clear()
            await self._ready.wait()
        return self._items[0]

    def pop(self) -> None:
        """Remove the oldest message (after its PUBACK)."""
        self._items.popleft()

    def __len__(self) -> int:
        return len(self._items)


def _status(station: str, state: AgentState, depth: int) -> tuple[str, bytes]:
    return wire.encode(StationStatus(station, state, utc_now(), VERSION, depth))


async def publish_forever(station: str, settings: MqttSettings, outbox: Outbox) -> None:
    """Keep a broker session and drain the outbox in order; never returns."""
    backoff = Backoff()
    topic, offline = _status(station, AgentState.OFFLINE, 0)
    will = aiomqtt.Will(topic, offline, qos=QOS, retain=True)
    connected_once = False
    while True:
        try:
            async with make_client(settings, will=will) as client:
                log.info("connected to broker %s:%d", settings.host, settings.port)
                backoff.reset()
                connected_once = True
                await client.publish(*_status(station, AgentState.ONLINE, len(outbox)), qos=QOS, retain=True)
                while True:
                    msg = await outbox.peek()
                    await client.publish(*wire.encode(msg), qos=QOS)  # returns after PUBACK
                    outbox.pop()
        except aiomqtt.MqttError as exc:
            delay = backoff.next_delay()
            if connected_once or backoff.attempt == 1:
                log.warning(
                    "broker %s:%d unavailable (%s); retrying in %.1f s",
                    settings.host,
                    settings.port,
                    exc,
                    delay,
                )
                connected_once = False
            await asyncio.sleep(delay)
