"""Prometheus metrics of one rules engine, on its own registry, named ``stationpipe_rules_*`` and served on
``/metrics`` when ``[metrics]`` is configured (:mod:`stationpipe.kernel.metrics`)."""

from __future__ import annotations

from stationpipe.kernel.metrics import ComponentMetrics


class RulesMetrics(ComponentMetrics):
    """Messages in (by outcome), readings evaluated, warning changes (by change), instances active (by
    level), outbox rows pending (by sink), deliveries (by sink and outcome), derived results published and
    dropped, the time to evaluate one message, and how many messages were committed and acknowledged
    together."""

    def __init__(self) -> None:
        super().__init__("rules")
        self.messages = self.counter("messages", "readings messages received", ["outcome"])
        self.readings = self.counter("readings_evaluated", "readings evaluated")
        self.changes = self.counter("warning_changes", "warning lifecycle changes", ["change"])
        self.active = self.gauge("instances_active", "warning instances firing", ["level"])
        self.outbox = self.gauge("outbox_pending", "notifications waiting for delivery", ["sink"])
        self.deliveries = self.counter("deliveries", "notification delivery attempts", ["sink", "outcome"])
        self.derived = self.counter("derived", "derived results", ["outcome"])
        self.seconds = self.histogram(
            "message_seconds",
            "time to evaluate one readings message, seconds (its commit is shared with its batch)",
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1),
        )
        self.batch = self.histogram(
            "batch_messages",
            "messages received together, committed in one transaction and acknowledged in one write",
            buckets=(1, 2, 5, 10, 20, 50, 100, 200),
        )
