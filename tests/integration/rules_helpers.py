"""Helpers for the rules integration tests: a running engine, a broker listener, a webhook receiver."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiomqtt

from stationpipe.kernel import wire
from stationpipe.kernel.messages import WarningEvent
from stationpipe.kernel.reading import Reading, StationMessage
from stationpipe.rules.config import RulesConfig
from stationpipe.rules.engine import run
from stationpipe.testbed.services import Services, free_port
from tests.unit.rules_helpers import REGISTRY
from tests.waiting import service, until


def rules_config(services: Services, tmp: Path, **extra: Any) -> RulesConfig:
    """Engine config on the test broker; a section rule on NH3-N; state in ``tmp``."""
    (tmp / "registry.toml").write_text(REGISTRY, encoding="utf-8")
    doc: dict[str, Any] = {
        "group": f"rules{free_port()}",
        "registry": str(tmp / "registry.toml"),
        "state": str(tmp / "state.sqlite3"),
        "mqtt": {"port": services.mosquitto.port, "client_id": f"rules-{tmp.name[-20:]}"},
        "evaluation": {"tick": "0.2s"},
        "delivery": {"retry_cap": 1.0, **extra.pop("delivery", {})},
        "rules": [{"name": "section", "kind": "section", "parameters": ["nh3n"], "consecutive": 10}],
        **extra,
    }
    return RulesConfig.model_validate(doc)


@contextlib.asynccontextmanager
async def engine(config: RulesConfig) -> AsyncIterator[None]:
    """Run an engine in this loop until the block ends (it is subscribed when the block starts)."""
    async with service(lambda ready: run(config, ready)):
        yield


@dataclass
class Listener:
    """Everything received on ``warnings/#`` and ``derived/#``."""

    warnings: list[WarningEvent] = field(default_factory=list)
    derived: list[Any] = field(default_factory=list)


@contextlib.asynccontextmanager
async def listening(services: Services) -> AsyncIterator[tuple[Listener, aiomqtt.Client]]:
    """A client that records warnings and derived results and can publish readings."""
    found = Listener()
    async with aiomqtt.Client("127.0.0.1", services.mosquitto.port, identifier=f"t{free_port()}") as client:
        await client.subscribe("warnings/#", qos=1)
        await client.subscribe("derived/#", qos=1)

        async def collect() -> None:
            async for message in client.messages:
                payload = message.payload if isinstance(message.payload, bytes) else b""
                if not payload or message.retain:  # states left by earlier tests are not news
                    continue
                msg = wire.decode(message.topic.value, payload)
                if isinstance(msg, WarningEvent):
                    found.warnings.append(msg)
                else:
                    found.derived.append(msg)

        task = asyncio.create_task(collect())
        try:
            yield found, client
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def publish(client: aiomqtt.Client, seq: int, value: float, ts: datetime, station: str = "w1") -> None:
    """One readings message with NH3-N ``value`` at ``ts``."""
    msg = StationMessage(station, "dev", seq, ts, (Reading(station, "nh3n", value, "mg/L", ts),))
    topic, payload = wire.encode(msg)
    await client.publish(topic, payload, qos=1)


def recent(i: int) -> datetime:
    """Reading times just behind the wall clock, increasing with ``i`` (never backfilled)."""
    return datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=100) + timedelta(seconds=i)


async def wait_for(check: Callable[[], bool], what: str, within: float = 20.0) -> None:
    """Poll ``check`` until true; fail after ``within`` seconds."""
    await until(check, what, within, period=0.05)
