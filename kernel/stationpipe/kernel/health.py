"""What every service shows of itself (docs/design.md#style rule 10): a retained health line on a status
topic, with a last will that says ``offline`` when it dies. Its Prometheus ``/metrics``:
stationpipe.kernel.metrics.

Services that are not stations (the collector, the rules engine) use the status topic of a pseudo
station named ``_<client id>`` (``stations/_collector-1/status``): the ``_`` prefix marks pipeline
components, as ``_province`` marks the province-wide derived results.
"""

from __future__ import annotations

from stationpipe.kernel import wire
from stationpipe.kernel.messages import AgentState, StationStatus
from stationpipe.kernel.mqtt import QOS, Client, Will
from stationpipe.kernel.reading import utc_now
from stationpipe.kernel.version import package_version


def component_id(client_id: str) -> str:
    """The pseudo-station id of a pipeline component (its status topic's station segment)."""
    return f"_{client_id}"


def status(client_id: str, state: AgentState, health: str, depth: int = 0) -> tuple[str, bytes]:
    """Topic and payload of one health line of component ``client_id``."""
    msg = StationStatus(component_id(client_id), state, utc_now(), package_version(), depth, health)
    return wire.encode(msg)


def last_will(client_id: str) -> Will:
    """The broker publishes this (retained) when the component's connection dies."""
    topic, payload = status(client_id, AgentState.OFFLINE, "offline: connection lost")
    return Will(topic, payload, qos=QOS, retain=True)


async def report(client: Client, client_id: str, health: str, depth: int = 0) -> None:
    """Publish one retained health line (``online``)."""
    topic, payload = status(client_id, AgentState.ONLINE, health, depth)
    await client.publish(topic, payload, qos=QOS, retain=True)
