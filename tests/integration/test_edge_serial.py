"""The edge agent on serial lines: Modbus RTU with two unit ids on one pty line, an SPL/1 ASCII sensor
(read through the SPL/1 example template) on another, and RTU frames over TCP (a serial device server),
all served by the simulator."""

from __future__ import annotations

from pathlib import Path

import pytest

from stationpipe.edge.agent import run
from stationpipe.kernel.config import load
from stationpipe.simulators.config import SimConfig
from stationpipe.simulators.harness import serving
from stationpipe.testbed.services import Services, free_port
from tests.integration.edge_helpers import Probe, edge_config, running

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]


def _sim(tmp_path: Path, rs485: Path, ascii_link: Path, rtu_tcp: int) -> SimConfig:
    int16 = "water_sonde_int16"
    devices = "".join(
        f'[[devices]]\nname = "{name}"\nstation = "it-edge"\n{values}\ntransport = "serial"\n'
        f'line = "{line}"\nunit = {unit}\nseed = {unit}\nwater_class = "II"\n'
        for name, values, line, unit in (
            ("a", f'profile = "{int16}"', "rs485", 1),
            ("b", f'profile = "{int16}"', "rs485", 2),
            ("c", 'template = "spl1-water-five"', "ascii", 3),
        )
    )
    devices += (
        f'[[devices]]\nname = "d"\nstation = "it-edge"\nprofile = "{int16}"\ntransport = "rtu-tcp"\n'
        f'port = {rtu_tcp}\nunit = 4\nseed = 4\nwater_class = "II"\n'
    )
    path = tmp_path / "sim.toml"
    path.write_text(
        f'kind = "sim"\n[[lines]]\nname = "rs485"\nlink = "{rs485}"\n'
        f'[[lines]]\nname = "ascii"\nprotocol = "template"\nlink = "{ascii_link}"\n{devices}'
    )
    return load(path, SimConfig)


async def test_rtu_units_share_a_pty_line_and_an_ascii_sensor_reports(
    services: Services, tmp_path: Path
) -> None:
    rs485, ascii_link, rtu_tcp = tmp_path / "rs485", tmp_path / "ascii", free_port()
    int16 = "water_sonde_int16"
    devices = [
        {
            "name": "sonde1",
            "profile": int16,
            "interval": 0.5,
            "timeout": 0.5,
            "transport": {"type": "rtu", "port": str(rs485), "unit": 1, "baudrate": 19200},
        },
        {
            "name": "sonde2",
            "profile": int16,
            "interval": 0.5,
            "timeout": 0.5,
            "transport": {"type": "rtu", "port": str(rs485), "unit": 2, "baudrate": 19200},
        },
        {
            "name": "ascii",
            "template": "spl1-water-five",
            "interval": 0.5,
            "timeout": 0.5,
            "protocol": "ascii_template",
            "link": {"type": "serial", "port": str(ascii_link)},
            "unit": 3,
        },
        {
            "name": "gateway",
            "profile": int16,
            "interval": 0.5,
            "timeout": 0.5,
            "transport": {"type": "rtu_over_tcp", "host": "127.0.0.1", "port": rtu_tcp, "unit": 4},
        },
    ]
    cfg = edge_config(tmp_path, services.mosquitto.port, devices)
    probe = Probe(services.mosquitto.port, client_id="probe-serial")
    async with serving(_sim(tmp_path, rs485, ascii_link, rtu_tcp)), probe, running(run(cfg)):
        for device in ("sonde1", "sonde2", "ascii", "gateway"):
            await probe.wait_for(3, 20, device)
    for device in ("sonde1", "sonde2", "ascii", "gateway"):
        last = probe.of(device)[-1]["readings"]
        assert {v["flag"] for v in last.values()} == {"N"}, (device, last)
        assert 0 < last["do"]["value"] < 20
        assert 6 < last["ph"]["value"] < 9
    assert probe.of("sonde1")[-1]["readings"].keys() == probe.of("sonde2")[-1]["readings"].keys()
