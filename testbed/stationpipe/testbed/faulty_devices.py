"""Instruments that misbehave, for bad-input tests of the edge agent:

- ``exception_server``: a real pymodbus TCP server whose units answer every read with a Modbus exception
  code (1 illegal function … 11 gateway target failed), beside healthy units with fixed registers;
- ``scripted_line``: a serial line on a pseudo-terminal whose far end answers each request with whatever
  a script returns (line noise, broken frames, then good answers), as a flaky RS-485 device would.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping

from pymodbus.constants import ExcCodes
from pymodbus.framer import FramerRTU
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from stationpipe.kernel.nmea0183 import frame
from stationpipe.simulators.pty_line import Pty
from stationpipe.testbed.modbus import Image, _listening

#: Answers one complete request (the bytes the edge wrote) with the bytes the device sends back.
Script = Callable[[bytes], bytes]


Action = Callable[
    [int, int, int, int, list[int], list[int] | list[bool] | None], Coroutine[None, None, ExcCodes | None]
]


def _excepting(code: int) -> Action:
    async def answer(*_: object) -> ExcCodes | None:
        return ExcCodes(code)

    return answer


def _device(unit: int, spec: int | Image) -> SimDevice:
    image = spec if isinstance(spec, Image) else Image(holding=[0] * 16, inputs=[0] * 16)
    bits = [SimData(0, count=16, values=False, datatype=DataType.BITS)]
    regs = [SimData(0, values=list(image.holding), datatype=DataType.REGISTERS)]
    inputs = [SimData(0, values=list(image.inputs), datatype=DataType.REGISTERS)]
    action = _excepting(spec) if isinstance(spec, int) else None
    return SimDevice(unit, simdata=(bits, list(bits), regs, inputs), action=action)


@contextlib.asynccontextmanager
async def exception_server(port: int, units: Mapping[int, int | Image]) -> AsyncIterator[None]:
    """Serve on ``127.0.0.1:port``: a unit mapped to an int answers that exception code to every read;
    a unit mapped to an ``Image`` serves its registers."""
    server = ModbusTcpServer([_device(u, spec) for u, spec in units.items()], address=("127.0.0.1", port))
    task = asyncio.create_task(server.serve_forever())
    try:
        await _listening("127.0.0.1", port, task)
        yield
    finally:
        await server.shutdown()  # type: ignore[no-untyped-call]
        with contextlib.suppress(asyncio.CancelledError):
            await task


def rtu_reply(unit: int, function: int, registers: list[int]) -> bytes:
    """A well-formed RTU answer to a register read (pymodbus' CRC)."""
    body = bytes([unit, function, 2 * len(registers)]) + b"".join(r.to_bytes(2, "big") for r in registers)
    return body + FramerRTU.compute_CRC(body).to_bytes(2, "big")


def rtu_exception(unit: int, function: int, code: int) -> bytes:
    """A well-formed RTU exception answer."""
    body = bytes([unit, function | 0x80, code])
    return body + FramerRTU.compute_CRC(body).to_bytes(2, "big")


def spl_reply(body: str) -> bytes:
    """A well-formed SPL/1 answer line."""
    return frame(body)


@contextlib.asynccontextmanager
async def scripted_line(script: Script, complete: Callable[[bytearray], bool]) -> AsyncIterator[str]:
    """A pty whose far end runs ``script`` on every complete request; yields the path a client opens.

    ``complete(buffer)`` says when the bytes received so far are one whole request (8 bytes for an RTU
    register read, a line ending in LF for SPL/1).
    """
    pty = Pty.open()
    loop = asyncio.get_running_loop()
    buffer = bytearray()

    def readable() -> None:
        buffer.extend(pty.read())
        if complete(buffer):
            request = bytes(buffer)
            buffer.clear()
            pty.write(script(request))

    loop.add_reader(pty.master, readable)
    try:
        yield pty.path
    finally:
        loop.remove_reader(pty.master)
        pty.close()
