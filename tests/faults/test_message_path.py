"""Faults on the message path: the broker, the database, the collector and an edge die and come back.

The counting is described in tests/faults/ledger.py (readings) and tests/faults/warnings.py (warnings).
"""

from __future__ import annotations

import pytest

from tests.faults import drills
from tests.faults.checks import nothing_lost
from tests.faults.harness import TIMEOUT, Plan

pytestmark = [pytest.mark.integration, pytest.mark.timeout(TIMEOUT)]


def test_broker_sigkill_during_a_pollution_event(plan: Plan) -> None:
    """Single-instance consumers (plain persistent subscriptions, which the broker restores)."""
    nothing_lost(drills.broker_kill(plan))


def test_broker_sigkill_with_two_partitioned_collectors(plan: Plan) -> None:
    """Two collector instances, each owning half of the stations through plain per-station subscriptions
    (``[partition]``), which the broker restores with their sessions: nothing is lost. (Shared
    subscriptions, which Mosquitto 2.0 forgets on a restart, are ``bench.faults_soak --fault
    broker-kill-shared``: docs/broker_restart.md.)"""
    nothing_lost(drills.broker_kill(plan, collectors=2))


def test_one_partitioned_collector_down(plan: Plan) -> None:
    nothing_lost(drills.partition_down(plan))


def test_influxdb_down(plan: Plan) -> None:
    nothing_lost(drills.influx_down(plan))


def test_collector_sigkill(plan: Plan) -> None:
    nothing_lost(drills.collector_kill(plan))


def test_edge_sigkill(plan: Plan) -> None:
    out = drills.edge_kill(plan)
    nothing_lost(out)
    assert out.seen["seqs contiguous"] is True, out.seen


def test_rules_engine_sigkill_during_a_pollution_event(plan: Plan) -> None:
    nothing_lost(drills.rules_kill(plan))
