"""The edge agent reading a simulated GNSS receiver on a pty, with an SPL/1 sensor on another pty: line noise
before every sentence is survived; while the receiver has no fix the positions are ``B`` and the sensor's
readings are not flagged; the fence flags the sensor only once the station is out."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest

from stationpipe.edge.agent import run
from stationpipe.kernel.config import load
from stationpipe.simulators.config import SimConfig
from stationpipe.simulators.harness import serving
from stationpipe.testbed.services import Services, free_port
from tests.integration.edge_helpers import Probe, edge_config, running, until

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]
LAT, LON = 30.25, 120.16


def _sim(tmp_path: Path, ascii_link: Path, gps_link: Path, control: int) -> SimConfig:
    path = tmp_path / "sim.toml"
    path.write_text(
        f'kind = "sim"\n[control]\nport = {control}\n'
        f'[[lines]]\nname = "ascii"\nprotocol = "template"\nlink = "{ascii_link}"\n'
        f'[[devices]]\nname = "c"\nstation = "it-edge"\ntemplate = "spl1-water-five"\n'
        'transport = "serial"\nline = "ascii"\nunit = 3\n'
        f'[[gnss]]\nname = "gps"\nstation = "it-edge"\nlat = {LAT}\nlon = {LON}\nlink = "{gps_link}"\n'
        "period = 0.25\njitter = 0.3\n"
        '[[scenarios]]\nname = "noise"\nkind = "garbage"\ndevices = ["gps"]\ncount = 20\nactive = true\n'
        '[[scenarios]]\nname = "nofix"\nkind = "fault"\ndevices = ["gps"]\n'
        '[[scenarios]]\nname = "away"\nkind = "drift"\ndevices = ["gps"]\nparameters = ["gnss_lon"]\n'
        "rate = 360.0\n",  # 0.1 ° of longitude a second: out of a 50 m fence at once
        encoding="utf-8",
    )
    return load(path, SimConfig)


def _last(probe: Probe, device: str) -> dict[str, Any]:
    readings: dict[str, Any] = probe.of(device)[-1]["readings"]
    return readings


async def _control(port: int, name: str, verb: str) -> None:
    async with httpx.AsyncClient() as client:
        resp = await client.post(f"http://127.0.0.1:{port}/scenarios/{name}/{verb}", timeout=5)
        resp.raise_for_status()


async def test_noise_no_fix_and_fence_on_real_ptys(services: Services, tmp_path: Path) -> None:
    ascii_link, gps_link, control = tmp_path / "ascii", tmp_path / "gps", free_port()
    device = {
        "name": "sonde",
        "template": "spl1-water-five",  # the SPL/1 sensor, read through its example template
        "interval": 0.5,
        "timeout": 0.5,
        "protocol": "ascii_template",
        "link": {"type": "serial", "port": str(ascii_link)},
        "unit": 3,
    }
    gnss = {
        "name": "gps",
        "port": str(gps_link),
        "interval": 0.5,
        "max_age": 1.0,
        "fence": {"lat": LAT, "lon": LON, "radius": 50.0},
    }
    cfg = edge_config(tmp_path, services.mosquitto.port, [device], gnss=gnss)
    probe = Probe(services.mosquitto.port, client_id="probe-gnss")
    async with serving(_sim(tmp_path, ascii_link, gps_link, control)), probe:
        await until(gps_link.exists, 10, "the GNSS pty link")
        async with running(run(cfg)):
            await probe.wait_for(4, 20, "gps")
            await probe.wait_for(2, 20, "sonde")
            position = _last(probe, "gps")
            assert {v["flag"] for v in position.values()} == {"N"}, position  # despite 20 noise bytes a line
            assert position["fence_dist"]["value"] < 5
            assert abs(position["gnss_lat"]["value"] - LAT) < 1e-4

            await _control(control, "nofix", "start")
            async with asyncio.timeout(15):
                while _last(probe, "gps")["gnss_lat"]["flag"] != "B":
                    await probe.wait_for(len(probe.of("gps")) + 1, 5, "gps")
            await probe.wait_for(len(probe.of("sonde")) + 2, 10, "sonde")
            assert {v["flag"] for v in _last(probe, "sonde").values()} == {
                "N"
            }  # unknown position: not flagged

            await _control(control, "nofix", "stop")
            await _control(control, "away", "start")
            async with asyncio.timeout(15):
                while _last(probe, "sonde")["ph"]["flag"] != "D":
                    await probe.wait_for(len(probe.of("sonde")) + 1, 5, "sonde")
            away = _last(probe, "gps")
            assert away["fence_dist"]["flag"] == "N"
            assert away["fence_dist"]["value"] > 50
            assert away["gnss_speed"]["value"] > 100  # 0.1 ° of longitude a second at 30 N: about 9.6 km/s
