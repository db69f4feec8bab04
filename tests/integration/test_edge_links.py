"""Modbus RTU is one protocol on two links: configured the new way (``protocol`` + ``link``), the edge
agent polls a simulated RTU unit behind a serial device server (TCP) and another on a pty serial line,
both served by the simulator, and publishes their readings to a real broker."""

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
INT16 = "water_sonde_int16"


def _sim(tmp_path: Path, rs485: Path, rtu_tcp: int) -> SimConfig:
    path = tmp_path / "sim.toml"
    path.write_text(
        f'kind = "sim"\n[[lines]]\nname = "rs485"\nlink = "{rs485}"\n'
        f'[[devices]]\nname = "over-tcp"\nstation = "it-edge"\nprofile = "{INT16}"\ntransport = "rtu-tcp"\n'
        f'port = {rtu_tcp}\nunit = 4\nseed = 4\nwater_class = "II"\n'
        f'[[devices]]\nname = "on-serial"\nstation = "it-edge"\nprofile = "{INT16}"\ntransport = "serial"\n'
        f'line = "rs485"\nunit = 2\nseed = 2\nwater_class = "II"\n'
    )
    return load(path, SimConfig)


async def test_modbus_rtu_over_tcp_and_over_a_serial_port_configured_as_protocol_and_link(
    services: Services, tmp_path: Path
) -> None:
    rs485, rtu_tcp = tmp_path / "rs485", free_port()
    common = {"profile": INT16, "interval": 0.5, "timeout": 0.5, "protocol": "modbus_rtu"}
    devices = [
        {
            **common,
            "name": "gateway",
            "unit": 4,
            "link": {"type": "tcp", "host": "127.0.0.1", "port": rtu_tcp},
        },
        {
            **common,
            "name": "sonde",
            "unit": 2,
            "link": {"type": "serial", "port": str(rs485), "baudrate": 19200},
        },
    ]
    cfg = edge_config(tmp_path, services.mosquitto.port, devices)
    assert cfg.devices[0].transport is None
    probe = Probe(services.mosquitto.port, client_id="probe-links")
    async with serving(_sim(tmp_path, rs485, rtu_tcp)), probe, running(run(cfg)):
        for device in ("gateway", "sonde"):
            await probe.wait_for(3, 20, device)
    for device in ("gateway", "sonde"):
        last = probe.of(device)[-1]["readings"]
        assert {v["flag"] for v in last.values()} == {"N"}, (device, last)
        assert 6 < last["ph"]["value"] < 9
