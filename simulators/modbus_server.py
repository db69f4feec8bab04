"""Simulated instruments served by a real pymodbus server.

Registers are filled at the moment a request reads them (pymodbus ``SimDevice.action``), from the
station model, so every read sees the value of its own instant. Each read can be journaled
(instant, unit, table, address, registers) so a test can compare what was served with what was stored.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pymodbus.constants import ExcCodes
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType as SimType
from pymodbus.simulator import SimData
from pymodbus.simulator import SimDevice as PmSimDevice

from simulators.model import StationModel
from station.reading import utc_now
from station.registermap import Point, Profile, RegisterType, to_registers
from station.wire import rfc3339

_FC_TABLE = {3: RegisterType.HOLDING, 4: RegisterType.INPUT}
Journal = Callable[[dict[str, Any]], None]


@dataclass(frozen=True)
class Instrument:
    """A profile bound to a model and a unit id."""

    profile: Profile
    model: StationModel
    unit: int

    def registers_of(self, point: Point) -> list[int]:
        """The registers ``point`` shows now (raw = (value - offset) / scale)."""
        value = self.model.value(point.parameter, utc_now())
        return to_registers((value - point.offset) / point.scale, point.type, point.order)


def _block(profile: Profile, table: RegisterType) -> list[SimData]:
    points = [p for p in profile.points if p.table is table]
    if not points:
        return [SimData(0, count=1, values=0, datatype=SimType.REGISTERS)]
    start = min(profile.pdu_address(p.address) for p in points)
    end = max(profile.pdu_address(p.address) + p.words for p in points)
    return [SimData(start, count=end - start, values=0, datatype=SimType.REGISTERS)]


async def _on_access(  # noqa: PLR0917 - pymodbus fixes this signature
    inst: Instrument,
    journal: Journal | None,
    function_code: int,
    start_address: int,
    address: int,
    count: int,
    registers: list[int],
    set_values: list[int] | list[bool] | None,
) -> ExcCodes | None:
    table = _FC_TABLE.get(function_code)
    if table is None or set_values is not None:
        return None
    for point in inst.profile.points:
        pdu = inst.profile.pdu_address(point.address)
        if point.table is table and address <= pdu and pdu + point.words <= address + count:
            registers[pdu - start_address : pdu - start_address + point.words] = inst.registers_of(point)
    if journal is not None:
        served = registers[address - start_address : address - start_address + count]
        journal(
            {
                "ts": rfc3339(utc_now()),
                "unit": inst.unit,
                "table": table.value,
                "address": address,
                "registers": served,
            }
        )
    return None


def device_for(inst: Instrument, journal: Journal | None) -> PmSimDevice:
    """A pymodbus device whose holding and input registers follow the instrument's model."""
    bits = [SimData(0, count=16, values=False, datatype=SimType.BITS)]
    blocks = (
        bits,
        list(bits),
        _block(inst.profile, RegisterType.HOLDING),
        _block(inst.profile, RegisterType.INPUT),
    )
    return PmSimDevice(inst.unit, simdata=blocks, action=functools.partial(_on_access, inst, journal))


def tcp_server(
    host: str, port: int, instruments: list[Instrument], journal: Journal | None
) -> ModbusTcpServer:
    """A Modbus TCP server hosting several unit ids on one port (not started)."""
    return ModbusTcpServer([device_for(i, journal) for i in instruments], address=(host, port))


def jsonl_journal(path: str) -> Journal:
    """A journal that appends one JSON line per served read (flushed, so a reader sees it at once)."""
    fh = open(path, "a", encoding="utf-8")  # noqa: SIM115, PTH123 - lives as long as the simulator

    def write(entry: dict[str, Any]) -> None:
        fh.write(json.dumps(entry) + "\n")
        fh.flush()

    return write
