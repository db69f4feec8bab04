"""Simulated instruments served by a real pymodbus server (TCP, RTU over TCP, RTU on a serial line).

Registers are filled at the moment a request reads them (pymodbus ``SimDevice.action``), from the
station model and the scenario board, so every read sees the value of its own instant. The action
also plays the scenarios that act on the protocol: it answers late (``slow``), with an exception
code (``exception``), or not at all (``silent``: it raises pymodbus' ``NoSuchIdException`` and the
server, built with ``ignore_missing_devices``, drops the request as a dead unit would).

Each served read can be journaled (instant, unit, table, address, registers) so a test can compare
what was served with what was stored.
"""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import Callable
from typing import Any

from pymodbus.constants import ExcCodes
from pymodbus.exceptions import NoSuchIdException
from pymodbus.framer import FramerType
from pymodbus.server import ModbusSerialServer, ModbusTcpServer
from pymodbus.simulator import DataType as SimType
from pymodbus.simulator import SimData
from pymodbus.simulator import SimDevice as PmSimDevice

from stationpipe.kernel.reading import utc_now
from stationpipe.kernel.registermap import Profile, RegisterType
from stationpipe.kernel.wire import rfc3339
from stationpipe.simulators.encode import span
from stationpipe.simulators.instrument import Instrument

_FC_TABLE = {3: RegisterType.HOLDING, 4: RegisterType.INPUT}
Journal = Callable[[dict[str, Any]], None]


def _block(profile: Profile, table: RegisterType) -> list[SimData]:
    bounds = span(profile, table)
    start, end = bounds if bounds is not None else (0, 1)
    return [SimData(start, count=end - start, values=0, datatype=SimType.REGISTERS)]


def _fill(
    registers: list[int], start_address: int, address: int, count: int, shown: dict[int, list[int]]
) -> None:
    for pdu, words in shown.items():
        if address <= pdu and pdu + len(words) <= address + count:
            registers[pdu - start_address : pdu - start_address + len(words)] = words


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
    effects = inst.effects(utc_now())
    if effects.silent:
        raise NoSuchIdException(f"unit {inst.unit} is silent (scenario)")
    if effects.delay:
        await asyncio.sleep(effects.delay)
    if effects.exception is not None:
        return ExcCodes(effects.exception)
    at = utc_now()
    _fill(registers, start_address, address, count, inst.shown(table, at, inst.effects(at)))
    if journal is not None:
        served = registers[address - start_address : address - start_address + count]
        journal(
            {
                "ts": rfc3339(at),
                "unit": inst.unit,
                "table": table.value,
                "address": address,
                "registers": served,
            }
        )
    return None


def device_for(inst: Instrument, journal: Journal | None) -> PmSimDevice:
    """A pymodbus device whose holding and input registers follow the instrument's model and scenarios."""
    bits = [SimData(0, count=16, values=False, datatype=SimType.BITS)]
    blocks = (
        bits,
        list(bits),
        _block(inst.profile, RegisterType.HOLDING),
        _block(inst.profile, RegisterType.INPUT),
    )
    return PmSimDevice(inst.unit, simdata=blocks, action=functools.partial(_on_access, inst, journal))


def tcp_server(
    host: str, port: int, instruments: list[Instrument], journal: Journal | None, *, rtu: bool = False
) -> ModbusTcpServer:
    """A Modbus TCP server (``rtu``: RTU frames over TCP), several unit ids on one port (not started)."""
    return ModbusTcpServer(
        [device_for(i, journal) for i in instruments],
        address=(host, port),
        framer=FramerType.RTU if rtu else FramerType.SOCKET,
        ignore_missing_devices=True,
    )


def serial_server(
    path: str, baudrate: int, instruments: list[Instrument], journal: Journal | None
) -> ModbusSerialServer:
    """A Modbus RTU server on the serial device ``path`` (a pty): several units on one line (not started)."""
    return ModbusSerialServer(
        [device_for(i, journal) for i in instruments],
        framer=FramerType.RTU,
        port=path,
        baudrate=baudrate,
        ignore_missing_devices=True,
    )


def jsonl_journal(path: str) -> Journal:
    """A journal that appends one JSON line per served read (flushed, so a reader sees it at once)."""
    fh = open(path, "a", encoding="utf-8")  # noqa: SIM115, PTH123 - lives as long as the simulator

    def write(entry: dict[str, Any]) -> None:
        fh.write(json.dumps(entry) + "\n")
        fh.flush()

    return write
