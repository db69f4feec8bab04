"""MQTT channel: the retained current state of each instance on ``warnings/<station>/<rule>``, QoS 1.

Always on (every change, pending and cancelled ones too), through the engine's own broker connection
(the ``[mqtt]`` section); instances are published in parallel, each instance's states in order.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from stationpipe.kernel import wire
from stationpipe.kernel.errors import BrokerUnavailableError
from stationpipe.kernel.messages import AlertState, Handling, WarningEvent
from stationpipe.kernel.mqtt import QOS
from stationpipe.rules.channels.base import Body, ChannelType, Link, SendsOnce
from stationpipe.rules.config import Delivery, RulesConfig

MQTT = "mqtt"


def warning_of(body: dict[str, Any]) -> WarningEvent:
    """The :class:`WarningEvent` of a notification's JSON.

    See :meth:`stationpipe.rules.notify.Notification.to_json`.
    """

    def when(key: str) -> datetime | None:
        return datetime.fromisoformat(body[key]) if body.get(key) else None

    started, ts = when("started"), when("ts")
    assert started is not None  # always present in a notification
    assert ts is not None
    human = body.get("handling")  # absent from rows queued before the engine tracked it
    return WarningEvent(
        station=body["station"],
        rule=body["instance"],
        level=body["level"],
        state=AlertState(body["state"]),
        message=f"{body['message']['zh']} / {body['message']['en']}",
        started=started,
        ts=ts,
        parameter=body["parameter"],
        value=body["value"],
        limit=body["limit"],
        ended=when("ended"),
        handling=Handling(human["state"]) if human and body["fired"] else None,
        acknowledged_by=human["acknowledged_by"] if human else None,
        assignee=human["assignee"] if human else None,
    )


class MqttSink(SendsOnce):
    """Publishes through the engine's current connection (``link()`` is ``None`` while disconnected)."""

    concurrent = True

    def __init__(self, link: Link, timeout: float) -> None:
        self.link = link
        self.timeout = timeout

    async def send(self, body: Body) -> None:
        """Publish retained at QoS 1 and wait for the PUBACK; ``BrokerUnavailableError`` otherwise."""
        client = self.link()
        if client is None:
            raise BrokerUnavailableError("not connected to the broker")
        topic, payload = wire.encode(warning_of(body))
        try:
            async with asyncio.timeout(self.timeout):
                await client.publish(topic, payload, qos=QOS, retain=True)
        except (BrokerUnavailableError, TimeoutError) as exc:
            raise BrokerUnavailableError(f"publish {topic}: {exc or 'timed out'}") from exc

    async def aclose(self) -> None:
        """Nothing to release: the connection is the engine's."""


def _wants(_body: Body, _delivery: Delivery) -> bool:
    return True


def _build(config: RulesConfig, link: Link) -> MqttSink:
    return MqttSink(link, config.mqtt.timeout)


CHANNEL = ChannelType(wants=_wants, build=_build)
