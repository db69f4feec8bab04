"""Review marks out: each :class:`~stationpipe.kernel.qc.ReviewMark` a ``qc`` rule sets is published on
``reviews/<station>/<parameter>`` (QoS 1, not retained: every mark is a record of its own), through the
engine's own broker connection; the collector stores them (measurement ``review_marks``).

Built when a ``qc`` rule is configured. A sink rather than a channel people read: no notification is
routed here (``wants`` is always false); the evaluator queues one outbox row per mark
(:func:`review_row`) in the transaction of the state that set it, so a mark is published at least
once, after a crash too.
"""

from __future__ import annotations

import asyncio

from stationpipe.kernel import wire
from stationpipe.kernel.errors import BrokerUnavailableError
from stationpipe.kernel.mqtt import QOS
from stationpipe.kernel.qc import ReviewMark
from stationpipe.rules.channels.base import Body, ChannelType, Link, SendsOnce
from stationpipe.rules.config import Delivery, RulesConfig

REVIEW = "review"


def review_row(mark: ReviewMark) -> tuple[str, str, Body]:
    """The outbox row of one mark: ``(sink, id, body)``; the id is the mark itself (queued once)."""
    topic, payload = wire.encode(mark)
    period = f"{mark.start.timestamp():.0f}/{mark.end.timestamp():.0f}"
    key = f"{mark.station}/{mark.parameter}/{period}/{mark.check}"
    return REVIEW, key, {"topic": topic, "payload": payload.decode()}


class ReviewSink(SendsOnce):
    """Publishes marks through the engine's current connection (``link()`` is ``None`` while disconnected)."""

    concurrent = False

    def __init__(self, link: Link, timeout: float) -> None:
        self.link = link
        self.timeout = timeout

    async def send(self, body: Body) -> None:
        """Publish at QoS 1 and wait for the PUBACK; ``BrokerUnavailableError`` otherwise."""
        client = self.link()
        if client is None:
            raise BrokerUnavailableError("not connected to the broker")
        try:
            async with asyncio.timeout(self.timeout):
                await client.publish(body["topic"], body["payload"].encode(), qos=QOS)
        except (BrokerUnavailableError, TimeoutError) as exc:
            raise BrokerUnavailableError(f"publish {body['topic']}: {exc or 'timed out'}") from exc

    async def aclose(self) -> None:
        """Nothing to release: the connection is the engine's."""


def _wants(_body: Body, _delivery: Delivery) -> bool:
    return False


def _build(config: RulesConfig, link: Link) -> ReviewSink | None:
    """Built while a ``qc`` rule is configured (marks queued before it was removed wait for it)."""
    return ReviewSink(link, config.mqtt.timeout) if config.watches_qc() else None


CHANNEL = ChannelType(wants=_wants, build=_build)
