"""A consumer's client against a real Mosquitto: a burst read ahead arrives whole and in order, and the
PUBACKs sent in one write (``ack_all``) acknowledge exactly the messages given, no more (what is not
acknowledged is redelivered to the persistent session, what is acknowledged never again)."""

from __future__ import annotations

import asyncio

import aiomqtt
import pytest

from stationpipe.kernel.mqtt import (
    QOS,
    Client,
    MqttSettings,
    ack_all,
    enable_manual_ack,
    make_client,
    ready_messages,
)
from stationpipe.testbed.services import Services

pytestmark = pytest.mark.integration

TOPIC = "test/batching/burst"
COUNT = 600  # below Mosquitto's in-flight limit (1,000 in testbed/services.py): all of it is sent at once


def _consumer(port: int) -> Client:
    client = make_client(MqttSettings(port=port, client_id="batching-consumer"), clean_session=False)
    enable_manual_ack(client)
    return client


async def _take(client: aiomqtt.Client, count: int) -> list[aiomqtt.Message]:
    """The next ``count`` messages, taken as the collector takes them (one awaited, the rest at once)."""
    out: list[aiomqtt.Message] = []
    async with asyncio.timeout(20):
        async for message in client.messages:
            out.append(message)
            out.extend(ready_messages(client, count - len(out)))
            if len(out) >= count:
                return out
    raise AssertionError("the message iterator ended")


async def _publish(port: int, payloads: list[bytes]) -> None:
    async with aiomqtt.Client("127.0.0.1", port, identifier="batching-publisher") as pub:
        for payload in payloads:
            await pub.publish(TOPIC, payload, qos=QOS)


def _numbers(messages: list[aiomqtt.Message]) -> list[int]:
    return [int(m.payload) for m in messages if isinstance(m.payload, bytes)]


async def test_batched_acks_acknowledge_exactly_the_messages_given(services: Services) -> None:
    port = services.mosquitto.port
    async with _consumer(port) as client:
        await client.subscribe(TOPIC, qos=QOS)
        await _publish(port, [str(i).encode() for i in range(COUNT)])
        got = await _take(client, COUNT)
        assert _numbers(got) == list(range(COUNT))  # whole and in order, through the read-ahead
        assert type(client._client._sock).__name__ == "ReadAheadSocket"
        ack_all(client, got[: COUNT // 2])
        await client.publish(TOPIC + "/flush", b"", qos=QOS)  # a round trip after the acks were written
    async with _consumer(port) as client:
        again = await _take(client, COUNT // 2)  # the persistent session redelivers what was not acked
        assert _numbers(again) == list(range(COUNT // 2, COUNT))
        ack_all(client, again)
        await client.publish(TOPIC + "/flush", b"", qos=QOS)
    async with _consumer(port) as client:
        await _publish(port, [b"-1"])
        (first,) = await _take(client, 1)  # nothing acknowledged comes back before the new message
        assert _numbers([first]) == [-1]
        ack_all(client, [first])
        await client.unsubscribe(TOPIC)
