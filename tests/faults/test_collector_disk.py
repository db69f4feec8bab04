"""The collector's spool runs out of room while InfluxDB is down: its disk fills (a tmpfs), or its own
byte bound is reached. Messages then stay unacknowledged in the broker; nothing is lost."""

from __future__ import annotations

import pytest

from tests.faults import drills_disk
from tests.faults.checks import nothing_lost
from tests.faults.harness import TIMEOUT, Plan

pytestmark = [pytest.mark.integration, pytest.mark.timeout(TIMEOUT)]


def test_collector_spool_disk_full(plan: Plan) -> None:
    """A 128 KiB tmpfs as the collector's state_dir (root only; otherwise the byte bound, said so)."""
    out = drills_disk.collector_disk_full(plan, size_kib=128)
    nothing_lost(out)
    assert out.seen["collector log mentions a full spool or disk"] is True, out.seen
    if drills_disk.can_mount():  # the tmpfs did fill up (a page or two may be left)
        free = out.seen["free bytes on the spool's disk at the end of the outage"]
        assert isinstance(free, int), out.seen
        assert free <= 8192, out.seen


def test_collector_spool_byte_bound(plan: Plan) -> None:
    """A 2 KiB bound: the spool stores compressed batches, and shortest-decimal values compress well
    enough that ten seconds of two stations stayed under 4 KiB."""
    out = drills_disk.collector_disk_full(plan, size_kib=2, disk="bound")
    nothing_lost(out)
    assert out.seen["collector log mentions a full spool or disk"] is True, out.seen
