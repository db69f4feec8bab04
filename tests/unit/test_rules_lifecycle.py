"""Each lifecycle transition, driven by outcomes at reading time."""

from __future__ import annotations

import pytest

from stationpipe.rules.kinds.base import Outcome, active, quiet
from stationpipe.rules.lifecycle import Change, Instance, Phase, Policy, no_data, step

ON1, ON2, ON3 = (active(n, 1.0, 1.0, "z", "e") for n in (1, 2, 3))
OFF, BAND = quiet(), quiet(clear=False)


def drive(outcomes: list[Outcome], policy: Policy, dt: float = 60) -> tuple[Instance, list[Change | None]]:
    inst = Instance("w1", "r", "nh3n")
    changes = [step(inst, o, i * dt, policy, 0.0) for i, o in enumerate(outcomes)]
    return inst, changes


P0 = Policy(0, 0, "keep", 3600)


@pytest.mark.parametrize(
    ("outcomes", "policy", "expected", "phase"),
    [
        ([ON2], P0, [Change.FIRING], Phase.FIRING),
        ([ON2, ON2, ON2], Policy(120, 0, "keep", 0), [Change.PENDING, None, Change.FIRING], Phase.FIRING),
        ([ON2, OFF], Policy(120, 0, "keep", 0), [Change.PENDING, Change.CANCELLED], Phase.RESOLVED),
        ([ON1, ON2, ON3], P0, [Change.FIRING, Change.ESCALATED, Change.ESCALATED], Phase.FIRING),
        ([ON3, ON1], P0, [Change.FIRING, Change.DEESCALATED], Phase.FIRING),
        ([ON2, BAND, BAND], P0, [Change.FIRING, None, None], Phase.FIRING),  # hysteresis holds it
        ([ON2, OFF], P0, [Change.FIRING, Change.RESOLVED], Phase.RESOLVED),
        (
            [ON2, OFF, OFF, OFF],
            Policy(0, 150, "keep", 0),
            [Change.FIRING, None, None, Change.RESOLVED],
            Phase.RESOLVED,
        ),
        ([ON2, OFF, ON2], P0, [Change.FIRING, Change.RESOLVED, Change.FIRING], Phase.FIRING),  # a new episode
        ([OFF, OFF], P0, [None, None], Phase.INACTIVE),
    ],
)
def test_transitions(
    outcomes: list[Outcome], policy: Policy, expected: list[Change | None], phase: Phase
) -> None:
    inst, changes = drive(outcomes, policy)
    assert changes == expected
    assert inst.phase is phase


def test_started_is_the_first_active_instant_and_ended_the_clear_one() -> None:
    inst, _ = drive([ON2, ON2, OFF], Policy(60, 0, "keep", 0))
    assert inst.since == 0
    assert inst.ended == 120
    assert inst.fired


def test_no_data_policy() -> None:
    inst, _ = drive([ON2], P0)
    assert no_data(inst, P0, 10_000) is None  # keep
    resolve = Policy(0, 0, "resolve", 3600)
    assert no_data(inst, resolve, 3000) is None
    assert no_data(inst, resolve, 3601) is Change.RESOLVED
    assert inst.en.startswith("no data")


def test_instance_round_trips_through_json() -> None:
    inst, _ = drive([ON2], P0)
    assert Instance.from_json(inst.to_json()) == inst
    assert inst.key == "w1/r/nh3n"
    assert inst.topic_rule == "r.nh3n"
