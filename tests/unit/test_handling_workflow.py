"""The human workflow of a warning (预警发布 → 核实 → 处置 → 解除): every action from every state, as a table
typed again from the table in rules/handling/workflow.py and docs/domain.md."""

from __future__ import annotations

import re

import pytest

from stationpipe.kernel.messages import Handling
from stationpipe.rules.handling.workflow import Action, ActionRefusedError, Request, apply
from stationpipe.rules.kinds.base import Outcome
from stationpipe.rules.lifecycle import Instance, Phase, Policy, step

OPERATORS = frozenset({"li", "wang"})
ISSUED, V, R, L, F = (
    Handling.ISSUED,
    Handling.VERIFIED,
    Handling.RESPONDING,
    Handling.LIFTED,
    Handling.FALSE_ALARM,
)
#: (action, from, machine phase) -> the human state after, or the start of the 409's reason
TABLE = [
    (Action.ACKNOWLEDGE, ISSUED, Phase.FIRING, ISSUED),
    (Action.VERIFY, ISSUED, Phase.FIRING, V),
    (Action.VERIFY, V, Phase.FIRING, "cannot verify a warning that is verified"),
    (Action.RESPOND, ISSUED, Phase.FIRING, "cannot respond a warning that is issued: verify it first"),
    (Action.RESPOND, V, Phase.FIRING, R),
    (Action.FALSE_ALARM, ISSUED, Phase.FIRING, F),
    (Action.FALSE_ALARM, V, Phase.RESOLVED, F),
    (Action.FALSE_ALARM, R, Phase.FIRING, "cannot false_alarm a warning that is responding"),
    (Action.LIFT, ISSUED, Phase.RESOLVED, "cannot lift a warning that is issued: verify it first"),
    (Action.LIFT, V, Phase.FIRING, "still firing"),
    (Action.LIFT, V, Phase.RESOLVED, L),
    (Action.LIFT, R, Phase.RESOLVED, L),
    (Action.ASSIGN, R, Phase.FIRING, R),
    (Action.VERIFY, L, Phase.RESOLVED, "closed (lifted)"),
    (Action.ACKNOWLEDGE, F, Phase.FIRING, "closed (false_alarm)"),
    (Action.NOTE, L, Phase.RESOLVED, L),
]


def fired(handling: Handling, phase: Phase) -> Instance:
    inst = Instance("w1", "section", "nh3n", phase=phase, level=3, since=1_777_593_600.0, fired=True)
    inst.handling = handling
    return inst


@pytest.mark.parametrize(("action", "start", "phase", "outcome"), TABLE)
def test_transitions(action: Action, start: Handling, phase: Phase, outcome: Handling | str) -> None:
    inst = fired(start, phase)
    req = Request("li", action, note="采样 sampled", assignee="wang")
    if not isinstance(outcome, Handling):
        with pytest.raises(ActionRefusedError, match=f"^{re.escape(outcome)}"):
            apply(inst, req, OPERATORS, 1_777_600_000.0)
        assert inst.handling is start
        return
    record = apply(inst, req, OPERATORS, 1_777_600_000.0)
    assert inst.handling is outcome
    assert (record.action, record.user, record.handling, record.level) == (action.value, "li", outcome, 3)
    assert record.rule == "section.nh3n"


def test_acknowledgement_is_once_and_state_changes_acknowledge() -> None:
    inst = fired(ISSUED, Phase.FIRING)
    apply(inst, Request("wang", Action.VERIFY), OPERATORS, 10.0)
    assert (inst.acknowledged, inst.acknowledged_by, inst.acknowledged_at) == (True, "wang", 10.0)
    with pytest.raises(ActionRefusedError, match="already acknowledged by wang at 1970-01-01T00:00:10Z"):
        apply(inst, Request("li", Action.ACKNOWLEDGE), OPERATORS, 20.0)


def test_notes_and_assignments_do_not_acknowledge() -> None:
    inst = fired(ISSUED, Phase.FIRING)
    apply(inst, Request("li", Action.NOTE, note="看一下 looking"), OPERATORS, 10.0)
    apply(inst, Request("li", Action.ASSIGN, assignee="wang"), OPERATORS, 11.0)
    assert (inst.acknowledged, inst.assignee) == (False, "wang")


@pytest.mark.parametrize(
    ("req", "reason"),
    [
        (Request("li", Action.NOTE, note="  "), "a note needs text"),
        (Request("li", Action.ASSIGN, assignee="zhao"), "cannot assign to 'zhao': not an operator"),
        (Request("li", Action.ASSIGN), "cannot assign to None: not an operator"),
    ],
)
def test_actions_that_need_more_say_what(req: Request, reason: str) -> None:
    with pytest.raises(ActionRefusedError, match=re.escape(reason)):
        apply(fired(ISSUED, Phase.FIRING), req, OPERATORS, 1.0)


def test_a_pending_instance_is_not_a_warning_yet() -> None:
    inst = Instance("w1", "section", "nh3n", phase=Phase.PENDING, level=2, since=1.0)
    with pytest.raises(ActionRefusedError, match="not issued: the warning is pending"):
        apply(inst, Request("li", Action.ACKNOWLEDGE), OPERATORS, 2.0)


def human(inst: Instance) -> tuple[Phase, Handling, str | None, str | None]:
    return inst.phase, inst.handling, inst.acknowledged_by, inst.assignee


def test_a_new_episode_starts_the_human_state_afresh() -> None:
    inst = fired(R, Phase.RESOLVED)
    inst.acknowledged_by, inst.assignee = "li", "wang"
    step(inst, Outcome(2, False, 1.5, 1.0), 1_777_700_000.0, Policy(0, 0, "keep", 1), 1_777_700_000.0)
    assert human(inst) == (Phase.FIRING, ISSUED, None, None)
    restored = Instance.from_json(inst.to_json())
    assert restored == inst
