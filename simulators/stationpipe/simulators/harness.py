"""Running a simulation inside a test or a benchmark: start ``fleet.run`` as a task, wait until every
TCP endpoint accepts connections and every serial line's link exists (with a deadline), cancel on exit."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

from stationpipe.simulators.config import SimConfig
from stationpipe.simulators.fleet import run
from stationpipe.simulators.modbus_server import Journal


async def accepts(host: str, port: int) -> bool:
    """True when ``host:port`` accepts a TCP connection now (within 0.5 s)."""
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), 0.5)
    except (OSError, TimeoutError):
        return False
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True


async def _ready(config: SimConfig) -> bool:
    endpoints = {(d.host, d.port) for d in config.devices if d.port is not None}
    endpoints |= {(a.host, a.port) for a in config.analysers if a.port is not None}
    if config.control is not None:
        endpoints.add((config.control.host, config.control.port))
    links = [ln.link for ln in config.lines if ln.link is not None]
    links += [a.link for a in config.analysers if a.link is not None]
    accepted = [await accepts(host, port) for host, port in endpoints]
    return all(accepted) and all(link.exists() for link in links)


@contextlib.asynccontextmanager
async def serving(
    config: SimConfig, journal: Journal | None = None, ready_within: float = 10.0
) -> AsyncIterator[asyncio.Task[None]]:
    """The simulation, ready to be read; ``TimeoutError`` if it is not ready within ``ready_within`` s."""
    task = asyncio.create_task(run(config, journal))
    try:
        deadline = time.monotonic() + ready_within
        delay = 0.01
        while not await _ready(config):
            if task.done():
                task.result()  # raises the simulator's own error
            if time.monotonic() > deadline:
                raise TimeoutError(f"simulation not ready within {ready_within} s")
            await asyncio.sleep(delay)  # polling readiness, bounded by the deadline
            delay = min(delay * 2, 0.2)
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
