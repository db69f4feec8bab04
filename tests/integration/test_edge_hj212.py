"""Our edge agent reporting upstream in HJ 212-2017 to our HJ 212 server: real-time (2011) and interval
(2051) records, kept in the agent's outbox while the platform is down and delivered when it is back."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from stationpipe.collector.hj212_config import Hj212ServerConfig
from stationpipe.collector.hj212_server import run as run_server
from stationpipe.edge.agent import run as run_edge
from stationpipe.edge.spool import view
from stationpipe.testbed.modbus import Image, static_server
from stationpipe.testbed.services import Services, free_port
from tests.integration.edge_helpers import Probe, edge_config, running, until, write_toml_profile

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]


def _waiting(state: Path) -> int:
    return view(state / "hj212").depth


async def test_edge_reports_in_hj212_and_keeps_records_while_the_platform_is_down(
    services: Services, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IT_UPLINK_PW", "654321")
    platform, modbus = free_port(), free_port()
    profile = write_toml_profile(
        tmp_path / "p.toml",
        [
            {"parameter": "ph", "address": 0, "unit": "pH"},
            {"parameter": "nh3n", "address": 2, "unit": "mg/L"},
            {"parameter": "chla", "address": 4, "unit": "ug/L"},  # no HJ 212 code: not reported upstream
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
            "port": platform,
            "mn": "EDGE0001",
            "password_env": "IT_UPLINK_PW",
            "minute_period": 1.0,
            "hourly": False,
            "reply_timeout": 2.0,
        },
    )
    server = Hj212ServerConfig.model_validate(
        {
            "port": platform,
            "mqtt": {"port": services.mosquitto.port, "client_id": "it-uplink-server"},
            "loggers": [{"mn": "EDGE0001", "station": "it-upstream", "password_env": "IT_UPLINK_PW"}],
        }
    )
    probe = Probe(services.mosquitto.port, station="it-upstream", client_id="probe-upstream")
    image = Image(holding=[0x40E8, 0, 0x3FA0, 0, 0x4120, 0])  # 7.25, 1.25, 10.0
    async with static_server(modbus, {1: image}), probe, running(run_edge(cfg)):
        await until(
            lambda: (cfg.state_dir / "hj212").exists() and _waiting(cfg.state_dir) >= 4,
            20,
            "records wait in the outbox while the platform is down",
        )
        back_at = datetime.now().astimezone()
        async with running(run_server(server)):
            await probe.wait_for(6, 20, "hj212-2011")
            await probe.wait_for(2, 20, "hj212-2051")
    realtime = probe.of("hj212-2011")
    assert datetime.fromisoformat(realtime[0]["ts"]) < back_at  # produced while the platform was down
    assert realtime[0]["readings"] == {
        "ph": {"value": 7.25, "unit": "pH", "flag": "N"},
        "nh3n": {"value": 1.25, "unit": "mg/L", "flag": "N"},
    }
    minute = probe.of("hj212-2051")[0]["readings"]
    assert (minute["ph"]["value"], minute["nh3n"]["value"]) == (7.25, 1.25)  # Avg of the period
    seqs = [m["seq"] for m in realtime]
    assert seqs == sorted(seqs)  # oldest first
