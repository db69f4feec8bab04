"""Faults at a station: its clock runs ahead; a Modbus device dies and comes back."""

from __future__ import annotations

from typing import Literal

import pytest

from tests.faults import drills_edge
from tests.faults.checks import nothing_lost
from tests.faults.harness import TIMEOUT, Plan

pytestmark = [pytest.mark.integration, pytest.mark.timeout(TIMEOUT)]
SKEW = 300.0  # seconds; the collector marks readings more than clock.max_ahead (60 s) ahead


def test_clock_skew_future_readings_are_stored_marked(plan: Plan) -> None:
    out = drills_edge.clock_skew(plan, skew=SKEW)
    nothing_lost(out)
    fast = "fk-clock-00"
    ahead = {key: fields[2] for key, fields in out.found.items()}
    assert all(isinstance(v, float) and abs(v - SKEW) < 5.0 for k, v in ahead.items() if k[0] == fast), (
        out.seen
    )
    assert all(v is None for k, v in ahead.items() if k[0] != fast), out.seen


@pytest.mark.parametrize("how", ["silent", "sim-kill"])
def test_modbus_device_dies_and_comes_back(plan: Plan, how: Literal["silent", "sim-kill"]) -> None:
    out = drills_edge.device_dies(plan, how)
    nothing_lost(out)
    flagged = out.seen["flag B during the outage"]
    assert isinstance(flagged, dict), out.seen
    assert flagged["fk-dev-00", "nutrients"] > 0, out.seen
    if how == "silent":  # a dead unit never stalls its neighbour on the same line
        assert flagged["fk-dev-00", "sonde"] == 0, out.seen
    else:
        assert all(n > 0 for n in flagged.values()), out.seen
