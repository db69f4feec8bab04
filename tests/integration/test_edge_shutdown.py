"""The edge agent stops promptly when told to, even while the broker routes its messages to nobody.

Python 3.11's ``TaskGroup`` raises its children's errors instead of a ``CancelledError`` that arrives at
the same moment. A SIGTERM landing while a publish session was failing (PUBACK 0x10: no subscriber) was
swallowed that way, the session loop went on, and the agent never exited (bench/edge_poll.py waited 20 s
and gave up). Real Mosquitto (a broker per test, so no other test's consumer subscribes), a real Modbus
server, and a deadline on every wait.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sqlite3
import struct
import sys
from pathlib import Path
from typing import Any

import pytest

from stationpipe.edge.config import EdgeConfig
from stationpipe.edge.metrics import EdgeMetrics
from stationpipe.edge.outputs.mqtt import open_spool
from stationpipe.edge.publisher import Publisher
from stationpipe.testbed.modbus import Image, static_server
from stationpipe.testbed.services import Mosquitto, free_port
from tests import waiting
from tests.integration.edge_helpers import edge_config, spool_state, until, write_toml_profile

pytestmark = pytest.mark.integration
_HELD = "stations/it-edge/readings: no subscriber took it (No matching subscribers 0x10); keeping it"

_PH = [int.from_bytes(w, "big") for w in (struct.pack(">f", 7.0)[:2], struct.pack(">f", 7.0)[2:])]


def _config(tmp_path: Path, broker: Mosquitto, modbus_port: int) -> EdgeConfig:
    profile = write_toml_profile(tmp_path / "one.toml", [{"parameter": "ph", "address": 0, "unit": "pH"}])
    device = {
        "name": "sonde",
        "profile": str(profile),
        "interval": 0.05,
        "timeout": 0.3,
        "transport": {"host": "127.0.0.1", "port": modbus_port, "unit": 1},
    }
    return edge_config(tmp_path, broker.port, [device], spool={"window": 50})


class _CancelOnHold:
    """Stands in for the publisher's held counter: the first message held cancels the publisher, as the
    agent's SIGTERM handler would, at the very moment its session's task group is failing."""

    def __init__(self) -> None:
        self.task: asyncio.Task[None] | None = None
        self.held = 0

    def labels(self, *_: str) -> _CancelOnHold:
        return self

    def inc(self) -> None:
        self.held += 1
        if self.task is not None and self.held == 1:
            self.task.cancel()


async def test_a_cancel_during_a_failing_session_stops_the_publisher(tmp_path: Path) -> None:
    broker = Mosquitto("mosquitto-shutdown", tmp_path)
    broker.start()
    try:
        cfg = _config(tmp_path, broker, free_port())
        spool = open_spool(cfg)
        for _ in range(200):  # a backlog lane and many publishes in flight, all routed to nobody
            spool.append("stations/it-edge/readings", lambda seq: b'{"seq": %d}' % seq)
        metrics = EdgeMetrics()
        hold = _CancelOnHold()
        metrics.held = hold  # type: ignore[assignment]
        publisher = Publisher(cfg, spool, metrics, lambda: "devices 1/1 answering")
        task = asyncio.create_task(publisher.run())
        hold.task = task
        with pytest.raises(asyncio.CancelledError):
            async with asyncio.timeout(10):  # before the fix: the session loop ran on and this expired
                await task
        assert hold.held >= 1, "the broker held a message (no subscriber), so the race was exercised"
        assert spool.depth == 200, "nothing routed to nobody left the spool"
        spool.close()
    finally:
        broker.stop()


async def test_sigterm_stops_an_agent_whose_messages_reach_nobody(tmp_path: Path) -> None:
    broker = Mosquitto("mosquitto-sigterm", tmp_path)
    broker.start()
    port = free_port()
    cfg = _config(tmp_path, broker, port)
    path = tmp_path / "edge.toml"
    path.write_text(_toml(cfg, tmp_path / "one.toml", port))
    argv = ["-m", "stationpipe", "edge", "--config", str(path)]
    log = (tmp_path / "agent.log").open("wb")
    proc: asyncio.subprocess.Process | None = None
    try:
        async with static_server(port, {1: Image(holding=_PH)}):
            proc = await asyncio.create_subprocess_exec(sys.executable, *argv, stdout=log, stderr=log)
            await until(lambda: _waiting(cfg) >= 20, 20, "readings wait in the spool (routed to nobody)")
            said = lambda: _HELD in _text(tmp_path)  # noqa: E731
            await waiting.until(said, "the agent logs why it keeps them", 20, detail=lambda: _text(tmp_path))
            proc.send_signal(signal.SIGTERM)
            async with asyncio.timeout(10):  # before the fix: > 20 s, or never
                code = await proc.wait()
        assert code == 0, _text(tmp_path)
    finally:
        if proc is not None and proc.returncode is None:
            proc.kill()
            await proc.wait()
        log.close()
        broker.stop()
    assert "unhandled errors in a TaskGroup" not in _text(tmp_path), "the log gives the reason, unwrapped"


def _text(tmp_path: Path) -> str:
    return (tmp_path / "agent.log").read_text()


def _waiting(cfg: EdgeConfig) -> int:
    with contextlib.suppress(sqlite3.OperationalError):
        return spool_state(cfg.state_dir)[0]
    return 0


def _toml(cfg: EdgeConfig, profile: Path, modbus_port: int) -> str:
    head: dict[str, Any] = {"station": cfg.station, "state_dir": str(cfg.state_dir)}
    return (
        'kind = "edge"\n'
        + "".join(f'{k} = "{v}"\n' for k, v in head.items())
        + f'[mqtt]\nport = {cfg.mqtt.port}\nclient_id = "edge-sigterm"\n[spool]\nwindow = 50\n'
        + f'[[devices]]\nname = "sonde"\nprofile = "{profile}"\ninterval = 0.05\ntimeout = 0.3\n'
        + f'[devices.transport]\nhost = "127.0.0.1"\nport = {modbus_port}\n'
    )
