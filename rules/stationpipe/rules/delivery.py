"""Delivery of warnings: a durable outbox per channel (:mod:`stationpipe.rules.state`), drained with backoff.

The channels (what a notification goes to, and how each sends it) are in :mod:`stationpipe.rules.channels`;
this module is what they all share. A row leaves the outbox only once its channel confirmed it, so a
receiver that is down gets everything when it is back, in order, each row once per id.
:func:`drain` sends row by row; :func:`drain_people` sends the grouped messages of the channels people read
(:mod:`stationpipe.rules.channels.people`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from stationpipe.kernel.backoff import Backoff
from stationpipe.kernel.errors import RejectedError, TransientError
from stationpipe.rules.channels.people import RATE, Message, PeopleChannel
from stationpipe.rules.state import Queued, State

log = logging.getLogger(__name__)

_BATCH = 50

Send = Callable[[dict[str, Any]], Awaitable[None]]
#: Called with a row's ``seq`` once it is done (delivered, or rejected for good).
Settled = Callable[[int], None]


def _unsettled(_seq: int) -> None:
    """For :func:`_attempt` without a state: the caller settles what it returns."""


async def _in_order(send: Send, rows: list[Queued], settled: Settled) -> list[Exception | None]:
    """Send ``rows`` one after another, stopping at the first transient failure; each row delivered or
    rejected for good is ``settled`` at once, so an engine stopped mid-batch sends again at most the row
    in flight (of each instance), not every row its batch delivered."""
    results: list[Exception | None] = []
    for row in rows:
        try:
            await send(row.body)
        except (TransientError, RejectedError) as exc:
            results.append(exc)
            if isinstance(exc, TransientError):
                break
        else:
            results.append(None)
        settled(row.seq)
    return results


def _instance(row: Queued) -> str:
    return f"{row.body['station']}/{row.body['instance']}"


async def _attempt(
    send: Send, rows: list[Queued], *, concurrent: bool, settled: Settled = _unsettled
) -> tuple[list[int], Exception | None]:
    """Send rows in order up to the first transient failure, so a later state of an instance never
    overtakes an earlier one (a stale retained MQTT state, a receiver seeing 'escalated' first).
    ``concurrent``: instances in parallel, each instance's rows still in order.

    Returns the rows done (delivered, or rejected for good: logged; each passed to ``settled`` as soon
    as it was) and the transient failure, if any.
    """
    groups: dict[str, list[Queued]] = {}
    for row in rows:
        groups.setdefault(_instance(row) if concurrent else "", []).append(row)
    outcomes = await asyncio.gather(*(_in_order(send, group, settled) for group in groups.values()))
    done, failure = [], None
    for group, results in zip(groups.values(), outcomes, strict=True):
        for row, result in zip(group, results, strict=False):
            if isinstance(result, RejectedError):
                log.warning("rejected warning %s for good, dropped: %s", row.id, result)
            elif isinstance(result, TransientError):
                failure = failure or result
                continue
            done.append(row.seq)
    return done, failure


async def drain(
    state: State, sink: str, send: Send, wake: asyncio.Event, cap: float, *, concurrent: bool = False
) -> None:
    """Forever: deliver ``sink``'s rows oldest first, each instance's in order (``concurrent``: instances
    in parallel); retry transient failures with backoff (logged once per outage); drop a row its
    receiver rejects for good, with the reason."""
    backoff = Backoff(initial=0.2, cap=cap)
    down = False
    while True:
        rows = state.queued(sink, _BATCH)
        if not rows:
            wake.clear()
            if not state.queued(sink, 1):
                await wake.wait()
            continue
        done, failure = await _attempt(
            send, rows, concurrent=concurrent, settled=lambda s: state.delivered([s])
        )
        if failure is None:
            if down:
                log.info("%s delivery recovered", sink)
                down = False
            backoff.reset()
            continue
        for row in rows:
            if row.seq not in done:
                state.failed(row.seq)
        if not down:
            log.warning("%s delivery failing (%s); retrying with backoff", sink, failure)
            down = True
        await asyncio.sleep(backoff.next_delay(getattr(failure, "retry_after", None)))


_PEOPLE_BATCH = 1000
#: Look at held rows at least this often (quiet hours, rate limits, a route removed by a restart).
_PEOPLE_LOOK = 30.0


def _sends(state: State, channel: PeopleChannel) -> dict[str, list[float]]:
    prefix = f"{RATE}{channel.name}/"
    return {key.removeprefix(prefix): list(value) for key, value in state.facts(prefix).items()}


async def _wait(wake: asyncio.Event, until: float | None) -> None:
    timeout = _PEOPLE_LOOK if until is None else min(_PEOPLE_LOOK, max(0.05, until - time.time()))
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(timeout):
            await wake.wait()


async def _send_due(
    state: State,
    channel: PeopleChannel,
    deliver: Callable[[Message], Awaitable[None]],
    ready: list[Message],
    clock: tuple[float, dict[str, list[float]]],
) -> TransientError | None:
    """Send ``ready`` in order up to the first transient failure (returned); ``clock``: now, recent sends."""
    now, sends = clock
    for message in ready:
        seqs = [row.seq for row in message.rows]
        try:
            await deliver(message)
        except RejectedError as exc:
            log.warning(
                "%s rejected message %s (%d warnings), dropped: %s", channel.name, message.key, len(seqs), exc
            )
            state.settle(seqs, {})
            continue
        except TransientError as exc:
            for seq in seqs:
                state.failed(seq)
            return exc
        state.settle(seqs, channel.counted(message, now, sends))
    return None


async def drain_people(
    state: State,
    channel: PeopleChannel,
    deliver: Callable[[Message], Awaitable[None]],
    wake: asyncio.Event,
    cap: float,
) -> None:
    """Forever: send the messages :meth:`PeopleChannel.plan` says are due, each once accepted removing the
    rows it carried (and counting it against its recipient's rate limit) in one transaction; retry a
    transient failure with backoff; drop a message its receiver rejects for good, with the reason."""
    sink = channel.name
    backoff = Backoff(initial=0.2, cap=cap)
    down = False
    while True:
        wake.clear()
        now = time.time()
        sends = _sends(state, channel)
        plan = channel.plan(state.queued(sink, _PEOPLE_BATCH), now, sends)
        if plan.dropped:
            log.warning("%s: %d warnings whose route is gone, dropped", sink, len(plan.dropped))
            state.delivered(row.seq for row in plan.dropped)
        failure = await _send_due(state, channel, deliver, plan.ready, (now, sends))
        if failure is not None:
            if not down:
                log.warning("%s delivery failing (%s); retrying with backoff", sink, failure)
                down = True
            await asyncio.sleep(backoff.next_delay(failure.retry_after))
            continue
        if down:
            log.info("%s delivery recovered", sink)
            down = False
        backoff.reset()
        if not plan.ready:
            await _wait(wake, plan.wake_at)
