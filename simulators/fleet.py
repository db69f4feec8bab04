"""``stationpipe sim``: serve every configured simulated instrument until cancelled."""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict

from simulators.config import SimConfig
from simulators.modbus_server import Instrument, Journal, tcp_server
from simulators.model import StationModel
from station.registermap import load_profile

log = logging.getLogger(__name__)


async def run(config: SimConfig, journal: Journal | None = None) -> None:
    """Start one Modbus TCP server per (host, port), each hosting its unit ids; run until cancelled."""
    by_endpoint: dict[tuple[str, int], list[Instrument]] = defaultdict(list)
    for dev in config.devices:
        model = StationModel.typical(dev.water_class, dev.seed)
        by_endpoint[(dev.host, dev.port)].append(Instrument(load_profile(dev.profile), model, dev.unit))
    servers = [tcp_server(host, port, insts, journal) for (host, port), insts in by_endpoint.items()]
    try:
        async with asyncio.TaskGroup() as tg:
            for (host, port), insts in by_endpoint.items():
                log.info("serving units %s on %s:%d", [i.unit for i in insts], host, port)
            for server in servers:
                tg.create_task(server.serve_forever())
    finally:
        for server in servers:
            await server.shutdown()  # type: ignore[no-untyped-call]
