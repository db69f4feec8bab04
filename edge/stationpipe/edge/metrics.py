"""Prometheus metrics of one edge agent (a registry per agent, so tests can run several in one process)."""

from __future__ import annotations

import logging

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from stationpipe.edge.config import MetricsSettings

log = logging.getLogger(__name__)


class EdgeMetrics:
    """Polls, points by flag, errors per device, spool depth and drops, publishes and their latency."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.polls = Counter("stationpipe_edge_polls", "Device polls", ["device"], registry=r)
        self.points = Counter(
            "stationpipe_edge_points", "Points read, by flag", ["device", "flag"], registry=r
        )
        self.errors = Counter(
            "stationpipe_edge_request_errors", "Failed requests", ["device", "kind"], registry=r
        )
        self.requests = Counter(
            "stationpipe_edge_modbus_requests", "Modbus requests sent", ["line"], registry=r
        )
        self.spool_depth = Gauge("stationpipe_edge_spool_depth", "Messages waiting in the spool", registry=r)
        self.spool_dropped = Gauge(
            "stationpipe_edge_spool_dropped", "Messages dropped by spool bounds (ever)", registry=r
        )
        self.published = Counter(
            "stationpipe_edge_published", "Messages acknowledged by the broker", registry=r
        )
        self.held = Counter(
            "stationpipe_edge_publish_held",
            "Messages the broker acknowledged but routed to no subscriber (0x10) or refused: kept to resend",
            ["reason"],
            registry=r,
        )
        self.publish_latency = Histogram(
            "stationpipe_edge_publish_latency_seconds",
            "Publish until PUBACK",
            registry=r,
            buckets=(0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10),
        )
        self.connected = Gauge(
            "stationpipe_edge_broker_connected", "1 while connected to the broker", registry=r
        )

    def serve(self, settings: MetricsSettings) -> int:
        """Expose ``/metrics`` over HTTP; returns the port (useful with port 0)."""
        server, _ = start_http_server(settings.port, settings.host, registry=self.registry)
        port = int(server.server_port)
        log.info("metrics on http://%s:%d/metrics", settings.host, port)
        return port
