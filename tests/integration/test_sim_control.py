"""Scenarios switched at run time through the HTTP control channel change what a Modbus client reads."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TypeVar

import httpx
import pytest
from pymodbus.client import AsyncModbusTcpClient
from pymodbus.exceptions import ModbusException

from stationpipe.kernel.config import load
from stationpipe.simulators.config import SimConfig
from stationpipe.simulators.harness import serving
from stationpipe.testbed.services import free_port

pytestmark = [pytest.mark.integration, pytest.mark.timeout(40)]
DT = AsyncModbusTcpClient.DATATYPE
T = TypeVar("T")

SCENARIOS = """
[[scenarios]]
name = "event"
kind = "pollution"
devices = ["nut"]
parameter = "nh3n"
multiple = 4.0
rise = 1.0
hold = 60
decay = 1.0
[[scenarios]]
name = "flat"
kind = "flatline"
devices = ["son"]
parameters = ["do"]
[[scenarios]]
name = "drift"
kind = "drift"
devices = ["son"]
parameters = ["cond"]
rate = 36000.0
[[scenarios]]
name = "fault"
kind = "fault"
devices = ["nut"]
[[scenarios]]
name = "maint"
kind = "maintenance"
devices = ["int"]
[[scenarios]]
name = "calib"
kind = "calibration"
devices = ["int"]
parameters = ["do"]
value = 5.0
[[scenarios]]
name = "silent"
kind = "silent"
devices = ["son"]
[[scenarios]]
name = "busy"
kind = "exception"
devices = ["nut"]
code = 6
[[scenarios]]
name = "slow"
kind = "slow"
devices = ["int"]
delay = 1.0
"""


@dataclass
class Sim:
    client: AsyncModbusTcpClient
    http: httpx.AsyncClient
    port: int

    async def switch(self, name: str, verb: str = "start") -> None:
        resp = await self.http.post(f"/scenarios/{name}/{verb}")
        assert resp.status_code == 200, resp.text

    async def floats(
        self, unit: int, address: int, count: int, *, holding: bool, little: bool = False
    ) -> list[float]:
        read = self.client.read_holding_registers if holding else self.client.read_input_registers
        resp = await read(address, count=count, device_id=unit)
        assert not resp.isError(), resp
        regs = resp.registers
        order: Literal["big", "little"] = "little" if little else "big"
        return [
            _num(self.client.convert_from_registers(regs[i : i + 2], DT.FLOAT32, word_order=order))
            for i in range(0, count, 2)
        ]

    async def words(self, unit: int, address: int, count: int) -> list[int]:
        resp = await self.client.read_holding_registers(address, count=count, device_id=unit)
        assert not resp.isError(), resp
        return list(resp.registers)

    async def nh3n(self) -> float:
        return (await self.floats(2, 2, 2, holding=True, little=True))[0]


def _num(value: object) -> float:
    assert isinstance(value, int | float)
    return float(value)


async def until(read: Callable[[], Awaitable[T]], ok: Callable[[T], bool], within: float = 10.0) -> T:
    """Read until ``ok`` holds (polling with a deadline, never a fixed wait)."""
    deadline = time.monotonic() + within
    while True:
        value = await read()
        if ok(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"still {value!r} after {within} s")
        await asyncio.sleep(0.05)


@pytest.fixture
async def sim(tmp_path: Path) -> AsyncIterator[Sim]:
    port, control = free_port(), free_port()
    devices = "".join(
        f'[[devices]]\nname = "{name}"\nstation = "st"\nprofile = "{profile}"\n'
        f'port = {port}\nunit = {unit}\nseed = {unit}\nwater_class = "II"\n'
        for name, profile, unit in (
            ("son", "water_five", 1),
            ("nut", "water_nutrients", 2),
            ("int", "water_sonde_int16", 3),
        )
    )
    path = tmp_path / "sim.toml"
    path.write_text(f'kind = "sim"\n[control]\nport = {control}\n{devices}{SCENARIOS}')
    async with serving(load(path, SimConfig)):
        client = AsyncModbusTcpClient("127.0.0.1", port=port, timeout=0.5, retries=0)
        await client.connect()
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{control}", timeout=5) as http:
            yield Sim(client, http, port)
        client.close()


async def test_pollution_event_rises_to_four_times_class_iii_and_ends(sim: Sim) -> None:
    assert await sim.nh3n() < 0.5
    await sim.switch("event")
    await until(sim.nh3n, lambda v: v == pytest.approx(4.0, rel=1e-4))  # 4 × 1.0 mg/L
    await sim.switch("event", "stop")
    assert await sim.nh3n() < 0.5


async def test_flatline_repeats_the_same_registers(sim: Sim) -> None:
    await sim.switch("flat")
    first = await sim.floats(1, 4, 2, holding=False)
    # wait until the model has moved on to a new second (the pH changes), then the DO must not have
    ph0 = (await sim.floats(1, 2, 2, holding=False))[0]
    await until(lambda: sim.floats(1, 2, 2, holding=False), lambda v: v[0] != ph0)
    assert await sim.floats(1, 4, 2, holding=False) == first


async def test_drift_moves_the_value(sim: Sim) -> None:
    base = (await sim.floats(1, 6, 2, holding=False))[0]
    await sim.switch("drift")
    await until(lambda: sim.floats(1, 6, 2, holding=False), lambda v: v[0] > base + 5)  # 10 uS/cm per s


async def test_fault_sets_bit_d_and_nan(sim: Sim) -> None:
    await sim.switch("fault")
    values = await sim.floats(2, 0, 8, holding=True, little=True)
    assert all(math.isnan(v) for v in values)
    assert (await sim.words(2, 20, 1))[0] & 0b001
    await sim.switch("fault", "stop")
    assert await sim.words(2, 20, 1) == [0]


async def test_maintenance_and_calibration_set_their_bits(sim: Sim) -> None:
    await sim.switch("maint")
    assert (await sim.words(3, 10, 1))[0] == 0b100
    await sim.switch("calib")
    regs = await sim.words(3, 0, 11)
    assert regs[10] == 0b110
    assert regs[2] == 5000  # DO = register / 1000: the 5.0 mg/L standard
    assert 1000 < regs[0] < 3000  # temperature still the sample's (register / 100)


async def test_silent_device_does_not_answer(sim: Sim) -> None:
    await sim.switch("silent")
    with pytest.raises(ModbusException):
        await sim.client.read_input_registers(0, count=2, device_id=1)
    await sim.switch("silent", "stop")
    await until(lambda: sim.floats(1, 0, 2, holding=False), lambda v: 0 < v[0] < 50)


async def test_exception_response(sim: Sim) -> None:
    await sim.switch("busy")
    resp = await sim.client.read_holding_registers(0, count=2, device_id=2)
    assert resp.isError()
    assert resp.exception_code == 6


async def test_slow_response(sim: Sim) -> None:
    await sim.switch("slow")
    patient = AsyncModbusTcpClient("127.0.0.1", port=sim.port, timeout=3, retries=0)
    await patient.connect()
    try:
        started = time.monotonic()
        resp = await patient.read_holding_registers(0, count=1, device_id=3)
        assert time.monotonic() - started >= 1.0
        assert not resp.isError()
        with pytest.raises(ModbusException):  # an impatient client gives up
            await sim.client.read_holding_registers(0, count=1, device_id=3)
    finally:
        patient.close()


async def test_control_channel_lists_and_refuses(sim: Sim) -> None:
    listing = (await sim.http.get("/scenarios")).json()
    assert {s["name"] for s in listing} >= {"event", "fault", "busy"}
    assert (await sim.http.post("/scenarios/nope/start")).status_code == 404
    assert (await sim.http.get("/scenarios/event/start")).status_code == 405
