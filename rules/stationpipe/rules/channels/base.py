"""What every warning channel has in common: the :class:`Channel` protocol and the :class:`ChannelType` row.

A channel takes one notification (its JSON, :meth:`stationpipe.rules.notify.Notification.to_json`) and
delivers it, or raises what happens next: ``TransientError`` (the row stays in the channel's outbox and is
sent again with backoff, ``retry_after`` honoured) or ``RejectedError`` (the receiver will never take it:
dropped with the reason). Durability is not the channel's business: every channel has its own disk outbox
(:mod:`stationpipe.rules.state`), drained in order by :mod:`stationpipe.rules.delivery`; a row leaves it
only once ``send`` returned.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from stationpipe.kernel.mqtt import Client
from stationpipe.kernel.registry import StationInfo
from stationpipe.rules.config import Delivery, RulesConfig
from stationpipe.rules.lifecycle import Instance

#: A notification as the outbox keeps it and a channel sends it.
Body = dict[str, Any]
#: The engine's current broker connection (``None`` while disconnected), for channels that publish on it.
Link = Callable[[], Client | None]
#: The changes of an instance that reached firing (the ones most receivers want).
FIRED = frozenset({"firing", "escalated", "deescalated", "resolved"})


class Channel(Protocol):
    """One configured channel of a running engine."""

    @property
    def concurrent(self) -> bool:
        """Send different instances' rows in parallel (each instance's rows still in order)."""

    async def send(self, body: Body) -> None:
        """Deliver one notification; ``TransientError`` to retry, ``RejectedError`` to drop."""

    def resends(
        self, wall: datetime, instances: Iterable[Instance], stations: Mapping[str, StationInfo]
    ) -> list[tuple[str, Body]]:
        """On the engine's timer (``wall``: now): rows to queue again for this channel, ``(id, body)``;
        most channels send each change once and return ``[]``."""

    async def aclose(self) -> None:
        """Release connections."""


@dataclass(frozen=True, slots=True)
class ChannelType:
    """One row of :data:`stationpipe.rules.channels.CHANNELS`: how notifications are routed to the channel
    and how it is built.

    ``wants(body, delivery)`` is pure: does this notification go to this channel, given the ``[delivery]``
    settings (``False`` when the channel is not configured)? It is decided when the notification is
    committed, so its outbox row is written in the same transaction as the state that caused it.
    ``build(config, link)`` makes the running channel, or ``None`` when it is not configured.
    ``targets(body, delivery)``, for the channels people read (:mod:`~stationpipe.rules.channels.people`):
    the routes (or route/recipient pairs) the notification goes to, one outbox row each; ``None``: one row.
    """

    wants: Callable[[Body, Delivery], bool]
    build: Callable[[RulesConfig, Link], Channel | None]
    targets: Callable[[Body, Delivery], list[str]] | None = None


class SendsOnce:
    """For a channel that sends each change once: nothing to queue again on the timer."""

    def resends(
        self,
        wall: datetime,  # noqa: ARG002 - the protocol's signature
        instances: Iterable[Instance],  # noqa: ARG002
        stations: Mapping[str, StationInfo],  # noqa: ARG002
    ) -> list[tuple[str, Body]]:
        """Nothing: see :meth:`Channel.resends`."""
        return []


def fired(body: Body) -> bool:
    """True for the changes of an instance that reached firing (not pending, not cancelled)."""
    return body["change"] in FIRED
