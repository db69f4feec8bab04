"""Prometheus metrics of one edge agent (a registry per agent, so tests can run several in one process),
named ``stationpipe_edge_*`` and served by :func:`stationpipe.kernel.metrics.serving`."""

from __future__ import annotations

from stationpipe.kernel.metrics import ComponentMetrics


class EdgeMetrics(ComponentMetrics):
    """Polls, points by flag, errors per device, spool depth and drops, publishes and their latency."""

    def __init__(self) -> None:
        super().__init__("edge")
        self.polls = self.counter("polls", "Device polls", ["device"])
        self.points = self.counter("points", "Points read, by flag", ["device", "flag"])
        self.errors = self.counter("request_errors", "Failed requests", ["device", "kind"])
        self.requests = self.counter("modbus_requests", "Modbus requests sent", ["line"])
        self.spool_depth = self.gauge("spool_depth", "Messages waiting in the spool")
        self.spool_dropped = self.gauge("spool_dropped", "Messages dropped by spool bounds (ever)")
        self.published = self.counter("published", "Messages acknowledged by the broker")
        self.held = self.counter(
            "publish_held",
            "Messages the broker acknowledged but routed to no subscriber (0x10) or refused: kept to resend",
            ["reason"],
        )
        self.publish_latency = self.histogram(
            "publish_latency_seconds",
            "Publish until PUBACK",
            buckets=(0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10),
        )
        self.connected = self.gauge("broker_connected", "1 while connected to the broker")
