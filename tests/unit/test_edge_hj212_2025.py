"""The edge's HJ 212 uplink in HJ 212-2025: its ``[hj212]`` settings (the SM4 key from the environment
or a file, never shown) and the frames it builds, decoded by a platform's codec with the station's key:
encrypted uploads, ``RF=1`` on backlog only, heartbeats; HJ 212-2017 frames unchanged."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from stationpipe.edge.config import EdgeConfig, Hj212Uplink
from stationpipe.edge.outputs.hj212 import Hj212Reporter
from stationpipe.edge.outputs.hj212_wire import Wire2017, Wire2025, wire_for
from stationpipe.hj212 import (
    CST,
    Codec2025,
    CpArea,
    DataSegment,
    FactorValue,
    FrameSplitter,
    Hj212Error,
    KeyMissingError,
    KeyRing,
    SegmentError,
    WrongKeyError,
    data_reply,
    decode,
    encode,
)
from stationpipe.hj212.stream import await_reply
from stationpipe.kernel.config import load
from stationpipe.kernel.errors import ConfigError
from stationpipe.kernel.reading import Flag, Reading
from stationpipe.testbed.services import free_port
from tests.hj212_platform import Platform

ROOT = Path(__file__).resolve().parents[2]
MN = "010000A8900016F000169DC0"
KEY_HEX = "0123456789abcdeffedcba9876543210"
KEY = bytes.fromhex(KEY_HEX)
SEGMENT = DataSegment(
    "21",
    "2011",
    qn="20261207093000000",
    pw="123456",
    mn=MN,
    flag=5,
    cp=CpArea(
        datetime(2026, 12, 7, 9, 30, tzinfo=CST),
        factors=(FactorValue("w01001", rtd=7.25, flag="N"), FactorValue("w21003", rtd=1.25, flag="N")),
    ),
)

EDGE = f"""
kind = "edge"
station = "s1"
state_dir = "state"
[mqtt]
client_id = "edge-s1"
[[devices]]
name = "sonde"
profile = "water_five"
[devices.transport]
host = "127.0.0.1"
port = 5020
[hj212]
host = "127.0.0.1"
mn = "{MN}"
"""


def _load(tmp_path: Path, extra: str, port: int = 8212) -> EdgeConfig:
    path = tmp_path / "edge.toml"
    path.write_text(EDGE + f"port = {port}\n" + extra)
    return load(path, EdgeConfig)


def _uplink(tmp_path: Path, extra: str) -> Hj212Uplink:
    uplink = _load(tmp_path, extra).hj212
    assert uplink is not None
    return uplink


def _platform_codec(key: bytes = KEY) -> Codec2025:
    return Codec2025(KeyRing({MN: key}))


# -- configuration ---------------------------------------------------------------------------------


def test_version_2017_is_the_default_and_has_no_key(tmp_path: Path) -> None:
    uplink = _uplink(tmp_path, "")
    assert (uplink.version, uplink.key()) == ("2017", None)
    assert isinstance(wire_for(uplink), Wire2017)


def test_the_key_comes_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SP_TEST_SM4", KEY_HEX)
    uplink = _uplink(tmp_path, 'version = "2025"\nkey_env = "SP_TEST_SM4"\n')
    assert uplink.key() == KEY
    assert KEY_HEX not in repr(uplink)
    assert isinstance(wire_for(uplink), Wire2025)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(f"{KEY_HEX}\n", id="the-key-alone"),
        pytest.param(f"# station key\nOTHER={'00' * 16}\n{MN}={KEY_HEX}\n", id="the-mn-line"),
        pytest.param(f"OTHER={'00' * 16}\n{KEY_HEX}\n", id="the-key-for-every-mn"),
    ],
)
def test_the_key_comes_from_a_file_relative_to_the_config(tmp_path: Path, text: str) -> None:
    (tmp_path / "sm4.key").write_text(text)
    assert _uplink(tmp_path, 'version = "2025"\nkey_file = "sm4.key"\n').key() == KEY


def test_without_a_key_2025_goes_in_plaintext(tmp_path: Path) -> None:
    wire = wire_for(_uplink(tmp_path, 'version = "2025"\n'))
    assert isinstance(wire, Wire2025)
    assert not wire.encrypted
    frame, _ = wire.frame(encode(SEGMENT), resend=False)
    assert not Codec2025().decode(frame).encrypted


BAD_KEY = "not-a-key-but-a-secret"


@pytest.mark.parametrize(
    ("extra", "path", "reason"),
    [
        pytest.param(
            'key_env = "SP_TEST_SM4"\n', "hj212.key_env", "an HJ 212-2025 setting", id="key-on-2017"
        ),
        pytest.param(
            "heartbeat_interval = 5.0\n", "hj212.heartbeat_interval", "set version", id="beat-on-2017"
        ),
        pytest.param('version = "2020"\n', "hj212.version", "'2017' or '2025'", id="no-such-version"),
        pytest.param(
            'version = "2025"\nkey_env = "SP_TEST_UNSET"\n',
            "hj212.key_env",
            "environment variable SP_TEST_UNSET is not set",
            id="env-unset",
        ),
        pytest.param(
            'version = "2025"\nkey_env = "SP_TEST_SM4"\n',
            "hj212.key_env",
            "environment variable SP_TEST_SM4: an SM4 key is 32 hex digits",
            id="env-not-a-key",
        ),
        pytest.param(
            'version = "2025"\nkey_file = "missing.key"\n',
            "hj212.key_file",
            "cannot read key file",
            id="file-missing",
        ),
        pytest.param(
            'version = "2025"\nkey_file = "bad.key"\n',
            "hj212.key_file",
            "bad.key line 2: an SM4 key is 32 hex digits",
            id="file-not-a-key",
        ),
        pytest.param(
            'version = "2025"\nkey_file = "other.key"\n',
            "hj212.key_file",
            f"has no key for MN {MN}",
            id="file-without-the-mn",
        ),
        pytest.param(
            'version = "2025"\nkey_env = "SP_TEST_GOOD"\nkey_file = "other.key"\n',
            "hj212.key_file",
            "give key_env or key_file, not both",
            id="both",
        ),
        pytest.param(
            'version = "2025"\nheartbeat_interval = 0\n',
            "hj212.heartbeat_interval",
            "greater than 0",
            id="beat-0",
        ),
    ],
)
def test_errors_name_the_file_the_key_and_the_reason_never_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, extra: str, path: str, reason: str
) -> None:
    monkeypatch.setenv("SP_TEST_SM4", BAD_KEY)
    monkeypatch.setenv("SP_TEST_GOOD", KEY_HEX)
    monkeypatch.delenv("SP_TEST_UNSET", raising=False)
    (tmp_path / "bad.key").write_text(f"# key\n{MN}={BAD_KEY}\n")
    (tmp_path / "other.key").write_text(f"OTHER={KEY_HEX}\n")
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, extra)
    assert caught.value.file == str(tmp_path / "edge.toml")
    assert caught.value.path == path
    assert reason in caught.value.reason
    assert BAD_KEY not in str(caught.value)
    assert KEY_HEX not in str(caught.value)


# -- frames ----------------------------------------------------------------------------------------


def _wire_2025(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Wire2025:
    monkeypatch.setenv("SP_TEST_SM4", KEY_HEX)
    wire = wire_for(
        _uplink(tmp_path, 'version = "2025"\nkey_env = "SP_TEST_SM4"\npassword_env = "SP_TEST_PW"\n')
    )
    assert isinstance(wire, Wire2025)
    return wire


@pytest.fixture(autouse=True)
def _password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SP_TEST_PW", "123456")


def test_a_live_upload_is_encrypted_without_rf(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    wire = _wire_2025(tmp_path, monkeypatch)
    frame, qn = wire.frame(wire.store(SEGMENT), resend=False)
    assert qn == SEGMENT.qn
    assert b"{0x" in frame
    assert b"w01001" not in frame  # the data area is ciphertext
    decoded = _platform_codec().decode(frame)
    assert decoded.encrypted
    assert decoded.segment.flag == 9  # HJ 212-2025, reply wanted
    assert not decoded.segment.rf
    assert decoded.segment.cp == SEGMENT.cp
    assert (decoded.segment.cn, decoded.segment.mn, decoded.segment.pw) == ("2011", MN, "123456")


def test_a_resent_upload_carries_rf_1(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    wire = _wire_2025(tmp_path, monkeypatch)
    kept = wire.store(SEGMENT)
    frame, _ = wire.frame(kept, resend=True)
    assert b";RF=1;CP=&&{0x" in frame
    decoded = _platform_codec().decode(frame)
    assert decoded.encrypted
    assert decoded.segment.rf
    assert decoded.segment.cp == SEGMENT.cp
    assert wire.frame(kept, resend=False)[0] == wire.frame(kept, resend=False)[0]  # deterministic


def test_only_the_stations_key_decrypts_the_uploads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    frame, _ = _wire_2025(tmp_path, monkeypatch).frame(encode(SEGMENT), resend=False)
    with pytest.raises(KeyMissingError):
        Codec2025().decode(frame)
    with pytest.raises(WrongKeyError):
        _platform_codec(bytes(16)).decode(frame)


def test_a_heartbeat_is_9015_asking_for_a_reply_in_plaintext(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wire = _wire_2025(tmp_path, monkeypatch)
    frame = wire.heartbeat("20261207093000123")
    assert frame is not None
    decoded = _platform_codec().decode(frame)
    assert not decoded.encrypted  # 9015 is not an encrypted command
    segment = decoded.segment
    assert (segment.cn, segment.st, segment.mn, segment.pw, segment.flag) == ("9015", "21", MN, "123456", 9)
    assert (segment.qn, segment.cp, segment.rf) == ("20261207093000123", CpArea(), False)
    assert wire.heartbeat_interval == 60.0


def test_a_record_too_long_to_resend_is_refused_when_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wire = _wire_2025(tmp_path, monkeypatch)
    many = tuple(FactorValue(f"w{n:05d}", rtd=float(n), flag="N") for n in range(40))
    with pytest.raises(SegmentError):
        wire.store(DataSegment("21", "2011", qn="1", mn=MN, flag=5, cp=CpArea(factors=many)))


def test_2017_frames_are_the_kept_bytes_live_or_resent(tmp_path: Path) -> None:
    wire = wire_for(_uplink(tmp_path, ""))
    kept = wire.store(SEGMENT)
    assert kept == encode(SEGMENT)
    assert wire.frame(kept, resend=False) == (kept, SEGMENT.qn)
    assert wire.frame(kept, resend=True) == (kept, SEGMENT.qn)
    assert decode(kept).segment.flag == 5
    assert (wire.heartbeat_interval, wire.heartbeat("1")) == (None, None)


async def test_the_reply_reader_decodes_with_the_configured_edition_and_key() -> None:
    codec = _platform_codec()
    command = DataSegment(
        "91", "1014", qn="20261207093000001", mn=MN, flag=9, cp=CpArea(params=(("X" * 20, "1"),))
    )
    reply = data_reply(dataclasses.replace(SEGMENT, qn="20261207093000002"))
    stream = codec.encode(command) + codec.encode(reply)  # an encrypted command first, then the 9014
    assert b"{0x" in stream
    reader = asyncio.StreamReader()
    reader.feed_data(stream)
    got = await await_reply(reader, FrameSplitter(), "20261207093000002", 1.0, codec)
    assert (got.cn, got.flag) == ("9014", 8)
    reader = asyncio.StreamReader()
    reader.feed_data(stream)
    with pytest.raises(Hj212Error):  # HJ 212-2017 cannot read the platform's 2025 frames
        await await_reply(reader, FrameSplitter(), "20261207093000002", 1.0)


# -- the reporter: live, backlog, heartbeats ---------------------------------------------------------


def _reading(value: float) -> list[Reading]:
    return [Reading("s1", "ph", value, "pH", datetime.now(UTC), Flag.N)]


@contextlib.asynccontextmanager
async def _reporting(reporter: Hj212Reporter) -> AsyncIterator[None]:
    task = asyncio.create_task(reporter.run())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        reporter.close()


async def test_the_reporter_marks_backlog_rf_1_and_live_data_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("SP_TEST_SM4", KEY_HEX)
    port = free_port()
    config = _load(
        tmp_path,
        'version = "2025"\nkey_env = "SP_TEST_SM4"\nheartbeat_interval = 0.2\nreply_timeout = 2.0\n'
        "minute_period = 3600.0\nhourly = false\n",
        port,
    )
    assert config.hj212 is not None
    reporter = Hj212Reporter(config, config.hj212)
    platform = Platform(port, _platform_codec())
    await platform.start()  # before the reporter: its first record is live
    try:
        async with _reporting(reporter):
            reporter.record(_reading(7.0))
            await platform.wait_for("2011", 1, 10)
            await platform.wait_for("9015", 2, 10)
            await platform.stop()
            reporter.record(_reading(7.1))  # the platform is down: this one waits and goes as backlog
            await platform.start()
            await platform.wait_for("2011", 2, 15)
            reporter.record(_reading(7.2))
            uploads = await platform.wait_for("2011", 3, 10)
    finally:
        await platform.stop()
    assert platform.errors == []
    assert [u.segment.rf for u in uploads] == [False, True, False]
    assert all(u.encrypted for u in uploads)
    assert [u.segment.cp.factors[0].rtd for u in uploads] == [7.0, 7.1, 7.2]
    assert reporter.heartbeats >= 2
    assert all(not h.encrypted and h.segment.flag == 9 for h in platform.of("9015"))
    assert "unreachable" in caplog.text or "connection ended" in caplog.text  # the outage was seen
    assert KEY_HEX not in caplog.text
    assert KEY_HEX.upper() not in caplog.text


async def test_records_kept_before_a_restart_are_backlog(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SP_TEST_SM4", KEY_HEX)
    port = free_port()
    config = _load(
        tmp_path, 'version = "2025"\nkey_env = "SP_TEST_SM4"\nminute_period = 3600.0\nhourly = false\n', port
    )
    assert config.hj212 is not None
    before = Hj212Reporter(config, config.hj212)
    before.record(_reading(6.9))  # kept; the agent stops before sending it
    before.close()
    reporter = Hj212Reporter(config, config.hj212)
    async with Platform(port, _platform_codec()) as platform, _reporting(reporter):
        reporter.record(_reading(7.0))
        uploads = await platform.wait_for("2011", 2, 10)
    assert [(u.segment.cp.factors[0].rtd, u.segment.rf) for u in uploads] == [(6.9, True), (7.0, False)]
