"""``stationpipe edge --config F --test``: read every configured device once and show what it said.

Field engineers check wiring and register maps with it before starting the service (the idea of
Telegraf's ``--test``). Every driver's :meth:`~stationpipe.edge.drivers.base.Reader.read_once` runs once,
with the drivers' :meth:`~stationpipe.edge.drivers.base.Driver.run` beside it (a GNSS receiver is read
until its first fix; the reads start once every DTU has dialled in to the ``[dtu]`` listener, or after its
``test_wait``); then the processing steps apply, so the fence's flags show. Nothing is published,
no spool or outbox is opened (the state directory is not touched), no metrics are served.

Output: one JSON object per reading on stdout (``station``, ``device``, ``parameter``, ``value``,
``unit``, ``flag``, ``ts``); when stdout is a terminal, a table instead. Every device that did not answer
is named on stderr with the reason. Each device is bounded by its own timeouts, the whole run by ``cap``
seconds (a device still reading then counts as not answering). Exit code: 1 when a device did not answer
(its poll failed as a whole, every reading ``B``), 0 otherwise.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from rich.table import Table

from stationpipe.edge.agent import build_drivers, build_steps, process
from stationpipe.edge.config import EdgeConfig
from stationpipe.edge.drivers import Driver, Poll, Reader
from stationpipe.edge.steps import Step
from stationpipe.kernel.errors import DeviceTimeoutError
from stationpipe.kernel.reading import Reading
from stationpipe.kernel.wire import rfc3339

log = logging.getLogger(__name__)

#: The exit code when every device answered, and when one did not.
OK, NOT_ANSWERED = 0, 1


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one device said in the one-shot read, after the processing steps."""

    device: str
    readings: list[Reading]
    errors: tuple[str, ...] = ()
    answered: bool = True


def record(device: str, reading: Reading) -> dict[str, Any]:
    """One reading as the JSON object printed for it (``value`` is ``null`` when there is none)."""
    return {
        "station": reading.station,
        "device": device,
        "parameter": reading.parameter,
        "value": reading.value,
        "unit": reading.unit,
        "flag": reading.flag.value,
        "ts": rfc3339(reading.ts),
    }


def json_lines(outcomes: Iterable[Outcome]) -> Iterator[str]:
    """One JSON line per reading, devices in configuration order."""
    for outcome in outcomes:
        for reading in outcome.readings:
            yield json.dumps(record(outcome.device, reading), ensure_ascii=False)


def table(outcomes: Iterable[Outcome]) -> Table:
    """The readings as a table for a terminal."""
    grid = Table("device", "parameter", "value", "unit", "flag", "ts", title="stationpipe edge --test")
    for outcome in outcomes:
        for r in outcome.readings:
            value = "" if r.value is None else repr(r.value).removesuffix(".0")
            flag = r.flag.value if r.flag.valid else f"[bold red]{r.flag.value}[/]"
            grid.add_row(outcome.device, r.parameter, value, r.unit, flag, rfc3339(r.ts))
    return grid


def failures(outcomes: Iterable[Outcome]) -> list[str]:
    """One line per device that did not answer, with why."""
    return [
        f"device {o.device} did not answer: {'; '.join(o.errors) or 'no reason given'}"
        for o in outcomes
        if not o.answered
    ]


def exit_code(outcomes: Iterable[Outcome]) -> int:
    """1 when a device did not answer, 0 otherwise."""
    return OK if all(o.answered for o in outcomes) else NOT_ANSWERED


@runtime_checkable
class Awaited(Protocol):
    """A driver the reads wait for: the DTU listener, until its DTUs have dialled in (bounded)."""

    async def ready(self, within: float) -> None:
        """Return when the driver's links are up, or after ``within`` s at most."""


async def _ready(drivers: Sequence[Driver], cap: float) -> None:
    """Wait (within ``cap`` s) for every driver that others wait for."""
    waits = [d.ready(cap) for d in drivers if isinstance(d, Awaited)]
    if waits:
        await asyncio.gather(*waits)


def _poll_of(reader: Reader, task: asyncio.Task[Poll], cap: float) -> Poll:
    """The task's poll; a read still running at the cap is a device that did not answer."""
    if task.cancelled():
        error = DeviceTimeoutError(f"{reader.name}: no complete poll within {cap:g} s (--test-timeout)")
        return Poll(reader.unanswered(), (error,), answered=False)
    return task.result()


async def read_all(config: EdgeConfig, cap: float) -> list[Outcome]:
    """Every device of ``config`` read once (within ``cap`` seconds in all), through the steps."""
    drivers: list[Driver] = build_drivers(config)
    try:
        return await read_once(drivers, build_steps(config, drivers), cap)
    finally:
        for driver in drivers:
            driver.close()


async def read_once(drivers: Sequence[Driver], steps: list[Step], cap: float) -> list[Outcome]:
    """Every reader of ``drivers`` read once, with the drivers running beside them, within ``cap``
    seconds in all; then each poll through ``steps`` (after every read, so a fix read late still counts)."""
    readers = [reader for driver in drivers for reader in driver.readers()]
    background = [asyncio.create_task(driver.run()) for driver in drivers]
    reads: list[asyncio.Task[Poll]] = []
    try:
        started = time.monotonic()
        await _ready(drivers, cap)
        reads = [asyncio.create_task(reader.read_once()) for reader in readers]
        await asyncio.wait(reads, timeout=max(0.1, cap - (time.monotonic() - started)))
    finally:
        for task in (*background, *reads):
            task.cancel()
        await asyncio.gather(*background, *reads, return_exceptions=True)
    for task in background:
        if not task.cancelled() and task.exception() is not None:
            log.error("a driver stopped: %r", task.exception())
    polls = [_poll_of(reader, task, cap) for reader, task in zip(readers, reads, strict=True)]
    return [
        Outcome(
            reader.name,
            process(steps, reader.name, poll.readings),
            tuple(dict.fromkeys(str(e) for e in poll.errors)),  # a dead link fails every request alike
            poll.answered,
        )
        for reader, poll in zip(readers, polls, strict=True)
    ]
