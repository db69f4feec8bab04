"""What the channels people read (DingTalk, WeCom, SMS, e-mail) share: routes, grouping, quiet hours,
rate limits, on top of the durable outbox every channel has.

Routing happens when a notification is committed: one outbox row per *target*, ``<route>`` (a message to a
group chat or a mailing list) or ``<route>/<recipient>`` (a channel that sends to one recipient at a time:
SMS), with the id ``<notification id>><target>`` and the target in the body (``"target"``). So a warning
two routes want is two rows, each delivered (and retried) on its own.

The channel's drain (:func:`stationpipe.rules.delivery.drain_people`) asks :meth:`PeopleChannel.plan`
what is due now: per target, the rows waiting in the outbox become one :class:`Message` once the oldest has
waited ``group_window`` (a burst of fifty is one message listing them), unless

- the route's quiet hours are on: only urgent rows (red by default, not resolutions) are due; the others
  stay in the outbox and go out, grouped, when the window ends;
- the recipient's rate limit is used up: the rows wait and are merged into the next message it allows
  (nothing is dropped; the count of sends per recipient is a fact in the state file, so a restart does not
  reset it).

Escalation stops once a warning is acknowledged: once an operator acknowledged an episode (the body's
``acknowledged``), its changes are no longer routed to people (:func:`silenced`) except its resolution and
a rise to red (a new response tier, of which nobody has been told yet); the rows of the episode still
waiting when the acknowledgement is committed are withdrawn in that transaction (:func:`withdrawn`), except
a resolution. The machine channels (MQTT, webhook, Alertmanager) are not affected.

A message's idempotency key is a hash of the row ids it carries: sent again after a crash, it is the same
message with the same key. A row leaves the outbox only when the message that carried it was accepted.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from stationpipe.rules.channel_models import PeopleSettings, Route
from stationpipe.rules.channels.base import Body, SendsOnce, fired
from stationpipe.rules.state import Queued

log = logging.getLogger(__name__)
#: The level whose rise still reaches people after an acknowledgement (red).
RED = 4
#: Fact key prefix of the recent sends of one recipient: ``rate/<channel>/<recipient>`` -> [epoch, …].
RATE = "rate/"


@dataclass(frozen=True, slots=True)
class Message:
    """One message to send: the outbox rows it carries (oldest first) and who it goes to."""

    channel: str
    target: str
    route: Route
    recipients: tuple[str, ...]
    rows: tuple[Queued, ...]

    @property
    def bodies(self) -> list[Body]:
        """The notifications it lists, oldest first."""
        return [row.body for row in self.rows]

    @property
    def key(self) -> str:
        """The idempotency key: the same rows always make the same key."""
        digest = hashlib.sha256("\n".join(row.id for row in self.rows).encode()).hexdigest()
        return f"{self.channel}-{digest[:32]}"

    @property
    def rate_key(self) -> str:
        """Whose rate limit it counts against: the recipient, or the route for a group message."""
        return self.target.partition("/")[2] or self.target


@dataclass
class Plan:
    """What is due now, what no longer has a route, and when to look again."""

    ready: list[Message] = field(default_factory=list)
    dropped: list[Queued] = field(default_factory=list)
    wake_at: float | None = None

    def later(self, at: float) -> None:
        """Look again no later than ``at``."""
        self.wake_at = at if self.wake_at is None else min(self.wake_at, at)


def episode(body: Body) -> str:
    """The warning episode a notification belongs to: ``<station>/<rule>/<started ms>``."""
    return str(body["id"]).rsplit("/", 2)[0]


def silenced(body: Body) -> bool:
    """A change of an acknowledged episode that people are no longer told about: all but its resolution
    and a rise to red."""
    if not body.get("acknowledged") or body["state"] == "resolved":
        return False
    return not (body["change"] == "escalated" and int(body["level"]) >= RED)


def withdrawn(rows: list[Queued], acknowledged: str) -> list[int]:
    """The waiting rows (seq) of the ``acknowledged`` episode that are no longer to be sent: all but its
    resolution (the operator has seen the state they acknowledged)."""
    return [row.seq for row in rows if episode(row.body) == acknowledged and row.body["state"] != "resolved"]


def wanted(body: Body, settings: PeopleSettings | None) -> bool:
    """A change people are told about (fired, or pending with ``include_pending``; not :func:`silenced`)
    that a route matches."""
    if settings is None or silenced(body):
        return False
    if not (fired(body) or (settings.include_pending and body["change"] == "pending")):
        return False
    return any(route.matches(body) for route in settings.routes)


def targets(body: Body, settings: PeopleSettings | None, *, per_recipient: bool) -> list[str]:
    """The targets of a notification: each matching route, or each recipient of it."""
    if not wanted(body, settings):
        return []
    assert settings is not None
    routes = [route for route in settings.routes if route.matches(body)]
    if per_recipient:
        return [f"{route.name}/{who}" for route in routes for who in route.recipients]
    return [route.name for route in routes]


def allowed_at(sends: list[float], settings: PeopleSettings, now: float) -> float:
    """When the next message to a recipient with these recent sends may go (``now`` if it may)."""
    limit = settings.rate_limit
    if limit is None:
        return now
    per = limit.per.total_seconds()
    recent = sorted(t for t in sends if t > now - per)
    if len(recent) < limit.count:
        return now
    return recent[len(recent) - limit.count] + per


class PeopleChannel(SendsOnce):
    """A channel people read: ``deliver`` one :class:`Message` through the provider's ``post``."""

    concurrent = False

    def __init__(
        self,
        name: str,
        settings: PeopleSettings,
        post: Callable[[Message], Awaitable[None]],
        close: Callable[[], Awaitable[None]],
    ) -> None:
        self.name = name
        self.settings = settings
        self.post = post
        self.close = close

    async def aclose(self) -> None:
        """Release the provider's connections."""
        await self.close()

    async def deliver(self, message: Message) -> None:
        """Send one message; ``TransientError`` to retry, ``RejectedError`` to drop."""
        await self.post(message)

    async def send(self, body: Body) -> None:
        """One notification alone, not grouped (the :class:`Channel` protocol; the drain uses ``plan``)."""
        target = str(body.get("target", self.settings.routes[0].name))
        route = self.settings.route(target.partition("/")[0]) or self.settings.routes[0]
        row = Queued(0, f"{body['id']}>{target}", body, 0)
        await self.post(Message(self.name, target, route, _recipients(route, target), (row,)))

    def plan(self, rows: list[Queued], now: float, sends: dict[str, list[float]]) -> Plan:
        """The messages due at ``now`` from the waiting ``rows``; ``sends``: recent sends per recipient."""
        plan = Plan()
        groups: dict[str, list[Queued]] = {}
        for row in rows:
            groups.setdefault(str(row.body.get("target", "")), []).append(row)
        window = self.settings.group_window.total_seconds()
        for target, group in groups.items():
            route = self.settings.route(target.partition("/")[0])
            if route is None:
                plan.dropped.extend(group)
                continue
            due = self._unquiet(route, group, now, plan)
            if not due:
                continue
            recipients = _recipients(route, target)
            message = Message(self.name, target, route, recipients, tuple(due))
            at = max(
                min(row.queued for row in due) + window,
                allowed_at(sends.get(message.rate_key, []), self.settings, now),
            )
            if at > now:
                plan.later(at)
                continue
            plan.ready.append(message)
        return plan

    def _unquiet(self, route: Route, group: list[Queued], now: float, plan: Plan) -> list[Queued]:
        quiet = self.settings.quiet_of(route)
        if quiet is None or not quiet.active(now):
            return group
        plan.later(quiet.ends(now))
        return [row for row in group if quiet.urgent(row.body)]

    def counted(self, message: Message, now: float, sends: dict[str, list[float]]) -> dict[str, Any]:
        """The facts to commit with a delivered message: its recipient's recent sends, this one added."""
        limit = self.settings.rate_limit
        if limit is None:
            return {}
        per = limit.per.total_seconds()
        recent = [t for t in sends.get(message.rate_key, []) if t > now - per] + [now]
        sends[message.rate_key] = recent
        return {f"{RATE}{self.name}/{message.rate_key}": recent}


def _recipients(route: Route, target: str) -> tuple[str, ...]:
    who = target.partition("/")[2]
    return (who,) if who else route.recipients
