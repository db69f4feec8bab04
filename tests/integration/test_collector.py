"""The collector against the real broker and database: dead letters and acknowledged writes."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

import aiomqtt
import pytest

from collector.config import CollectorConfig
from collector.service import run
from station import wire
from station.reading import Flag, Reading, StationMessage
from testbed.services import Services

pytestmark = pytest.mark.integration


def _config(services: Services, client_id: str) -> CollectorConfig:
    return CollectorConfig.model_validate(
        {
            "group": client_id,
            "mqtt": {"port": services.mosquitto.port, "client_id": client_id},
            "influx": {"url": services.influx.url, "database": services.influx.database},
            "batch": {"max_age": 0.2},
        }
    )


async def _subscribed(services: Services, topic: str) -> aiomqtt.Client:
    client = aiomqtt.Client(
        "127.0.0.1", services.mosquitto.port, identifier=f"probe-{topic.replace('/', '-')}"
    )
    await client.__aenter__()
    await client.subscribe(topic, qos=1)
    return client


async def test_malformed_payload_goes_to_dead_letter_and_the_rest_is_stored(services: Services) -> None:
    probe = await _subscribed(services, "deadletter/collector")
    ts = datetime(2026, 11, 22, 3, 4, 5, 123456, tzinfo=UTC)
    good = StationMessage("it-dl-01", "sonde", 1, ts, (Reading("it-dl-01", "ph", 7.25, "pH", ts, Flag.N),))
    try:
        async with asyncio.TaskGroup() as tg:
            ready = asyncio.Event()
            task = tg.create_task(run(_config(services, "it-collector-dl"), ready))
            async with asyncio.timeout(15):
                await ready.wait()
            async with aiomqtt.Client("127.0.0.1", services.mosquitto.port) as pub:
                await pub.publish("stations/it-dl-01/readings", b'{"v":1,"station":"it-dl-01"}', qos=1)
                await pub.publish(*wire.encode(good), qos=1)
            async with asyncio.timeout(15):
                letter = await anext(probe.messages)
            body = json.loads(letter.payload)
            assert body["topic"] == "stations/it-dl-01/readings"
            assert "device" in body["reason"]
            async with asyncio.timeout(15):
                while not services.influx.query("SELECT * FROM readings WHERE station = 'it-dl-01'"):  # noqa: ASYNC110
                    await asyncio.sleep(0.1)  # polling the database with a deadline
            task.cancel()
    finally:
        await probe.__aexit__(None, None, None)
    rows = services.influx.query("SELECT value, flag FROM readings WHERE station = 'it-dl-01'")
    assert rows[0]["values"] == [[int(ts.timestamp()) * 10**9 + 123456000, 7.25, "N"]]
