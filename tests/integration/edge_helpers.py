"""Helpers for the edge agent's integration tests: configs, a probe subscriber, spool inspection."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiomqtt

from stationpipe.edge.config import EdgeConfig
from stationpipe.edge.spool import view
from tests import waiting


def edge_config(tmp_path: Path, mqtt_port: int, devices: list[dict[str, Any]], **extra: Any) -> EdgeConfig:
    """An edge config for station ``it-edge`` with a state dir under ``tmp_path``."""
    return EdgeConfig.model_validate(
        {
            "station": "it-edge",
            "state_dir": str(tmp_path / "state"),
            "status_interval": 1.0,
            "mqtt": {"port": mqtt_port, "client_id": f"edge-{tmp_path.name}"[:60], "timeout": 3.0},
            "devices": devices,
            **extra,
        }
    )


def write_toml_profile(path: Path, points: list[dict[str, Any]], **head: Any) -> Path:
    """Write a profile file (kind = "profile") with these points."""
    lines = ['kind = "profile"', f'name = "{path.stem}"']
    lines += [f"{k} = {json.dumps(v)}" for k, v in head.items()]
    for p in points:
        lines.append("[[points]]")
        lines += [f"{k} = {json.dumps(v)}" for k, v in p.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


@dataclass
class Probe:
    """Collects every readings message of a station with a persistent session, reconnecting as needed."""

    port: int
    station: str = "it-edge"
    client_id: str = "probe"
    messages: list[dict[str, Any]] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    tls: aiomqtt.TLSParameters | None = None
    username: str | None = None
    password: str | None = None
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    _task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Probe:
        """Start collecting and return once subscribed, so nothing published after this is missed."""
        self._task = asyncio.create_task(self.run())
        async with asyncio.timeout(15):
            await self.ready.wait()
        return self

    async def __aexit__(self, *_: object) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    async def run(self) -> None:
        """Subscribe and collect until cancelled."""
        while True:
            with contextlib.suppress(aiomqtt.MqttError):
                async with aiomqtt.Client(
                    "127.0.0.1",
                    self.port,
                    identifier=self.client_id,
                    clean_session=False,
                    tls_params=self.tls,
                    username=self.username,
                    password=self.password,
                ) as client:
                    await client.subscribe(f"stations/{self.station}/readings", qos=1)
                    self.ready.set()
                    async for msg in client.messages:
                        self.messages.append(json.loads(msg.payload))
                        self.arrived.set()
            await asyncio.sleep(0.2)  # reconnect pace while the broker is down

    async def wait_for(self, count: int, within: float, device: str | None = None) -> None:
        """Wait until ``count`` messages (of ``device``, if given) have arrived."""
        async with asyncio.timeout(within):
            while len(self.of(device)) < count:
                self.arrived.clear()
                await self.arrived.wait()

    def of(self, device: str | None) -> list[dict[str, Any]]:
        """Messages of one device (all when ``device`` is None)."""
        return [m for m in self.messages if device is None or m["device"] == device]

    def seqs(self) -> list[int]:
        """Sequence numbers in arrival order."""
        return [int(m["seq"]) for m in self.messages]


def spool_state(state_dir: Path) -> tuple[int, int]:
    """(messages waiting, next seq) read from the agent's spool, without disturbing it."""
    seen = view(state_dir / "spool")
    return seen.depth, seen.next_seq


def spooled_seqs(state_dir: Path) -> set[int]:
    """The seqs of the messages waiting in the agent's spool, read without disturbing it."""
    return set(view(state_dir / "spool").waiting)


async def until(check: Any, within: float, what: str, period: float = 0.05) -> None:
    """Poll a condition of something we cannot subscribe to (a file, a process) with a deadline."""
    await waiting.until(check, what, within, period=period)


def two_increasing_runs(seqs: list[int]) -> bool:
    """True when ``seqs`` interleaves a backlog lane and a live lane, each in increasing order."""
    for threshold in {*seqs, -1}:
        low = [s for s in seqs if s <= threshold]
        high = [s for s in seqs if s > threshold]
        if low == sorted(low) and high == sorted(high):
            return True
    return False


@contextlib.asynccontextmanager
async def running(coro: Coroutine[Any, Any, None]) -> AsyncIterator[None]:
    """Run ``coro`` as a task while the context is open; cancel it and wait for it on exit."""
    task = asyncio.create_task(coro)
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def hj212_outbox_depth(state_dir: Path) -> int:
    """Records waiting in the agent's HJ 212 outbox (0 before it exists), read without disturbing it."""
    return view(state_dir / "hj212").depth
