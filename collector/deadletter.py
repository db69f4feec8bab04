"""Dead letters of the collector: what could not be decoded or stored, with the reason, on
``deadletter/collector`` (and, from issue 5 on, a local file)."""

from __future__ import annotations

import logging

import aiomqtt

from station import wire
from station.mqtt import QOS
from station.reading import utc_now

log = logging.getLogger(__name__)
COMPONENT = "collector"


class DeadLetters:
    """Publishes dead letters and counts them."""

    def __init__(self) -> None:
        self.count = 0

    async def send(self, client: aiomqtt.Client, reason: str, topic: str, payload: bytes) -> None:
        """Publish one dead letter (QoS 1) keeping the original bytes and the reason."""
        self.count += 1
        if self.count == 1 or self.count % 1000 == 0:
            log.warning("dead letter #%d from %s: %s", self.count, topic, reason)
        letter = wire.dead_letter(COMPONENT, reason, topic, payload, utc_now())
        await client.publish(*wire.encode(letter), qos=QOS)
