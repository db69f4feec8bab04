"""Prometheus metrics of one collector instance, on its own ``CollectorRegistry`` (several collectors may
share a process, as in the tests), served on ``/metrics`` when ``[metrics]`` is configured."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

if TYPE_CHECKING:
    from stationpipe.collector.config import MetricsSettings


class Metrics:
    """Counters: messages in (by kind), points written, batches (by outcome), retries, dead letters (by
    cause), unknown-station messages; gauges: spool points and bytes, when the last write succeeded (Unix
    seconds: an alert on its age finds a collector that has stopped writing); histogram: write latency."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.messages = Counter("collector_messages", "MQTT messages received", ["kind"], registry=r)
        self._received: dict[str, Counter] = {}
        self.points = Counter("collector_points_written", "points written to InfluxDB", registry=r)
        self.batches = Counter("collector_batches", "batches made durable", ["outcome"], registry=r)
        self.retries = Counter("collector_write_retries", "write attempts that will be retried", registry=r)
        self.dead = Counter(
            "collector_dead_letters", "messages or points dead-lettered", ["cause"], registry=r
        )
        self.unknown = Counter(
            "collector_unknown_station_messages", "messages from stations outside the registry", registry=r
        )
        self.ahead = Counter(
            "collector_readings_ahead",
            "readings stamped more than clock.max_ahead ahead of the collector's clock, stored marked",
            ["station"],
            registry=r,
        )
        self.spool_points = Gauge("collector_spool_points", "points waiting in the disk spool", registry=r)
        self.spool_bytes = Gauge("collector_spool_bytes", "bytes used by the disk spool", registry=r)
        self.last_write = Gauge(
            "collector_last_write_timestamp_seconds",
            "when the last successful batch write finished, seconds since the Unix epoch",
            registry=r,
        )
        self.latency = Histogram(
            "collector_write_seconds",
            "duration of one successful batch write, seconds",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=r,
        )

    def received(self, kind: str) -> Counter:
        """The ``collector_messages`` counter of one kind (``labels`` costs more than the increment)."""
        child = self._received.get(kind)
        if child is None:
            child = self._received[kind] = self.messages.labels(kind)
        return child

    def value(self, name: str, **labels: str) -> float:
        """Current value of one sample (for tests and the bench); 0 when it was never set."""
        got = self.registry.get_sample_value(name, labels)
        return 0.0 if got is None else got


@contextlib.contextmanager
def serving(metrics: Metrics, settings: MetricsSettings | None) -> Iterator[None]:
    """Serve ``/metrics`` on a daemon thread while the block runs (nothing when not configured)."""
    if settings is None:
        yield
        return
    server, thread = start_http_server(settings.port, settings.host, registry=metrics.registry)
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


__all__ = ["Metrics", "serving"]
