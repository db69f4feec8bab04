"""What every service shows of itself (docs/design.md#style rule 10): Prometheus ``/metrics`` over HTTP, and a
retained health line on a status topic, with a last will that says ``offline`` when it dies.

Services that are not stations (the collector, the rules engine) use the status topic of a pseudo
station named ``_<client id>`` (``stations/_collector-1/status``): the ``_`` prefix marks pipeline
components, as ``_province`` marks the province-wide derived results.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

import aiomqtt
from prometheus_client import CollectorRegistry, start_http_server
from pydantic import Field

from stationpipe.kernel import wire
from stationpipe.kernel.config import Model
from stationpipe.kernel.messages import AgentState, StationStatus
from stationpipe.kernel.mqtt import QOS
from stationpipe.kernel.reading import utc_now

log = logging.getLogger(__name__)
VERSION = "0.1.0"


class MetricsSettings(Model):
    """Prometheus ``/metrics`` endpoint (loopback by default)."""

    host: str = "127.0.0.1"
    port: int = Field(ge=0, le=65535, description="0 picks a free port (logged)")


@contextlib.contextmanager
def serving(registry: CollectorRegistry, settings: MetricsSettings | None) -> Iterator[int | None]:
    """Serve ``/metrics`` from ``registry`` on a daemon thread while the block runs; yields the port."""
    if settings is None:
        yield None
        return
    server, thread = start_http_server(settings.port, settings.host, registry=registry)
    port = int(server.server_port)
    log.info("metrics on http://%s:%d/metrics", settings.host, port)
    try:
        yield port
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def component_id(client_id: str) -> str:
    """The pseudo-station id of a pipeline component (its status topic's station segment)."""
    return f"_{client_id}"


def status(client_id: str, state: AgentState, health: str, depth: int = 0) -> tuple[str, bytes]:
    """Topic and payload of one health line of component ``client_id``."""
    msg = StationStatus(component_id(client_id), state, utc_now(), VERSION, depth, health)
    return wire.encode(msg)


def last_will(client_id: str) -> aiomqtt.Will:
    """The broker publishes this (retained) when the component's connection dies."""
    topic, payload = status(client_id, AgentState.OFFLINE, "offline: connection lost")
    return aiomqtt.Will(topic, payload, qos=QOS, retain=True)


async def report(client: aiomqtt.Client, client_id: str, health: str, depth: int = 0) -> None:
    """Publish one retained health line (``online``)."""
    topic, payload = status(client_id, AgentState.ONLINE, health, depth)
    await client.publish(topic, payload, qos=QOS, retain=True)
