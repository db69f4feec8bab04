"""An edge's uplink cut: the spool grows and drains in order; a spool too small drops its oldest only."""

from __future__ import annotations

import pytest

from stationpipe.testbed.proxy import Cut
from tests.faults import drills_edge
from tests.faults.checks import nothing_lost, only_the_oldest_dropped
from tests.faults.harness import TIMEOUT, Plan

pytestmark = [pytest.mark.integration, pytest.mark.timeout(TIMEOUT)]


@pytest.mark.parametrize("kind", ["blackhole", "reject"])
def test_uplink_cut_spool_grows_and_drains_in_order(plan: Plan, kind: Cut) -> None:
    out = drills_edge.uplink_cut(plan, kind)
    nothing_lost(out)
    peak = out.seen["spool depth grew to"]
    produced_during_cut = plan.seconds / plan.interval * 2  # two devices, one message per poll each
    assert isinstance(peak, int), out.seen
    assert peak >= produced_during_cut * 0.7, out.seen
    assert out.seen["drained"] is True, out.seen
    assert out.seen["arrived in seq order (backlog and live lanes)"] is True, out.seen


def test_edge_spool_full_drops_the_oldest_and_counts_them(plan: Plan) -> None:
    only_the_oldest_dropped(drills_edge.edge_spool_full(plan, max_messages=10))
