"""Real instrument profiles end to end: the simulator serves each real shipped profile (the instrument's
register map from its vendor manual) over Modbus TCP, ``stationpipe edge --config F --test`` reads it by
name, and the values come back in the catalogue's units, within what the simulated site shows."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from stationpipe.kernel.config import load
from stationpipe.kernel.registermap import shipped_profile
from stationpipe.simulators.config import SimConfig
from stationpipe.simulators.harness import serving
from stationpipe.testbed.services import free_port

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]
#: Real profile -> (catalogue parameter -> plausible canonical range for a typical class II river / city)
EXPECTED: dict[str, dict[str, tuple[float, float]]] = {
    "insitu-aquatroll-400": {
        "do": (4.0, 12.0), "temp": (10.0, 30.0), "ph": (6.5, 8.5), "orp": (100.0, 400.0),
    },
    "teledyne-t400": {"o3": (0.0, 250.0)},
    "teledyne-t300": {"co": (0.1, 2.0)},
    "teledyne-t101": {"so2": (0.0, 30.0)},
}


def _sim(tmp_path: Path, ports: dict[str, int]) -> SimConfig:
    path = tmp_path / "sim.toml"
    path.write_text(
        'kind = "sim"\n'
        + "".join(
            f'[[devices]]\nname = "{name}"\nstation = "it-real"\nprofile = "{name}"\nport = {port}\n'
            f'water_class = "II"\nseed = {i}\n'
            for i, (name, port) in enumerate(ports.items())
        ),
        encoding="utf-8",
    )
    return load(path, SimConfig)


def _edge(tmp_path: Path, ports: dict[str, int]) -> Path:
    path = tmp_path / "edge.toml"
    path.write_text(
        f'kind = "edge"\nstation = "it-real"\nstate_dir = "state"\n'
        f'[mqtt]\nport = {free_port()}\nclient_id = "edge-real"\ntimeout = 1.0\n'
        + "".join(
            f'[[devices]]\nname = "{name}"\nprofile = "{name}"\ninterval = 5.0\ntimeout = 1.0\n'
            f'protocol = "modbus_tcp"\nlink = {{ type = "tcp", host = "127.0.0.1", port = {port} }}\n'
            for name, port in ports.items()
        ),
        encoding="utf-8",
    )
    return path


async def _edge_test(config: Path) -> tuple[int, list[dict[str, Any]], str]:
    argv = [sys.executable, "-m", "stationpipe", "edge", "--config", str(config), "--test"]
    proc = await asyncio.create_subprocess_exec(*argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        async with asyncio.timeout(30):
            out, err = await proc.communicate()
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode is not None
    return proc.returncode, [json.loads(line) for line in out.decode().splitlines()], err.decode()


async def test_the_simulator_serves_each_real_profile_and_the_edge_reads_it_by_name(tmp_path: Path) -> None:
    assert all(not shipped_profile(name).invented for name in EXPECTED)
    ports = {name: free_port() for name in EXPECTED}
    async with serving(_sim(tmp_path, ports)):
        code, records, err = await _edge_test(_edge(tmp_path, ports))
    assert code == 0, err
    for name, expected in EXPECTED.items():
        readings = {r["parameter"]: r for r in records if r["device"] == name}
        assert set(readings) == set(expected), (name, records)
        for parameter, (low, high) in expected.items():
            reading = readings[parameter]
            assert reading["flag"] == "N", reading
            assert low <= reading["value"] <= high, reading
    units = {r["parameter"]: r["unit"] for r in records}
    assert (units["o3"], units["co"], units["so2"], units["do"]) == ("ug/m3", "mg/m3", "ug/m3", "mg/L")
