"""Prometheus metrics of one collector instance, on its own registry (several collectors may share a
process, as in the tests), named ``stationpipe_collector_*`` and served on ``/metrics`` when ``[metrics]``
is configured (:mod:`stationpipe.kernel.metrics`)."""

from __future__ import annotations

from prometheus_client import Counter

from stationpipe.kernel.metrics import ComponentMetrics


class Metrics(ComponentMetrics):
    """Counters: messages in (by kind), points written, batches (by outcome), retries, dead letters (by
    cause), unknown-station messages; gauges: spool points and bytes, when the last write succeeded (Unix
    seconds: an alert on its age finds a collector that has stopped writing); histogram: write latency."""

    def __init__(self) -> None:
        super().__init__("collector")
        self.messages = self.counter("messages", "MQTT messages received", ["kind"])
        self._received: dict[str, Counter] = {}
        self.points = self.counter("points_written", "points written to InfluxDB")
        self.batches = self.counter("batches", "batches made durable", ["outcome"])
        self.retries = self.counter("write_retries", "write attempts that will be retried")
        self.dead = self.counter("dead_letters", "messages or points dead-lettered", ["cause"])
        self.unknown = self.counter("unknown_station_messages", "messages from stations outside the registry")
        self.ahead = self.counter(
            "readings_ahead",
            "readings stamped more than clock.max_ahead ahead of the collector's clock, stored marked",
            ["station"],
        )
        self.spool_points = self.gauge("spool_points", "points waiting in the disk spool")
        self.spool_bytes = self.gauge("spool_bytes", "bytes used by the disk spool")
        self.last_write = self.gauge(
            "last_write_timestamp_seconds",
            "when the last successful batch write finished, seconds since the Unix epoch",
        )
        self.latency = self.histogram(
            "write_seconds",
            "duration of one successful batch write, seconds",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )

    def received(self, kind: str) -> Counter:
        """The messages counter of one kind (``labels`` costs more than the increment)."""
        child = self._received.get(kind)
        if child is None:
            child = self._received[kind] = self.messages.labels(kind)
        return child


__all__ = ["Metrics"]
