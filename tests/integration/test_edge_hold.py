"""The edge keeps what the broker routes to nobody: over MQTT 5 a PUBACK with reason 0x10 ("no matching
subscribers") leaves the message in the spool, and it is sent when a consumer subscribes (real Mosquitto,
a real Modbus server; each test has a broker of its own so no other test's session subscribes)."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import struct
from pathlib import Path
from typing import Any

import aiomqtt
import pytest

from stationpipe.edge.agent import run
from stationpipe.testbed.modbus import Image, static_server
from stationpipe.testbed.services import Mosquitto, free_port
from tests.integration.edge_helpers import Probe, edge_config, running, spool_state, until, write_toml_profile

pytestmark = pytest.mark.integration

_PH = [int.from_bytes(w, "big") for w in (struct.pack(">f", 7.0)[:2], struct.pack(">f", 7.0)[2:])]


def _spool(state_dir: Path) -> tuple[int, int]:
    """(waiting, produced); (0, 0) until the agent has created its spool."""
    try:
        return spool_state(state_dir)
    except sqlite3.OperationalError:
        return 0, 0


async def _online(port: int) -> None:
    """Return once the agent's retained status says online: it is connected and publishing."""
    async with aiomqtt.Client("127.0.0.1", port, identifier="status-hold") as client:
        await client.subscribe("stations/it-edge/status", qos=1)  # not the readings: routes none of them
        async with asyncio.timeout(15):
            async for message in client.messages:
                if isinstance(message.payload, bytes) and json.loads(message.payload)["state"] == "online":
                    return


def _config(tmp_path: Path, broker: Mosquitto, modbus_port: int, **mqtt: Any) -> Any:
    profile = write_toml_profile(tmp_path / "one.toml", [{"parameter": "ph", "address": 0, "unit": "pH"}])
    device = {
        "name": "sonde",
        "profile": str(profile),
        "interval": 0.2,
        "timeout": 0.3,
        "transport": {"host": "127.0.0.1", "port": modbus_port, "unit": 1},
    }
    cfg = edge_config(tmp_path, broker.port, [device], spool={"drain_rate": 100.0})
    return cfg.model_copy(update={"mqtt": cfg.mqtt.model_copy(update=mqtt)})


async def test_readings_wait_in_the_spool_until_a_consumer_subscribes(tmp_path: Path) -> None:
    broker = Mosquitto("mosquitto-hold", tmp_path)
    broker.start()
    port = free_port()
    cfg = _config(tmp_path, broker, port)
    state = cfg.state_dir
    assert cfg.mqtt.protocol == "5"
    assert cfg.mqtt.require_subscriber
    try:
        async with static_server(port, {1: Image(holding=_PH)}), running(run(cfg)):
            await _online(broker.port)
            await until(lambda: _spool(state)[0] >= 10, 20, "the spool grows with nobody subscribed")
            more = _spool(state)[1] + 5  # five more polls published, acknowledged and routed to nobody
            await until(lambda: _spool(state)[1] >= more, 10, "the agent keeps publishing")
            waiting, produced = _spool(state)
            assert waiting == produced, "the broker took them, nobody got them: all are still spooled"
            async with Probe(broker.port, client_id="probe-hold") as probe:
                await until(lambda: _spool(state)[0] == 0, 30, "the spool drains to the consumer")
                produced = _spool(state)[1]
                await probe.wait_for(produced, 15)
    finally:
        broker.stop()
    assert set(probe.seqs()) == set(range(produced)), "every message produced arrived"


async def test_without_require_subscriber_the_broker_decides(tmp_path: Path) -> None:
    broker = Mosquitto("mosquitto-nohold", tmp_path)
    broker.start()
    port = free_port()
    cfg = _config(tmp_path, broker, port, require_subscriber=False)
    state = cfg.state_dir
    try:
        async with static_server(port, {1: Image(holding=_PH)}), running(run(cfg)):
            await until(lambda: _spool(state)[1] >= 10, 20, "the agent produces")
            await until(lambda: _spool(state)[0] <= 1, 10, "acknowledged messages leave the spool")
    finally:
        broker.stop()
