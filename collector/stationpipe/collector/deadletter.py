"""Dead letters of the collector: what could not be decoded or stored, with the reason.

Each one is appended to a local JSONL file (the durable record, one ``DeadLetter`` wire payload a line)
and published on ``deadletter/collector`` (QoS 1) when the broker is reachable; both are counted by cause
(``undecodable`` input, ``rejected`` points).
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from stationpipe.collector.metrics import Metrics
from stationpipe.kernel import wire
from stationpipe.kernel.errors import BrokerUnavailableError
from stationpipe.kernel.mqtt import QOS, Client
from stationpipe.kernel.reading import utc_now

log = logging.getLogger(__name__)
COMPONENT = "collector"
_PUBLISH_TIMEOUT = 5.0  # seconds; the file already holds the letter


class DeadLetters:
    """Writes dead letters to ``path`` and to the broker through the current client (if connected)."""

    def __init__(self, path: Path, metrics: Metrics) -> None:
        self.path = path
        self.metrics = metrics
        self.client: Client | None = None
        self.count = 0
        self._publish_failing = False
        path.parent.mkdir(parents=True, exist_ok=True)

    async def send(self, cause: str, reason: str, topic: str, payload: bytes) -> None:
        """Record one dead letter keeping the original bytes and the reason; never raises for the broker."""
        self.count += 1
        self.metrics.dead.labels(cause).inc()
        if self.count == 1 or self.count % 1000 == 0:
            log.warning("dead letter #%d (%s) from %s: %s", self.count, cause, topic, reason[:200])
        letter_topic, body = wire.encode(wire.dead_letter(COMPONENT, reason, topic, payload, utc_now()))
        with self.path.open("ab") as fh:
            fh.write(body + b"\n")
        if self.client is not None:
            await self._publish(self.client, letter_topic, body)

    async def _publish(self, client: Client, topic: str, body: bytes) -> None:
        try:
            async with asyncio.timeout(_PUBLISH_TIMEOUT):
                await client.publish(topic, body, qos=QOS)
        except (BrokerUnavailableError, TimeoutError) as exc:
            if not self._publish_failing:
                log.warning("cannot publish dead letters (%s); %s still has them", exc, self.path)
            self._publish_failing = True
            return
        if self._publish_failing:
            log.info("publishing dead letters again")
        self._publish_failing = False
