"""Publish a month's official statistics as one derived record, so the collector stores them (it is the only
writer to InfluxDB) and the dashboards show the audited and raw figures side by side.

Record: station ``_province``, index ``official_stats`` (measurement ``official_stats``, docs/design.md),
time = the month's start (China time), so running the command again for a month replaces its figures.
Fields: each headline number twice, ``<name>`` audited and ``<name>_raw``; ``worse_than_v`` as counts
(``worse_than_v_count``) and ids; ``period`` the month.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from stationpipe.kernel import wire
from stationpipe.kernel.messages import Derived, DerivedValue
from stationpipe.kernel.mqtt import QOS, MqttSettings, make_client

STATION = "_province"
INDEX = "official_stats"


def _values(headline: dict[str, Any], suffix: str) -> dict[str, DerivedValue]:
    out: dict[str, DerivedValue] = {}
    for key, value in headline.items():
        if key == "worse_than_v":
            out[f"worse_than_v_count{suffix}"] = len(value)
            out[f"worse_than_v_ids{suffix}"] = tuple(value)
        elif isinstance(value, int | float) and not isinstance(value, bool):
            out[f"{key}{suffix}"] = value
    return out


def record(result: dict[str, Any], start: datetime) -> Derived:
    """The derived record of a ``report stats`` result for the month starting at ``start`` (UTC)."""
    values = _values(result["audited"]["headline"], "") | _values(result["raw"]["headline"], "_raw")
    values["period"] = str(result["period"]["label"])
    values["excluded"] = int(result["audit"]["excluded"])
    return Derived(STATION, INDEX, start, values)


async def publish(settings: MqttSettings, derived: Derived) -> None:
    """Publish ``derived`` once, QoS 1, and disconnect."""
    topic, payload = wire.encode(derived)
    async with make_client(settings) as client:
        await client.publish(topic, payload, qos=QOS)
