"""Serial transports: Modbus RTU on a pty line with two unit ids, line noise on it, RTU over TCP,
and the plain-ASCII sensor protocol on a second pty."""

from __future__ import annotations

import asyncio
import contextlib
import os
import struct
import time
import tty
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from pymodbus.client import AsyncModbusSerialClient, AsyncModbusTcpClient
from pymodbus.framer import FramerType
from pymodbus.framer.rtu import FramerRTU

from stationpipe.kernel.config import load
from stationpipe.kernel.nmea0183 import checksum, frame
from stationpipe.simulators.config import SimConfig
from stationpipe.simulators.harness import serving
from stationpipe.testbed.services import free_port

pytestmark = [pytest.mark.integration, pytest.mark.timeout(30)]
DT = AsyncModbusTcpClient.DATATYPE


@dataclass
class Lines:
    rtu: Path
    ascii: Path
    rtu_tcp: int
    control: int


def _num(value: object) -> float:
    assert isinstance(value, int | float)
    return float(value)


@pytest.fixture
async def lines(tmp_path: Path) -> AsyncIterator[Lines]:
    found = Lines(tmp_path / "rs485", tmp_path / "ascii", free_port(), free_port())
    int16 = "water_sonde_int16"
    text = f"""kind = "sim"
[control]
port = {found.control}
[[lines]]
name = "rs485"
link = "{found.rtu}"
[[lines]]
name = "ascii"
protocol = "template"
link = "{found.ascii}"
[[devices]]
name = "a"
station = "s1"
profile = "{int16}"
transport = "serial"
line = "rs485"
unit = 1
seed = 1
water_class = "II"
[[devices]]
name = "b"
station = "s2"
profile = "{int16}"
transport = "serial"
line = "rs485"
unit = 2
seed = 2
water_class = "IV"
[[devices]]
name = "probe"
station = "s1"
template = "spl1-water-five"
transport = "serial"
line = "ascii"
unit = 3
[[devices]]
name = "air"
station = "s3"
profile = "air_station"
transport = "rtu-tcp"
port = {found.rtu_tcp}
unit = 5
[[scenarios]]
name = "noise"
kind = "garbage"
devices = ["a"]
count = 7
"""
    path = tmp_path / "sim.toml"
    path.write_text(text)
    async with serving(load(path, SimConfig)):
        yield found
    assert not found.rtu.exists()  # the simulator removes its links


async def test_rtu_line_serves_two_unit_ids(lines: Lines) -> None:
    client = AsyncModbusSerialClient(str(lines.rtu), baudrate=9600, timeout=2, retries=0)
    assert await client.connect()
    try:
        regs = {}
        for unit in (1, 2):
            resp = await client.read_holding_registers(0, count=5, device_id=unit)
            assert not resp.isError(), resp
            regs[unit] = resp.registers
    finally:
        client.close()
    do = {u: _num(client.convert_from_registers(r[2:3], DT.INT16)) / 1000 for u, r in regs.items()}
    assert do[1] > 6.0 > 5.0 > do[2] > 3.0  # a class II and a class IV section
    assert all(10 < r[0] / 100 < 30 for r in regs.values())  # water temperature, register / 100


@contextlib.contextmanager
def raw_port(path: Path) -> Iterator[int]:
    fd = os.open(path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
    tty.setraw(fd)
    try:
        yield fd
    finally:
        os.close(fd)


async def read_until(fd: int, enough: int, within: float = 5.0) -> bytes:
    """Read what arrives until ``enough`` bytes, or the deadline."""
    data = b""
    deadline = time.monotonic() + within
    while len(data) < enough and time.monotonic() < deadline:
        with contextlib.suppress(BlockingIOError):
            data += os.read(fd, 256)
        await asyncio.sleep(0.01)  # polling the port, bounded by the deadline
    return data


def rtu_request(unit: int, address: int, count: int) -> bytes:
    pdu = struct.pack(">BBHH", unit, 3, address, count)
    return pdu + struct.pack(">H", FramerRTU.compute_CRC(pdu))


async def test_garbage_precedes_answers_on_the_line(lines: Lines) -> None:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{lines.control}", timeout=5) as http:
        with raw_port(lines.rtu) as fd:
            os.write(fd, rtu_request(1, 0, 5))
            clean = await read_until(fd, 15)
            assert clean[:3] == b"\x01\x03\x0a"
            assert len(clean) == 15
            assert (await http.post("/scenarios/noise/start")).status_code == 200
            os.write(fd, rtu_request(1, 0, 5))
            noisy = await read_until(fd, 22)
    assert len(noisy) == 22
    assert noisy[7:10] == b"\x01\x03\x0a"
    assert FramerRTU.check_CRC(noisy[7:-2], struct.unpack(">H", noisy[-2:])[0])


async def test_rtu_over_tcp(lines: Lines) -> None:
    client = AsyncModbusTcpClient("127.0.0.1", port=lines.rtu_tcp, framer=FramerType.RTU, timeout=2)
    await client.connect()
    try:
        resp = await client.read_holding_registers(0, count=12, device_id=5)
    finally:
        client.close()
    assert not resp.isError(), resp
    ppb = [
        _num(client.convert_from_registers(resp.registers[i : i + 2], DT.FLOAT32)) for i in range(0, 12, 2)
    ]
    assert all(v > 0 for v in ppb)


async def test_ascii_sensor_answers_with_a_checked_line(lines: Lines) -> None:
    """The SPL/1 sensor is now the SPL/1 example template, rendered by the template simulator."""
    with raw_port(lines.ascii) as fd:
        os.write(fd, frame("3,RD"))
        reply = await read_until(fd, 40)
        while not reply.endswith(b"\n"):
            more = await read_until(fd, 1, within=2)
            assert more, reply
            reply += more
        os.write(fd, frame("9,RD"))  # nobody at address 9
        assert await read_until(fd, 1, within=0.3) == b""
    body, _, cs = reply.decode().strip().lstrip("$").rpartition("*")
    assert cs == checksum(body)
    fields = body.split(",")
    assert fields[:2] == ["3", "RD"]
    assert fields[-1] == "FL=N"
    assert [f.split("=")[0] for f in fields[2:-1]] == ["temp", "ph", "do", "cond", "turb"]
