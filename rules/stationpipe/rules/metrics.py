"""Prometheus metrics of one rules engine, on its own ``CollectorRegistry``, served on ``/metrics`` when
``[metrics]`` is configured (see :mod:`stationpipe.kernel.health`)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class RulesMetrics:
    """Messages in (by outcome), readings evaluated, warning changes (by change), instances active (by
    level), outbox rows pending (by sink), deliveries (by sink and outcome), derived results published and
    dropped, and the time to evaluate and commit one message."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.messages = Counter("rules_messages", "readings messages received", ["outcome"], registry=r)
        self.readings = Counter("rules_readings_evaluated", "readings evaluated", registry=r)
        self.changes = Counter("rules_warning_changes", "warning lifecycle changes", ["change"], registry=r)
        self.active = Gauge("rules_instances_active", "warning instances firing", ["level"], registry=r)
        self.outbox = Gauge(
            "rules_outbox_pending", "notifications waiting for delivery", ["sink"], registry=r
        )
        self.deliveries = Counter(
            "rules_deliveries", "notification delivery attempts", ["sink", "outcome"], registry=r
        )
        self.derived = Counter("rules_derived", "derived results", ["outcome"], registry=r)
        self.seconds = Histogram(
            "rules_message_seconds",
            "time to evaluate one readings message and commit its state, seconds",
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1),
            registry=r,
        )

    def value(self, name: str, **labels: str) -> float:
        """Current value of one sample (for tests); 0 when it was never set."""
        got = self.registry.get_sample_value(name, labels)
        return 0.0 if got is None else got
