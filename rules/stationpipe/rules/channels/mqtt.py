"""MQTT sink: the retained current state of each instance on ``warnings/<station>/<rule>``, QoS 1."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import aiomqtt

from stationpipe.kernel import wire
from stationpipe.kernel.errors import BrokerUnavailableError
from stationpipe.kernel.messages import AlertState, WarningEvent
from stationpipe.kernel.mqtt import QOS


def warning_of(body: dict[str, Any]) -> WarningEvent:
    """The :class:`WarningEvent` of a notification's JSON.

    See :meth:`stationpipe.rules.notify.Notification.to_json`.
    """

    def when(key: str) -> datetime | None:
        return datetime.fromisoformat(body[key]) if body.get(key) else None

    started, ts = when("started"), when("ts")
    assert started is not None  # always present in a notification
    assert ts is not None
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
    )


class MqttSink:
    """Publishes through the engine's current connection (``client`` is ``None`` while disconnected)."""

    def __init__(self, timeout: float) -> None:
        self.client: aiomqtt.Client | None = None
        self.timeout = timeout

    async def send(self, body: dict[str, Any]) -> None:
        """Publish retained at QoS 1 and wait for the PUBACK; ``BrokerUnavailableError`` otherwise."""
        client = self.client
        if client is None:
            raise BrokerUnavailableError("not connected to the broker")
        topic, payload = wire.encode(warning_of(body))
        try:
            async with asyncio.timeout(self.timeout):
                await client.publish(topic, payload, qos=QOS, retain=True)
        except (aiomqtt.MqttError, TimeoutError) as exc:
            raise BrokerUnavailableError(f"publish {topic}: {exc or 'timed out'}") from exc
