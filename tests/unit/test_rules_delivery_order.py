"""Outbox delivery keeps each warning instance's states in order, even when sent concurrently."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from stationpipe.kernel.errors import BrokerUnavailableError
from stationpipe.rules.delivery import _attempt
from stationpipe.rules.state import Queued


def _row(seq: int, instance: str, level: int) -> Queued:
    body = {"station": "w1", "instance": instance, "level": level}
    return Queued(seq, f"{instance}/{level}", body, 0)


async def test_a_failed_state_is_not_overtaken_by_a_later_state_of_its_instance() -> None:
    sent: list[tuple[str, int]] = []

    async def send(body: dict[str, Any]) -> None:
        if (body["instance"], body["level"]) == ("section.nh3n", 1):
            raise BrokerUnavailableError("publish timed out")
        sent.append((body["instance"], body["level"]))

    rows = [_row(1, "section.nh3n", 1), _row(2, "section.tp", 1), _row(3, "section.nh3n", 2)]
    done, failure = await _attempt(send, rows, concurrent=True)
    assert sent == [("section.tp", 1)]  # nh3n level 2 waits for level 1's retry
    assert done == [2]
    assert isinstance(failure, BrokerUnavailableError)


async def test_each_row_is_settled_as_soon_as_it_is_delivered() -> None:
    settled: list[int] = []

    async def send(body: dict[str, Any]) -> None:
        if body["level"] == 3:
            raise asyncio.CancelledError  # the engine stopped while this row was in flight
        assert settled == list(range(1, body["level"])), "the rows before it left the outbox first"

    rows = [_row(1, "section.nh3n", 1), _row(2, "section.nh3n", 2), _row(3, "section.nh3n", 3)]
    with pytest.raises(asyncio.CancelledError):
        await _attempt(send, rows, concurrent=False, settled=settled.append)
    assert settled == [1, 2]  # a restart sends row 3 again, not rows 1 and 2
