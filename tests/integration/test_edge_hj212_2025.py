"""Our edge agent reporting upstream in HJ 212-2025 with SM4 encryption to a platform-side receiver that
decodes with the station's key: live records without RF, heartbeats, and the records kept while the
platform was cut delivered once it is back, in order, each once, marked ``RF=1``."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from stationpipe.edge.agent import run as run_edge
from stationpipe.hj212 import Codec2025, KeyRing, qn_time
from stationpipe.testbed.modbus import Image, static_server
from stationpipe.testbed.services import Services, free_port
from tests.hj212_platform import Platform, Received
from tests.integration.edge_helpers import edge_config, hj212_outbox_depth, running, until, write_toml_profile

pytestmark = [pytest.mark.integration, pytest.mark.timeout(90)]

MN = "010000A8900016F000169DC0"
KEY_HEX = "9c2e41d07b5a3f86e1d4c7b02a95f368"  # a test key, nothing else's


def _uploads(platform: Platform) -> list[Received]:
    """The records (2011 and 2051) in arrival order."""
    return [f for f in platform.frames if f.segment.cn in ("2011", "2051")]


def _live_after_backlog(platform: Platform) -> int:
    """Records without RF that arrived after the last one with RF (0 while there is none with RF)."""
    flags = [f.segment.rf for f in _uploads(platform)]
    if True not in flags:
        return 0
    last = len(flags) - 1 - flags[::-1].index(True)
    return len(flags) - 1 - last


def _made(frame: Received) -> float:
    assert frame.segment.qn is not None
    return qn_time(frame.segment.qn).timestamp()


async def test_edge_reports_in_hj212_2025_encrypted_and_resends_its_backlog_with_rf(
    services: Services, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IT_UPLINK_SM4", KEY_HEX)
    port, modbus = free_port(), free_port()
    profile = write_toml_profile(
        tmp_path / "p.toml",
        [
            {"parameter": "ph", "address": 0, "unit": "pH"},
            {"parameter": "nh3n", "address": 2, "unit": "mg/L"},
        ],
    )
    device = {
        "name": "sonde",
        "profile": str(profile),
        "interval": 0.25,
        "timeout": 0.5,
        "transport": {"host": "127.0.0.1", "port": modbus},
    }
    cfg = edge_config(
        tmp_path,
        services.mosquitto.port,
        [device],
        hj212={
            "host": "127.0.0.1",
            "port": port,
            "mn": MN,
            "version": "2025",
            "key_env": "IT_UPLINK_SM4",
            "heartbeat_interval": 0.5,
            "minute_period": 1.0,
            "hourly": False,
            "reply_timeout": 2.0,
        },
    )
    platform = Platform(port, Codec2025(KeyRing({MN: bytes.fromhex(KEY_HEX)})))
    image = Image(holding=[0x40E8, 0, 0x3FA0, 0])  # 7.25, 1.25
    await platform.start()
    try:
        async with static_server(modbus, {1: image}), running(run_edge(cfg)):
            await platform.wait_for("2011", 3, 20)
            await platform.wait_for("9015", 1, 20)
            cut_at = time.time()
            await platform.stop()
            # a poll's 2011 and 2051 made just before the cut may still wait unsent: two more than the six
            await until(lambda: hj212_outbox_depth(cfg.state_dir) >= 8, 20, "records kept while it is cut")
            back_at = time.time()
            await platform.start()
            await until(lambda: _live_after_backlog(platform) >= 4, 30, "the backlog, then live records")
            beats = len(platform.of("9015"))
            await platform.wait_for("9015", beats + 1, 10)  # heartbeats go on after the outage
    finally:
        await platform.stop()

    assert platform.errors == []
    uploads = _uploads(platform)
    assert all(f.encrypted for f in uploads)  # every data area arrived as ciphertext
    assert all(f.segment.flag == 9 and f.segment.mn == MN for f in uploads)
    qns = [f.segment.qn for f in uploads]
    assert len(set(qns)) == len(qns)  # each record once
    assert [_made(f) for f in uploads] == sorted(_made(f) for f in uploads)  # oldest first
    resent = [i for i, f in enumerate(uploads) if f.segment.rf]
    assert len(resent) >= 6
    assert resent == list(range(resent[0], resent[-1] + 1))  # one run: the backlog, then live again
    assert not any(f.segment.rf for f in uploads[: resent[0]])  # live before the cut: no RF
    made_while_cut = [f for f in uploads if cut_at + 0.01 <= _made(f) <= back_at]
    assert len(made_while_cut) >= 6
    assert all(f.segment.rf for f in made_while_cut)
    assert {f.segment.cn for f in made_while_cut} == {"2011", "2051"}
    realtime = [f for f in uploads if f.segment.cn == "2011"]
    factors = {v.code: v.rtd for v in realtime[-1].segment.cp.factors}
    assert factors == {"w01001": 7.25, "w21003": 1.25}
    heartbeats = platform.of("9015")
    assert all(not h.encrypted and h.segment.flag == 9 and not h.segment.rf for h in heartbeats)
    assert any(_made(h) < cut_at for h in heartbeats)
    assert any(_made(h) > back_at for h in heartbeats)
