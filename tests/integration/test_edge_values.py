"""Values as the instrument meant them, end to end: a float32 register (and a scaled int16) read from a
simulated analyser over Modbus TCP reaches MQTT, and InfluxDB through the collector, as its short
decimal, and ``stationpipe edge --test`` prints the same."""

from __future__ import annotations

import asyncio
import json
import struct
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from stationpipe.edge.agent import run
from stationpipe.testbed.modbus import Image, static_server
from stationpipe.testbed.services import Services, free_port
from tests.integration.edge_helpers import Probe, edge_config, running, write_toml_profile
from tests.integration.test_collector import collector_config, stored_values, wait_for
from tests.integration.test_collector import running as collector_running

pytestmark = pytest.mark.integration
STATION = "it-values"
POINTS = [
    {"parameter": "ph", "register": "input", "address": 0, "type": "float32", "unit": "pH"},
    {"parameter": "do", "register": "input", "address": 2, "type": "int16", "scale": 0.1, "unit": "mg/L"},
]


def _analyser() -> Image:
    """The registers: float32 7.594095 (7.594095230102539 once read) and int16 3 (x 0.1 = 0.3)."""
    hi, lo = struct.unpack(">HH", struct.pack(">f", 7.594095))
    return Image(inputs=[hi, lo, 3])


def _device(profile: Path, port: int) -> dict[str, Any]:
    return {
        "name": "analyser",
        "profile": str(profile),
        "interval": 0.5,
        "timeout": 1.0,
        "transport": {"host": "127.0.0.1", "port": port, "unit": 1},
    }


async def test_a_float32_register_reaches_mqtt_and_influxdb_as_its_short_decimal(
    services: Services, tmp_path: Path
) -> None:
    profile = write_toml_profile(tmp_path / "analyser.toml", POINTS)
    port = free_port()
    cfg = edge_config(tmp_path, services.mosquitto.port, [_device(profile, port)], station=STATION)
    collector = collector_config(services, tmp_path / "collector", "values-collector")
    probe = Probe(services.mosquitto.port, station=STATION, client_id="probe-values")
    async with (
        static_server(port, {1: _analyser()}),
        collector_running(collector),
        probe,
        running(run(cfg)),
    ):
        await probe.wait_for(2, 20)
        await wait_for(lambda: len(stored_values(services, STATION)) >= 4, "two polls stored")
    readings = probe.messages[0]["readings"]
    assert (repr(readings["ph"]["value"]), repr(readings["do"]["value"])) == ("7.594095", "0.3")
    stored = {p: v for (_, p), (v, _) in stored_values(services, STATION).items()}
    assert (repr(stored["ph"]), repr(stored["do"])) == ("7.594095", "0.3")


async def test_test_mode_prints_the_short_decimal(tmp_path: Path) -> None:
    profile = write_toml_profile(tmp_path / "analyser.toml", POINTS)
    port = free_port()
    device = _device(profile, port)
    transport = ", ".join(f"{k} = {json.dumps(v)}" for k, v in device.pop("transport").items())
    lines = [
        'kind = "edge"',
        f'station = "{STATION}"',
        'state_dir = "state"',
        "[mqtt]",
        f"port = {free_port()}",
        'client_id = "edge-values"',
    ]
    lines += [
        "[[devices]]",
        *(f"{k} = {json.dumps(v)}" for k, v in device.items()),
        f"transport = {{ {transport} }}",
    ]
    config = tmp_path / "edge.toml"
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    argv = [sys.executable, "-m", "stationpipe", "edge", "--config", str(config), "--test"]
    async with static_server(port, {1: _analyser()}):
        proc = await asyncio.create_subprocess_exec(*argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, err.decode()
    assert '"value": 7.594095,' in out.decode()
    values = {r["parameter"]: r["value"] for r in map(json.loads, out.decode().splitlines())}
    assert (repr(values["ph"]), repr(values["do"])) == ("7.594095", "0.3")
