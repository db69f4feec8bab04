"""``stationpipe edge``: poll every device of one station, spool every message, publish over MQTT."""

from __future__ import annotations

import asyncio
import logging

from stationpipe.edge.config import AsciiSerial, EdgeConfig
from stationpipe.edge.drivers.modbus import ModbusLine
from stationpipe.edge.drivers.serial_line import AsciiLine
from stationpipe.edge.fence import GnssDevice
from stationpipe.edge.hj212_uplink import Hj212Reporter
from stationpipe.edge.metrics import EdgeMetrics
from stationpipe.edge.poller import Poller
from stationpipe.edge.publisher import Publisher
from stationpipe.edge.spool import Spool, SpoolLimits
from stationpipe.kernel import wire
from stationpipe.kernel.metrics import serving
from stationpipe.kernel.reading import Reading, StationMessage, utc_now

log = logging.getLogger(__name__)


def open_spool(config: EdgeConfig) -> Spool:
    """The station's spool under ``state_dir`` (created if needed)."""
    s = config.spool
    return Spool(
        config.state_dir / "spool.sqlite", SpoolLimits(s.max_messages, s.max_bytes, s.max_age), fsync=s.fsync
    )


def build_lines(config: EdgeConfig) -> dict[str, ModbusLine | AsciiLine]:
    """One line per physical connection; devices on it share it (polled one request at a time)."""
    lines: dict[str, ModbusLine | AsciiLine] = {}
    for dev in config.devices:
        transport = dev.transport
        if transport.line in lines:
            continue
        if isinstance(transport, AsciiSerial):
            lines[transport.line] = AsciiLine(transport)
        else:
            timeout = max(d.timeout for d in config.devices if d.transport.line == transport.line)
            lines[transport.line] = ModbusLine(transport, timeout)
    return lines


def message(station: str, device: str, seq: int, readings: list[Reading]) -> StationMessage:
    """One readings message; its ``ts`` is the first request's instant."""
    ts = min((r.ts for r in readings), default=utc_now())
    return StationMessage(station, device, seq, ts, tuple(readings))


def _unfenced(device: str, readings: list[Reading]) -> list[Reading]:  # noqa: ARG001 - GnssDevice.apply's shape
    return readings


async def run(config: EdgeConfig) -> None:
    """Run the pollers and the publisher in one task group until cancelled; the spool stays intact."""
    metrics = EdgeMetrics()
    with serving(metrics, config.metrics):
        await _run(config, metrics)


async def _run(config: EdgeConfig, metrics: EdgeMetrics) -> None:
    """What ``run`` does while the metrics are served."""
    spool = open_spool(config)
    lines = build_lines(config)
    pollers = [Poller(config.station, dev, lines[dev.transport.line], metrics) for dev in config.devices]
    publisher = Publisher(
        config,
        spool,
        metrics,
        lambda: f"devices {sum(p.available for p in pollers)}/{len(pollers)} answering",
    )
    topic = wire.topic_for(message(config.station, "x", 0, []))

    reporter = Hj212Reporter(config, config.hj212) if config.hj212 is not None else None
    gnss = GnssDevice(config.station, config.gnss, metrics) if config.gnss is not None else None
    fence = gnss.apply if gnss is not None else _unfenced

    async def emit(device: str, readings: list[Reading]) -> None:
        readings = fence(device, readings)  # the electronic fence flags what is read outside (docs/fence.md)
        spool.append(topic, lambda seq: wire.encode(message(config.station, device, seq, readings))[1])
        publisher.notify()
        if reporter is not None:
            reporter.record(readings)

    log.info(
        "edge agent for %s: %d devices on %d lines, spool depth %d",
        config.station,
        len(pollers),
        len(lines),
        spool.depth,
    )
    try:
        async with asyncio.TaskGroup() as tg:
            tg.create_task(publisher.run())
            if reporter is not None:
                tg.create_task(reporter.run())
            if gnss is not None:
                tg.create_task(gnss.run(emit))
            for poller in pollers:
                tg.create_task(poller.run(emit))
    finally:
        for line in lines.values():
            line.close()
        spool.close()
        if reporter is not None:
            reporter.close()
        if gnss is not None:
            gnss.close()
