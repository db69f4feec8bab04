"""Operators' actions applied to the engine's instances: checked, journaled, published, in one commit.

One action is one :meth:`stationpipe.rules.state.State.commit`: the instance with its new human state,
the journal entry (who, what, when), the republished retained ``warnings/<station>/<rule>`` state (the
``mqtt`` channel's outbox; stamped with the last machine change's instant, so the collector rewrites that
point and an action never counts as a warning event) and the ``warnings/actions/<station>/<rule>``
record (the ``actions`` outbox, drained by the engine like a channel). A crash after the commit loses
nothing; before it, nothing happened.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from stationpipe.kernel import wire
from stationpipe.kernel.errors import BrokerUnavailableError, RejectedError
from stationpipe.kernel.messages import WarningAction
from stationpipe.kernel.mqtt import QOS
from stationpipe.kernel.registry import StationInfo
from stationpipe.rules.channels import Link
from stationpipe.rules.handling.accounts import Accounts
from stationpipe.rules.handling.workflow import ActionRefusedError, Request, apply
from stationpipe.rules.lifecycle import Change, Instance, Phase
from stationpipe.rules.notify import Notification, notification
from stationpipe.rules.state import Batch, State

#: The outbox of the action records (``warnings/actions/…``); the engine drains it like a channel's.
ACTIONS = "actions"
#: The channel that republishes the retained state with the human state.
RETAINED = "mqtt"


class UnknownWarningError(RejectedError):
    """No warning by that name (HTTP 404)."""


def journal_change(note: Notification) -> tuple[str, dict[str, Any]]:
    """The journal entry of one machine change: ``(episode, entry)``."""
    entry = {
        "kind": "change",
        "change": note.change.value,
        "state": note.state.value,
        "level": note.level,
        "value": note.value,
        "limit": note.limit,
        "ts": wire.rfc3339(note.ts),
        "message": {"zh": note.message_zh, "en": note.message_en},
    }
    return note.id.rsplit("/", 2)[0], entry


def _journal_action(record: WarningAction) -> dict[str, Any]:
    return {
        "kind": "action",
        "action": record.action,
        "user": record.user,
        "ts": wire.rfc3339(record.ts),
        "handling": record.handling.value,
        "note": record.note,
        "assignee": record.assignee,
    }


def current(inst: Instance, info: StationInfo | None, now: float) -> Notification:
    """The instance's present state as a notification (for the retained topic and the API)."""
    if inst.phase is Phase.RESOLVED:
        return notification(inst, Change.RESOLVED, info, now)
    return notification(inst, Change.FIRING, info, now)


@dataclass
class Desk:
    """What the API and the page act on: the running engine's instances, state and accounts."""

    state: State
    instances: Callable[[], Mapping[str, Instance]]
    stations: Callable[[], Mapping[str, StationInfo]]
    accounts: Accounts
    wake: Callable[[Iterable[str]], None]

    def warnings(self, *, closed: bool = False) -> list[Instance]:
        """Instances that fired (warnings), the open ones only unless ``closed``; highest level first."""
        found = [i for i in self.instances().values() if i.fired and (closed or not i.handling.closed)]
        return sorted(found, key=lambda i: (-i.level, -(i.since or 0.0), i.key))

    def find(self, episode: str) -> Instance:
        """The instance whose current episode is ``episode``; ``UnknownWarningError``, or
        ``ActionRefusedError`` when the instance has started again since."""
        station, _, rest = episode.partition("/")
        topic_rule = rest.rpartition("/")[0]
        same = [i for i in self.instances().values() if i.station == station and i.topic_rule == topic_rule]
        for inst in same:
            if inst.episode == episode and inst.fired:
                return inst
        if same and same[0].fired:
            raise ActionRefusedError(f"that warning episode is over: {station}/{topic_rule} started again")
        raise UnknownWarningError(f"no warning {episode!r}")

    def info(self, inst: Instance) -> StationInfo | None:
        """The station of an instance."""
        return self.stations().get(inst.station)

    def act(self, episode: str, request: Request) -> WarningAction:
        """Apply one action and commit it with its records (``ActionRefusedError``, ``UnknownWarningError``
        as :meth:`find`)."""
        inst = self.find(episode)
        now = time.time()
        before = Instance.from_json(inst.to_json())
        record = apply(before, request, self.accounts.operators(), now)
        body = current(before, self.info(before), self._changed_at(episode, now)).to_json()
        unique = f"{episode}/{record.action}@{round(now * 1e6)}"
        body["id"] = unique
        topic, payload = wire.encode(record)
        row = {
            "station": record.station,
            "instance": record.rule,
            "topic": topic,
            "payload": payload.decode(),
        }
        batch = Batch(
            {before.key: before},
            {},
            [(RETAINED, unique, body), (ACTIONS, unique, row)],
            {},
            [(episode, _journal_action(record))],
        )
        self.state.commit(batch)
        _copy(before, inst)  # the engine's instance changes only once the commit holds
        self.wake((RETAINED, ACTIONS))
        return record

    def _changed_at(self, episode: str, default: float) -> float:
        """The instant of the episode's last machine change: the republished state keeps it, so the
        collector rewrites that point with the human fields rather than adding a warning event."""
        changes = [e for e in self.state.journal(episode) if e["kind"] == "change"]
        return datetime.fromisoformat(changes[-1]["ts"]).timestamp() if changes else default

    def course(self, inst: Instance) -> list[dict[str, Any]]:
        """The episode's journal: machine changes and operators' actions, oldest first."""
        return self.state.journal(inst.episode)


def _copy(source: Instance, target: Instance) -> None:
    target.handling, target.assignee = source.handling, source.assignee
    target.acknowledged_by, target.acknowledged_at = source.acknowledged_by, source.acknowledged_at


def action_sender(link: Link, timeout: float) -> Callable[[dict[str, Any]], Awaitable[None]]:
    """The ``actions`` outbox's send: publish the record at QoS 1 (not retained) on the engine's link."""

    async def send(row: dict[str, Any]) -> None:
        client = link()
        if client is None:
            raise BrokerUnavailableError("not connected to the broker")
        try:
            async with asyncio.timeout(timeout):
                await client.publish(row["topic"], row["payload"].encode(), qos=QOS)
        except (BrokerUnavailableError, TimeoutError) as exc:
            raise BrokerUnavailableError(f"publish {row['topic']}: {exc or 'timed out'}") from exc

    return send
