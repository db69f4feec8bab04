"""The rules engine behind a backlog (issue 24, "Scale and survive"): the messages already received are
evaluated together, committed in one transaction and acknowledged in one write, and the warnings still
reach the broker, every one, each instance's in order."""

from __future__ import annotations

import asyncio
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from stationpipe.kernel import wire
from stationpipe.kernel.messages import AlertState
from stationpipe.kernel.reading import Reading, StationMessage
from stationpipe.testbed.services import Services, free_port
from tests.integration.rules_helpers import engine, listening, rules_config, wait_for

pytestmark = pytest.mark.integration
EPISODES = 60  # w1 fires and resolves 60 times
FLOOD = 20  # quiet readings messages of the air station between two w1 messages


def _metric(port: int, name: str) -> float:
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(name + " "))


async def test_warnings_in_order_from_a_backlog_of_readings(services: Services, tmp_path: Path) -> None:
    port = free_port()
    cfg = rules_config(services, tmp_path, shared=False, metrics={"port": port})
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)  # recent: never backfilled
    messages = []
    for i in range(2 * EPISODES):
        ts = start + timedelta(seconds=i)
        value = 1.2 if i % 2 == 0 else 0.5  # exceeds class III, then clean: fires, resolves
        messages.append(StationMessage("w1", "dev", i, ts, (Reading("w1", "nh3n", value, "mg/L", ts),)))
        for j in range(FLOOD):
            air = (Reading("a1", "pm25", 35.0, "ug/m3", ts),)
            messages.append(StationMessage("a1", "dev", i * FLOOD + j, ts, air))
    async with listening(services) as (found, client):
        async with engine(cfg):  # subscribes its persistent session, then stops
            pass
        # The whole flood waits in the broker for the engine's session, which then takes it at once.
        await asyncio.gather(*(client.publish(*wire.encode(m), qos=1) for m in messages))
        async with engine(cfg):
            await wait_for(lambda: len(found.warnings) >= 2 * EPISODES, "every warning", within=60)
            evaluated = 'stationpipe_rules_messages_total{outcome="evaluated"}'
            await wait_for(lambda: _metric(port, evaluated) >= len(messages), "every message evaluated")
            batches = _metric(port, "stationpipe_rules_batch_messages_count")
            taken = _metric(port, "stationpipe_rules_batch_messages_sum")
    assert taken == len(messages)
    assert batches < len(messages) / 5, f"{taken:.0f} messages in {batches:.0f} batches: not taken together"
    w1 = [w for w in found.warnings if w.station == "w1"]
    assert len(w1) == 2 * EPISODES
    assert [w.state for w in w1] == [AlertState.FIRING, AlertState.RESOLVED] * EPISODES
    assert [w.ts for w in w1] == [start + timedelta(seconds=i) for i in range(2 * EPISODES)]
