"""The human side of a warning: 预警发布 → 核实 → 处置 → 解除 (issued → verified → responding → lifted).

Pure: :func:`apply` checks one operator's action against an instance and changes its human state, or
raises :class:`ActionRefusedError` with the reason (the API's 409). The transitions are data (:data:`MOVES`):

===========  ==========================  ===================  ==============================================
action       from                        to                   also
===========  ==========================  ===================  ==============================================
acknowledge  any open state              (unchanged)          once per episode
note         any state, closed included  (unchanged)          needs a note
assign       any open state              (unchanged)          needs an operator's name
verify       issued                      verified             acknowledges
respond      verified                    responding           acknowledges
false_alarm  issued, verified            false_alarm          acknowledges; closes
lift         verified, responding        lifted               acknowledges; closes; only once resolved
===========  ==========================  ===================  ==============================================

Only instances that fired are warnings; a pending instance is not issued yet.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from stationpipe.kernel.errors import RejectedError
from stationpipe.kernel.messages import Handling, WarningAction
from stationpipe.rules.lifecycle import Instance, Phase


class Action(StrEnum):
    """What an operator can do to a warning."""

    ACKNOWLEDGE = "acknowledge"
    NOTE = "note"
    ASSIGN = "assign"
    VERIFY = "verify"
    RESPOND = "respond"
    FALSE_ALARM = "false_alarm"
    LIFT = "lift"


class ActionRefusedError(RejectedError):
    """The action does not fit the warning's state (HTTP 409); the message says why."""


#: action -> (the human states it may start from, the state it leads to)
MOVES: dict[Action, tuple[frozenset[Handling], Handling]] = {
    Action.VERIFY: (frozenset({Handling.ISSUED}), Handling.VERIFIED),
    Action.RESPOND: (frozenset({Handling.VERIFIED}), Handling.RESPONDING),
    Action.FALSE_ALARM: (frozenset({Handling.ISSUED, Handling.VERIFIED}), Handling.FALSE_ALARM),
    Action.LIFT: (frozenset({Handling.VERIFIED, Handling.RESPONDING}), Handling.LIFTED),
}
_HINT = {
    Action.RESPOND: "verify it first (核实)",
    Action.LIFT: "verify it first (核实), or mark it a false alarm",
}
NAMES = {
    Action.ACKNOWLEDGE: ("确认收到", "Acknowledge"),
    Action.NOTE: ("备注", "Add note"),
    Action.ASSIGN: ("指派", "Assign"),
    Action.VERIFY: ("核实", "Verify"),
    Action.RESPOND: ("处置", "Respond"),
    Action.FALSE_ALARM: ("误报", "False alarm"),
    Action.LIFT: ("解除", "Lift"),
}
STATES = {
    Handling.ISSUED: ("预警发布", "issued"),
    Handling.VERIFIED: ("已核实", "verified"),
    Handling.RESPONDING: ("处置中", "responding"),
    Handling.LIFTED: ("已解除", "lifted"),
    Handling.FALSE_ALARM: ("误报", "false alarm"),
}


@dataclass(frozen=True, slots=True)
class Request:
    """One operator's action: who, what, and its note or assignee."""

    user: str
    action: Action
    note: str | None = None
    assignee: str | None = None


def _when(epoch: float | None) -> str:
    return "?" if epoch is None else datetime.fromtimestamp(epoch, UTC).isoformat().replace("+00:00", "Z")


def check(inst: Instance, req: Request, operators: frozenset[str]) -> None:
    """Raise :class:`ActionRefusedError` unless ``req`` may be applied to ``inst`` now."""
    if not inst.fired:
        raise ActionRefusedError(f"not issued: the warning is {inst.phase.value} and has not fired")
    if req.action is Action.NOTE:
        if not (req.note or "").strip():
            raise ActionRefusedError("a note needs text")
        return
    if inst.handling.closed:
        raise ActionRefusedError(f"closed ({inst.handling.value}): only notes can be added")
    if req.action is Action.ACKNOWLEDGE and inst.acknowledged:
        raise ActionRefusedError(
            f"already acknowledged by {inst.acknowledged_by} at {_when(inst.acknowledged_at)}"
        )
    if req.action is Action.ASSIGN and req.assignee not in operators:
        raise ActionRefusedError(f"cannot assign to {req.assignee!r}: not an operator")
    move = MOVES.get(req.action)
    if move is None:
        return
    sources, _ = move
    if inst.handling not in sources:
        hint = _HINT.get(req.action, "")
        raise ActionRefusedError(
            f"cannot {req.action.value} a warning that is {inst.handling.value}"
            + (f": {hint}" if hint else "")
        )
    if req.action is Action.LIFT and inst.phase is not Phase.RESOLVED:
        raise ActionRefusedError(
            f"still {inst.phase.value}: a warning is lifted once the engine has resolved it "
            "(or mark it a false alarm)"
        )


def apply(inst: Instance, req: Request, operators: frozenset[str], now: float) -> WarningAction:
    """Check and apply ``req`` to ``inst`` at ``now`` (epoch s, wall clock); the record of what was done."""
    check(inst, req, operators)
    move = MOVES.get(req.action)
    if move is not None:
        inst.handling = move[1]
    if req.action is Action.ASSIGN:
        inst.assignee = req.assignee
    if req.action is not Action.NOTE and req.action is not Action.ASSIGN and not inst.acknowledged:
        inst.acknowledged_by, inst.acknowledged_at = req.user, now
    return WarningAction(
        station=inst.station,
        rule=inst.topic_rule,
        started=datetime.fromtimestamp(inst.since or now, UTC),
        action=req.action.value,
        user=req.user,
        ts=datetime.fromtimestamp(now, UTC),
        handling=inst.handling,
        level=max(inst.level, 1),
        note=(req.note or "").strip() or None,
        assignee=req.assignee if req.action is Action.ASSIGN else None,
    )
