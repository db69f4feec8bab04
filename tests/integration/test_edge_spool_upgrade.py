"""An agent upgraded over the SQLite spool of earlier versions: what the old spool held is sent first,
from the segment log it was moved into, and the seq counter carries on (real Modbus, real Mosquitto)."""

from __future__ import annotations

import struct
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bench.sqlite_spool import Spool as SqliteSpool
from bench.sqlite_spool import SpoolLimits as SqliteLimits
from stationpipe.edge.agent import run
from stationpipe.edge.outputs.mqtt import message
from stationpipe.kernel import wire
from stationpipe.kernel.reading import Reading
from stationpipe.testbed.modbus import Image, static_server
from stationpipe.testbed.services import Services, free_port
from tests.integration.edge_helpers import Probe, edge_config, running, spool_state, write_toml_profile

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]


def _payload(reading: Reading) -> Callable[[int], bytes]:
    return lambda seq: wire.encode(message("it-edge", "sonde", seq, [reading]))[1]


def _old_spool(state_dir: Path, count: int) -> None:
    """What an agent of the previous version left: ``count`` unsent messages and a seq counter past them."""
    old = SqliteSpool(state_dir / "spool.sqlite", SqliteLimits())
    for i in range(count):
        ts = datetime(2026, 1, 1, 0, i, tzinfo=UTC)
        reading = Reading("it-edge", "ph", 7.0 + i / 10, "pH", ts)
        topic, _ = wire.encode(message("it-edge", "sonde", 0, [reading]))
        old.append(topic, _payload(reading))
    old.close()


async def test_an_old_sqlite_spool_is_sent_first_and_the_seqs_carry_on(
    services: Services, tmp_path: Path
) -> None:
    profile = write_toml_profile(tmp_path / "one.toml", [{"parameter": "ph", "address": 0, "unit": "pH"}])
    port = free_port()
    device = {"name": "sonde", "profile": str(profile), "interval": 0.2, "timeout": 0.3}
    device["transport"] = {"host": "127.0.0.1", "port": port}
    cfg = edge_config(tmp_path, services.mosquitto.port, [device])
    _old_spool(cfg.state_dir, 5)
    words = list(struct.unpack(">HH", struct.pack(">f", 7.5)))
    async with (
        static_server(port, {1: Image(holding=words)}),
        Probe(services.mosquitto.port) as probe,
        running(run(cfg)),
    ):
        await probe.wait_for(10, 20)
    assert not (cfg.state_dir / "spool.sqlite").exists(), "the old file is gone once the log holds it"
    seqs = list(dict.fromkeys(probe.seqs()))
    assert set(range(5)) <= set(seqs), "every message of the old spool arrived"
    assert min(s for s in seqs if s >= 5) == 5, "the seq counter carries on where the old spool stopped"
    old = [m for m in probe.messages if int(m["seq"]) < 5]
    assert [m["readings"]["ph"]["value"] for m in old][:5] == [7.0, 7.1, 7.2, 7.3, 7.4]
    assert spool_state(cfg.state_dir)[1] >= 10
