"""The HJ 212 server against real TCP clients and a real Mosquitto: replies, stream handling, rejections,
idle connections, and a simulated data logger end to end into InfluxDB through the collector."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import tempfile
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from stationpipe.collector.hj212_config import Hj212ServerConfig
from stationpipe.collector.hj212_server import run
from stationpipe.hj212 import CST, CpArea, DataSegment, FactorValue, FrameSplitter, decode, encode
from stationpipe.kernel.registry import WaterClass
from stationpipe.simulators.hj212_logger import DataLogger
from stationpipe.simulators.model import StationModel
from stationpipe.testbed.pipeline import collector_toml
from stationpipe.testbed.services import Services, free_port
from tests.integration.edge_helpers import Probe, running

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]
MN = "010000A8900016F000169DC0"
AT = datetime(2026, 11, 22, 9, 30, tzinfo=CST)


def _config(services: Services, port: int, idle: float = 30.0) -> Hj212ServerConfig:
    registry = Path(tempfile.mkdtemp()) / "registry.toml"
    registry.write_text(
        'kind = "registry"\n[[stations]]\nid = "it-hj212-reg"\nname = "登记站"\nkind = "water"\n'
        'target_class = "III"\nwater_body = "river"\nlat = 30\nlon = 120\nhj212_mn = "REG0001"\n'
    )
    return Hj212ServerConfig.model_validate(
        {
            "port": port,
            "idle_timeout": idle,
            "publish_timeout": 5,
            "registry": str(registry),
            "mqtt": {"port": services.mosquitto.port, "client_id": f"hj212-{port}"},
            "loggers": [
                {"mn": MN, "station": "it-hj212", "password_env": "IT_HJ212_PW", "units": {"cod": "mg/L"}},
                {"mn": "SHORT1", "station": "it-hj212-b"},
            ],
        }
    )


def _upload(qn: str = "20261122093000001", mn: str = MN, pw: str = "123456", cn: str = "2011") -> DataSegment:
    factors = (
        FactorValue("w21003", rtd=1.25, flag="N"),
        FactorValue("w01001", rtd=7.3, flag="M"),
        FactorValue("w99999", rtd=3.0, flag="N"),
        FactorValue("w01018", avg=22.5, flag="D"),
    )
    return DataSegment("21", cn, qn=qn, pw=pw, mn=mn, flag=5, cp=CpArea(data_time=AT, factors=factors))


@contextlib.asynccontextmanager
async def _server(
    services: Services, monkeypatch: pytest.MonkeyPatch, idle: float = 30.0
) -> AsyncIterator[int]:
    monkeypatch.setenv("IT_HJ212_PW", "123456")
    port = free_port()
    ready = asyncio.Event()
    async with running(run(_config(services, port, idle), ready)):
        await asyncio.wait_for(ready.wait(), 10)
        yield port


class _Client:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer, self.splitter = reader, writer, FrameSplitter()

    async def send(self, *chunks: bytes) -> None:
        for chunk in chunks:
            self.writer.write(chunk)
            await self.writer.drain()

    async def reply(self) -> DataSegment:
        async with asyncio.timeout(10):
            while True:
                for raw in self.splitter:
                    return decode(raw).segment
                data = await self.reader.read(4096)
                assert data, "server closed the connection"
                self.splitter.feed(data)


@contextlib.asynccontextmanager
async def _client(port: int) -> AsyncIterator[_Client]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        yield _Client(reader, writer)
    finally:
        writer.close()


async def test_upload_is_published_and_acknowledged(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    probe = Probe(services.mosquitto.port, station="it-hj212", client_id="probe-hj212")
    async with probe, _server(services, monkeypatch) as port, _client(port) as client:
        frame = encode(_upload())
        await client.send(frame[:7], frame[7:40], frame[40:])  # partial reads
        reply = await client.reply()
        assert (reply.cn, reply.qn, reply.st) == ("9014", "20261122093000001", "91")
        await client.send(encode(_upload("20261122093000002")) + encode(_upload("20261122093000003")))
        assert [(await client.reply()).qn for _ in range(2)] == ["20261122093000002", "20261122093000003"]
        await probe.wait_for(3, 10)
    msg = probe.messages[0]
    assert msg["ts"] == "2026-11-22T01:30:00Z"  # DataTime is China Standard Time
    assert msg["device"] == "hj212-2011"
    assert msg["readings"]["nh3n"] == {"value": 1.25, "unit": "mg/L", "flag": "N"}
    assert msg["readings"]["ph"]["flag"] == "M"
    assert msg["readings"]["cod"] == {"value": None, "unit": "mg/L", "flag": "D"}  # 2011 carries Rtd only
    assert "w99999" not in str(msg)  # codes outside the catalogue are skipped, not fatal


async def test_a_logger_known_through_the_registry_is_served(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    probe = Probe(services.mosquitto.port, station="it-hj212-reg", client_id="probe-hj212-reg")
    async with probe, _server(services, monkeypatch) as port, _client(port) as client:
        await client.send(encode(_upload("20261122093000020", mn="REG0001", pw="any")))
        reply = await client.reply()
        assert reply.cn == "9014", reply.cp.params
        await probe.wait_for(1, 10)
    assert probe.messages[0]["readings"]["nh3n"]["value"] == 1.25


@pytest.mark.parametrize(
    ("frame", "qn_rtn"),
    [
        (encode(_upload())[:-6] + b"0000\r\n", "9"),  # bad CRC
        (encode(_upload(mn="NOBODY")), "4"),  # unknown MN
        (encode(_upload(pw="wrong")), "3"),  # wrong password
    ],
    ids=["crc", "mn", "password"],
)
async def test_rejections_answer_qnrtn(
    services: Services, monkeypatch: pytest.MonkeyPatch, frame: bytes, qn_rtn: str
) -> None:
    async with _server(services, monkeypatch) as port, _client(port) as client:
        await client.send(frame)
        reply = await client.reply()
        assert (reply.cn, reply.cp.param("QnRtn")) == ("9011", qn_rtn)
        await client.send(encode(_upload("20261122093000009")))  # the connection stays usable
        assert (await client.reply()).cn == "9014"


async def test_garbage_and_oversized_input_do_not_break_the_connection(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with _server(services, monkeypatch) as port, _client(port) as client:
        await client.send(b"\x00\xffnoise##zz", b"##9999" + b"A" * 12000, b"\r\n")
        await client.send(encode(_upload("20261122093000010")))
        assert (await client.reply()).qn == "20261122093000010"


async def test_idle_connections_are_closed(services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    async with _server(services, monkeypatch, idle=0.5) as port, _client(port) as client:
        async with asyncio.timeout(10):
            assert await client.reader.read(100) == b""


async def test_simulated_logger_end_to_end_into_influxdb(
    services: Services, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config = tmp_path / "collector.toml"
    config.write_text(collector_toml(services.mosquitto.port, services.influx.url, services.influx.database))
    collector = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "stationpipe",
        "collector",
        "--config",
        str(config),
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        async with _server(services, monkeypatch) as port:
            logger = DataLogger(
                "127.0.0.1",
                port,
                MN,
                "123456",
                StationModel.typical(WaterClass.III, seed=3),
                ("ph", "do", "nh3n", "tp"),
                interval=0.2,
            )
            async with running(logger.run()), asyncio.timeout(30):
                # the collector subscribes while the logger uploads; the database sends no events
                while len(_stored(services)) < 5:  # noqa: ASYNC110
                    await asyncio.sleep(0.1)
    finally:
        collector.terminate()
        await collector.wait()
    assert logger.refused == []
    sent = {qn[:14] for qn in logger.acked} | {seg.qn[:14] for seg in logger.pending if seg.qn}
    assert set(_stored(services)) <= sent  # QN starts with the upload's DataTime


def _stored(services: Services) -> list[str]:
    """QN-derived stamps of the nh3n points stored for the logger's station (as HJ 212 DataTime)."""
    rows = services.influx.query(
        "SELECT value FROM readings WHERE station = 'it-hj212' AND parameter = 'nh3n'"
    )
    if not rows:
        return []
    return [
        datetime.fromtimestamp(ts / 1e9, UTC).astimezone(CST).strftime("%Y%m%d%H%M%S")
        for ts, _ in rows[0]["values"]
    ]


async def test_a_standard_sample_check_upload_is_published_as_qc_records(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    import aiomqtt  # noqa: PLC0415

    from stationpipe.kernel import wire  # noqa: PLC0415
    from stationpipe.kernel.qc import QcCheck, QcRecord  # noqa: PLC0415

    factors = (
        FactorValue("w21003", extra=(("SampleRd", "1.152"), ("StandardValue", "1.000"), ("ResultType", "0"))),
        FactorValue("w99999", extra=(("SampleRd", "1"), ("StandardValue", "1"))),  # unmapped: reported
    )
    cp = CpArea(data_time=AT, factors=factors)
    check = DataSegment("21", "2062", qn="20261122093000009", pw="123456", mn=MN, flag=5, cp=cp)
    async with (
        aiomqtt.Client("127.0.0.1", services.mosquitto.port, identifier="probe-hj212-qc") as probe,
        _server(services, monkeypatch) as port,
        _client(port) as client,
    ):
        await probe.subscribe("stations/it-hj212/qc", qos=1)
        await client.send(encode(check))
        reply = await client.reply()
        assert (reply.cn, reply.qn) == ("9014", "20261122093000009")  # answered once the broker took it
        async with asyncio.timeout(10):
            message = await anext(aiter(probe.messages))
    payload = message.payload if isinstance(message.payload, bytes) else b""
    record = wire.decode(message.topic.value, payload)
    assert isinstance(record, QcRecord)
    assert (record.parameter, record.check, record.device, record.passed) == (
        "nh3n",
        QcCheck.STANDARD,
        "hj212-2062",
        False,
    )
    assert record.ts == datetime(2026, 11, 22, 1, 30, tzinfo=UTC)  # DataTime is China Standard Time
    assert record.error == pytest.approx(15.2)
