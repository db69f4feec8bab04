"""``stationpipe edge``: poll every device of one station, process every poll, send it out every way.

The agent is wired from three tables: a driver per line (:data:`stationpipe.edge.drivers.DRIVERS`, by
the protocol the devices configure), the processing steps between poll and spool
(:data:`stationpipe.edge.steps.STEPS`) and the outputs (:data:`stationpipe.edge.outputs.OUTPUTS`).
A poller per device keeps the grid, the backoff and the metrics. Everything runs in one task group until
cancelled; what the outputs keep on disk stays intact.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from stationpipe.edge.config import EdgeConfig
from stationpipe.edge.drivers import DRIVERS, Driver
from stationpipe.edge.drivers.dtu import DtuListenerDriver
from stationpipe.edge.metrics import EdgeMetrics
from stationpipe.edge.outputs import OUTPUTS, Context, Output
from stationpipe.edge.poller import Emit, Poller
from stationpipe.edge.steps import STEPS, Step
from stationpipe.kernel.metrics import serving
from stationpipe.kernel.qc import QcRecord
from stationpipe.kernel.reading import Reading

log = logging.getLogger(__name__)


def build_drivers(config: EdgeConfig) -> list[Driver]:
    """One driver per line (protocol on link); the devices on a line share it. With ``[dtu]``, the DTU
    listener too, which the lines on DTU links talk through."""
    drivers = [DRIVERS[line.connection.protocol](config, line) for line in config.lines()]
    if config.dtu is not None:
        drivers.append(DtuListenerDriver(config))
    return drivers


def build_steps(config: EdgeConfig, drivers: list[Driver]) -> list[Step]:
    """The configured processing steps, in the order they apply."""
    return [step for make in STEPS if (step := make(config, drivers)) is not None]


def process(steps: list[Step], device: str, readings: list[Reading]) -> list[Reading]:
    """One poll's readings through every step in order."""
    for step in steps:
        readings = step.apply(device, readings)
    return readings


def chain(steps: list[Step], outputs: list[Output]) -> Emit:
    """What becomes of one poll: every step in order, then every output; its new QC checks go to every
    output as they are (steps act on readings only)."""

    async def emit(device: str, readings: list[Reading], qc: tuple[QcRecord, ...] = ()) -> None:
        readings = process(steps, device, readings)
        for output in outputs:
            output.accept(device, readings)
            if qc:
                output.accept_qc(qc)

    return emit


def health(config: EdgeConfig, pollers: list[Poller]) -> Callable[[], str]:
    """The status message's health: how many of the configured devices answer (a GNSS receiver is not
    one of them: it always has something to say, if only that it has no fix)."""
    devices = [p for p in pollers if p.name in {d.name for d in config.devices}]
    return lambda: f"devices {sum(p.available for p in devices)}/{len(devices)} answering"


async def run(config: EdgeConfig) -> None:
    """Run the drivers, the pollers and the outputs in one task group until cancelled."""
    metrics = EdgeMetrics()
    with serving(metrics, config.metrics):
        await _run(config, metrics)


async def _run(config: EdgeConfig, metrics: EdgeMetrics) -> None:
    """What ``run`` does while the metrics are served."""
    drivers = build_drivers(config)
    pollers = [
        Poller(reader, metrics, config.phase(reader.interval))
        for driver in drivers
        for reader in driver.readers()
    ]
    context = Context(metrics, health(config, pollers))
    outputs: list[Output] = []
    try:
        steps = build_steps(config, drivers)
        outputs = [out for make in OUTPUTS if (out := make(config, context)) is not None]
        emit = chain(steps, outputs)
        log.info(
            "edge agent for %s: %d devices on %d lines, %d steps, %d outputs",
            config.station,
            len(config.devices),
            len(drivers),
            len(steps),
            len(outputs),
        )
        async with asyncio.TaskGroup() as tg:
            for output in outputs:
                tg.create_task(output.run())
            for driver in drivers:
                tg.create_task(driver.run())
            for poller in pollers:
                tg.create_task(poller.run(emit))
    finally:
        for driver in drivers:
            driver.close()
        for output in outputs:
            output.close()
