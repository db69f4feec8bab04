"""HJ 212-2025 through the server against real TCP clients, a real Mosquitto, the collector process and
InfluxDB, and the rules engine: SM4 encryption end to end, RF=1 after an outage stored as backfill,
heartbeats watched by a deadman rule, a wrong key refused, key rotation by CN 1014, split packets, LF-only
line ends."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from stationpipe.collector.hj212_config import Hj212ServerConfig
from stationpipe.collector.hj212_server import run
from stationpipe.hj212 import CST, Codec2025, CpArea, DataSegment, FactorValue, KeyRing, Version
from stationpipe.kernel.messages import AlertState
from stationpipe.kernel.registry import WaterClass
from stationpipe.kernel.wire import rfc3339
from stationpipe.rules.config import RulesConfig
from stationpipe.simulators.hj212_logger import DataLogger
from stationpipe.simulators.model import StationModel
from stationpipe.testbed.pipeline import collector_toml
from stationpipe.testbed.services import Services, free_port
from tests.integration.edge_helpers import Probe, running
from tests.integration.rules_helpers import engine, listening
from tests.integration.test_hj212_server import _client
from tests.waiting import until

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]
MN = "010000A8900016F000169DC5"
STATION = "it-hj25"
KEY = bytes(range(16))  # a test key, not a real one
OTHER_KEY = b"0" * 16
AT = datetime(2026, 11, 22, 9, 30, tzinfo=CST)
REGISTRY = f"""kind = "registry"
[[stations]]
id = "{STATION}"
name = "加密站"
kind = "water"
target_class = "III"
water_body = "river"
lat = 30
lon = 120
hj212_mn = "{MN}"
"""


def _config(services: Services, tmp: Path, port: int, **extra: Any) -> Hj212ServerConfig:
    (tmp / "registry.toml").write_text(REGISTRY, encoding="utf-8")
    return Hj212ServerConfig.model_validate(
        {
            "port": port,
            "idle_timeout": 30,
            "publish_timeout": 5,
            "registry": str(tmp / "registry.toml"),
            "mqtt": {"port": services.mosquitto.port, "client_id": f"hj25-{port}"},
            "loggers": [{"mn": MN, "station": STATION, "version": "2025", "key_env": "IT_HJ25_KEY"}],
            **extra,
        }
    )


@contextlib.asynccontextmanager
async def _server(
    services: Services, tmp: Path, monkeypatch: pytest.MonkeyPatch, port: int | None = None, **extra: Any
) -> AsyncIterator[int]:
    monkeypatch.setenv("IT_HJ25_KEY", KEY.hex())
    port = port or free_port()
    ready = asyncio.Event()
    async with running(run(_config(services, tmp, port, **extra), ready)):
        await asyncio.wait_for(ready.wait(), 10)
        yield port


def _logger(port: int, **extra: Any) -> DataLogger:
    model = StationModel.typical(WaterClass.III, seed=5)
    return DataLogger(
        "127.0.0.1", port, MN, "123456", model, ("ph", "nh3n"), version=Version.HJ212_2025, **extra
    )


def _codec(key: bytes = KEY, **extra: Any) -> Codec2025:
    return Codec2025(KeyRing({MN: key}), **extra)


def _upload(qn: str, cn: str = "2011", **extra: Any) -> DataSegment:
    factors = (FactorValue("w21003", rtd=1.25, flag="N"), FactorValue("w01001", rtd=7.3, flag="N"))
    cp = CpArea(data_time=AT, factors=factors, **extra)
    return DataSegment("21", cn, qn=qn, pw="123456", mn=MN, flag=9, cp=cp)


def _stored(services: Services) -> dict[str, bool]:
    """The nh3n points stored for the station: RFC 3339 time -> marked backfill."""
    rows = services.influx.query(
        f"SELECT value, backfill FROM readings WHERE station = '{STATION}' AND parameter = 'nh3n'"
    )
    if not rows:
        return {}
    return {rfc3339(datetime.fromtimestamp(ts / 1e9, UTC)): bool(bf) for ts, _, bf in rows[0]["values"]}


async def test_encrypted_logger_into_influxdb_and_rf1_after_an_outage_as_backfill(
    services: Services, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config = tmp_path / "collector.toml"
    config.write_text(collector_toml(services.mosquitto.port, services.influx.url, services.influx.database))
    collector = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "stationpipe", "collector", "--config", str(config),
        stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    port = free_port()
    logger = _logger(port, key=KEY, interval=1.0)
    assert b"CP=&&{0x" in logger.codec.encode(logger.upload(AT))  # encryption on
    probe = Probe(services.mosquitto.port, station=STATION, client_id=f"probe-hj25-{port}")
    try:
        async with probe, running(logger.run()):
            async with _server(services, tmp_path, monkeypatch, port):
                await until(lambda: len(_stored(services)) >= 1, "a first encrypted upload stored")
            await until(lambda: len(logger.pending) >= 2, "uploads pending during the outage", 10)
            async with _server(services, tmp_path, monkeypatch, port):
                await until(lambda: bool(logger.resent) and not logger.pending, "the backlog re-sent", 15)
                marked = {_stamp(qn) for qn in logger.resent}
                await until(lambda: marked <= set(_stored(services)), "the re-sent uploads stored", 15)
    finally:
        collector.terminate()
        await collector.wait()
    assert logger.refused == []
    stored = _stored(services)
    assert all(stored[at] for at in marked), stored  # RF=1 -> backfill=true
    assert not all(stored.values())  # the live ones are not marked
    backfill_seqs = [m["seq"] for m in probe.messages if m.get("backfill")]
    assert len(backfill_seqs) == len(set(backfill_seqs)) >= len(marked)  # each re-sent upload once


def _stamp(qn: str) -> str:
    """The RFC 3339 UTC time of an upload's DataTime (a QN starts with it, China Standard Time)."""
    local = datetime.strptime(qn[:14], "%Y%m%d%H%M%S").replace(tzinfo=CST)
    return rfc3339(local)


async def test_a_heartbeat_gap_raises_the_deadman_warning(
    services: Services, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "registry.toml").write_text(REGISTRY, encoding="utf-8")
    rules = RulesConfig.model_validate(
        {
            "group": f"rules{free_port()}",
            "registry": str(tmp_path / "registry.toml"),
            "state": str(tmp_path / "state.sqlite3"),
            "mqtt": {"port": services.mosquitto.port, "client_id": f"rules-hj25-{free_port()}"},
            "evaluation": {"tick": "0.2s"},
            "rules": [
                {"name": "heartbeat", "kind": "deadman", "watch": "status", "silent_for": "1.5s",
                 "check_every": "0.2s", "level": 2},
            ],
        }
    )  # fmt: skip
    async with (
        listening(services) as (found, _),
        engine(rules),
        _server(services, tmp_path, monkeypatch) as port,
    ):
        logger = _logger(port, key=KEY, interval=3600, heartbeat=0.2)
        async with running(logger.run()):
            await until(lambda: logger.heartbeats >= 10, "heartbeats sent for 2 s", 10)
        stopped = len(found.warnings)
        await until(
            lambda: any(
                w.rule == "heartbeat.station" and w.state is AlertState.FIRING for w in found.warnings
            ),
            "the deadman warning after the heartbeats stopped",
            10,
            detail=lambda: str(found.warnings),
        )
    assert stopped == 0, found.warnings  # no warning while the heartbeats came
    warning = next(w for w in found.warnings if w.rule == "heartbeat.station")
    assert warning.station == STATION
    assert "heartbeat" in warning.message


async def test_a_wrong_key_is_refused_with_a_clear_log_line(
    services: Services, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    async with _server(services, tmp_path, monkeypatch) as port, _client(port) as client:
        await client.send(_codec(OTHER_KEY).encode(_upload("20261122093000001")))
        reply = await client.reply()
        assert (reply.cn, reply.qn, reply.cp.param("QnRtn")) == ("9011", "20261122093000001", "100")
        assert reply.flag == 8  # a 2025 reply
        await client.send(_codec().encode(_upload("20261122093000002")))  # the connection stays usable
        assert (await client.reply()).cn == "9014"
    lines = [r.getMessage() for r in caplog.records if "refused a frame of MN" in r.getMessage()]
    assert len(lines) == 1
    assert "wrong key?" in lines[0]
    assert "QnRtn=100" in lines[0]
    for key in (KEY, OTHER_KEY):
        assert key.hex() not in caplog.text.lower()
        assert key.hex().upper() not in caplog.text


async def test_key_rotation_by_1014_keeps_the_old_key_for_the_grace_period(
    services: Services, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    new_key = bytes(range(16, 32))
    rotated = tmp_path / "rotated.keys"
    extra: dict[str, Any] = {"key_grace": 1.0, "rotated_keys": str(rotated)}
    async with _server(services, tmp_path, monkeypatch, **extra) as port, _client(port) as client:
        rotate = DataSegment(
            "21", "1014", qn="20261122093000010", pw="123456", mn=MN, flag=9,
            cp=CpArea(params=(("NewKey", new_key.hex().upper()),)),
        )  # fmt: skip
        frame = _codec().encode(rotate)
        assert new_key.hex().upper().encode() not in frame  # the new key travels encrypted
        await client.send(frame)
        assert (await client.reply()).cn == "9014"
        await client.send(_codec(new_key).encode(_upload("20261122093000011")))
        assert (await client.reply()).cn == "9014"
        await client.send(_codec().encode(_upload("20261122093000012")))  # the old key, within grace
        assert (await client.reply()).cn == "9014"
        deadline = asyncio.get_running_loop().time() + 10
        qn = 20261122093000100
        while True:  # the old key is refused once the grace period is over
            qn += 1
            await client.send(_codec().encode(_upload(str(qn))))
            if (await client.reply()).cn == "9011":
                break
            assert asyncio.get_running_loop().time() < deadline, "old key still accepted after 10 s"
            await asyncio.sleep(0.1)  # re-sending: the grace period ends on the server's clock
    assert rotated.read_text() == f"{MN}={new_key.hex().upper()}\n"
    assert rotated.stat().st_mode & 0o777 == 0o600


async def test_heartbeat_split_packets_and_lf_line_ends(
    services: Services, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    probe = Probe(services.mosquitto.port, station=STATION, client_id=f"probe-hj25s-{free_port()}")
    async with probe, _server(services, tmp_path, monkeypatch) as port, _client(port) as client:
        beat = DataSegment("21", "9015", qn="20261122093000020", pw="123456", mn=MN, flag=9, cp=CpArea())
        await client.send(_codec().encode(beat))
        reply = await client.reply()
        assert (reply.cn, reply.qn, reply.flag) == ("9013", "20261122093000020", 8)
        factors = tuple(FactorValue(f"w0{n:04d}", rtd=float(n), flag="N") for n in range(1001, 1041))
        factors += (FactorValue("w21003", rtd=2.5, flag="N"),)
        big = DataSegment("21", "2011", qn="20261122093000021", pw="123456", mn=MN, flag=9,
                          cp=CpArea(data_time=AT, factors=factors))  # fmt: skip
        packets = _codec(max_segment=400, max_cp=350).encode_packets(big)
        assert len(packets) > 2
        assert all(b"{0x" in p for p in packets)
        await client.send(*packets)
        assert [(await client.reply()).cn for _ in packets] == ["9014"] * len(packets)
        lf = [_codec().encode(_upload(f"2026112209300002{n}"))[:-2] + b"\n" for n in (2, 3)]
        await client.send(*lf)
        assert [(await client.reply()).qn for _ in range(2)] == ["20261122093000022", "20261122093000023"]
        await probe.wait_for(3, 10)
    whole = next(m for m in probe.messages if m["seq"] == 20261122093000021)
    assert whole["readings"]["nh3n"]["value"] == 2.5  # the last packet's factor, in one message
    assert sum("lf-line-end" in r.getMessage() for r in caplog.records) == 1
