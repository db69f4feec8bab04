"""Static Modbus TCP servers for tests and benchmarks: fixed register images, no model, no scenarios.

Built straight on pymodbus' ``SimDevice`` so the values under test do not pass through our own code.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field

from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from stationpipe.simulators.harness import accepts


@dataclass(frozen=True)
class Image:
    """Register images of one unit: holding and input registers from address 0."""

    holding: Sequence[int] = field(default_factory=lambda: [0])
    inputs: Sequence[int] = field(default_factory=lambda: [0])
    dead: bool = False  # never answers, like a powered-off unit on an RS-485 line


async def _never_answer(*_: object) -> None:
    await asyncio.Event().wait()


def _device(unit: int, image: Image) -> SimDevice:
    bits = [SimData(0, count=16, values=False, datatype=DataType.BITS)]
    regs = [SimData(0, values=list(image.holding), datatype=DataType.REGISTERS)]
    inputs = [SimData(0, values=list(image.inputs), datatype=DataType.REGISTERS)]
    return SimDevice(
        unit, simdata=(bits, list(bits), regs, inputs), action=_never_answer if image.dead else None
    )


async def _listening(host: str, port: int, task: asyncio.Task[None]) -> None:
    async with asyncio.timeout(10):
        while True:
            if task.done():
                await task
            if await accepts(host, port):
                return
            await asyncio.sleep(0.01)  # not listening yet, bounded by the timeout


@contextlib.asynccontextmanager
async def static_server(
    port: int, units: Mapping[int, Image], host: str = "127.0.0.1"
) -> AsyncIterator[None]:
    """Serve ``units`` on ``host:port`` while the context is open."""
    devices = [_device(u, img) for u, img in units.items()]
    server = ModbusTcpServer(devices, address=(host, port))
    task = asyncio.create_task(server.serve_forever())
    try:
        await _listening(host, port, task)
        yield
    finally:
        await server.shutdown()  # type: ignore[no-untyped-call]
        with contextlib.suppress(asyncio.CancelledError):
            await task
