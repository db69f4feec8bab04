"""``stationpipe edge``: poll every device of one station and publish its readings over MQTT."""

from __future__ import annotations

import asyncio
import logging

from edge.config import EdgeConfig
from edge.drivers.modbus import ModbusTcpDriver
from edge.poller import Poller, build_message
from edge.publisher import Outbox, publish_forever
from edge.seqstore import SeqStore
from station.reading import Reading

log = logging.getLogger(__name__)


async def run(config: EdgeConfig) -> None:
    """Run pollers and the publisher in one task group until cancelled."""
    seq = SeqStore(config.state_dir / "seq")
    outbox = Outbox(config.queue_size)
    drivers: dict[tuple[str, int], ModbusTcpDriver] = {}
    pollers = []
    for dev in config.devices:
        key = (dev.transport.host, dev.transport.port)
        if key not in drivers:  # devices behind one gateway share its connection, serialised
            drivers[key] = ModbusTcpDriver(*key, timeout=dev.timeout)
        pollers.append(Poller(config.station, dev, drivers[key]))

    async def emit(device: str, readings: list[Reading]) -> None:
        outbox.put(build_message(config.station, device, seq.take(), readings))

    log.info("edge agent for %s: %d devices", config.station, len(pollers))
    try:
        async with asyncio.TaskGroup() as tg:
            tg.create_task(publish_forever(config.station, config.mqtt, outbox))
            for poller in pollers:
                tg.create_task(poller.run(emit))
    finally:
        for driver in drivers.values():
            driver.close()
