"""What one collector subscribes to (``records.subscriptions``), in few SUBSCRIBE packets, and, when it
is partitioned, the stations its registry gains while it runs.

A partitioned collector subscribes to each of its stations' readings topic by name: thousands of
filters, sent ``CHUNK`` to a SUBSCRIBE packet rather than one round trip each.
"""

from __future__ import annotations

import asyncio
import logging

from stationpipe.collector.config import CollectorConfig
from stationpipe.collector.records import subscriptions
from stationpipe.collector.stations import POLL_SECONDS, Stations
from stationpipe.kernel.mqtt import QOS, Client

log = logging.getLogger(__name__)
#: Filters per SUBSCRIBE packet (about 40 bytes each: a 40 kB packet).
CHUNK = 1000


def filters(config: CollectorConfig, stations: Stations) -> list[str]:
    """The filters for this instance: its partition of the registry's stations as known now."""
    known = stations.known or frozenset()
    return subscriptions(config.group, shared=config.shared, partition=config.partition, stations=known)


def describe(config: CollectorConfig, count: int) -> str:
    """How the instance subscribed, for the log line."""
    how = f"group {config.group}" if config.shared else "plain subscriptions"
    if config.partition.count == 1:
        return how if config.shared else "a single instance"
    part = config.partition
    return f"partition {part.index} of {part.count}: {count} filters, {how}"


async def subscribe(client: Client, topics: list[str]) -> None:
    """Subscribe to ``topics`` at QoS 1, ``CHUNK`` filters a packet."""
    for start in range(0, len(topics), CHUNK):
        await client.subscribe([(topic, QOS) for topic in topics[start : start + CHUNK]], qos=QOS)


async def follow(client: Client, config: CollectorConfig, stations: Stations, done: set[str]) -> None:
    """Forever (partitioned): subscribe to the filters of stations the registry gained (``done`` holds
    the filters subscribed). A station removed from the registry keeps its subscription until the session
    ends: what it still sends is stored, not lost."""
    while True:
        await asyncio.sleep(POLL_SECONDS)  # the registry's watcher polls the file at the same period
        new = [topic for topic in filters(config, stations) if topic not in done]
        if new:
            await subscribe(client, new)
            done.update(new)
            log.info("registry changed: subscribed to %d more filters", len(new))
