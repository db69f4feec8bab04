"""The pure parts of HJ 212-2025 on the platform side: LF-ended frames in a stream, the header of a frame
that does not decrypt, keys and their rotation, the backfill mark on the wire, in the collector's lines
and in the rules engine, deadman rules watching heartbeats, the simulated logger's 2025 frames."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from stationpipe.collector.hj212_config import Hj212ServerConfig
from stationpipe.collector.hj212_frames import header_of, peek_mn
from stationpipe.collector.hj212_keys import KeyStore
from stationpipe.collector.hj212_map import to_message
from stationpipe.collector.records import decode as collector_decode
from stationpipe.hj212 import (
    CST,
    Codec2025,
    CpArea,
    DataSegment,
    Deviation,
    Deviations,
    FactorValue,
    FrameSplitter,
    KeyRing,
    Version,
    encode,
)
from stationpipe.kernel import wire
from stationpipe.kernel.messages import AgentState, StationStatus
from stationpipe.kernel.reading import Reading, StationMessage
from stationpipe.kernel.registry import WaterClass
from stationpipe.rules.evaluator import Evaluator
from stationpipe.simulators.hj212_logger import DataLogger
from stationpipe.simulators.model import StationModel
from tests.unit.rules_helpers import T0, config, message

MN = "010000A8900016F000169DC5"
KEY = bytes(range(16))
AT = datetime(2026, 11, 22, 9, 30, tzinfo=CST)


def _segment(qn: str = "20261122093000001", **extra: Any) -> DataSegment:
    cp = CpArea(data_time=AT, factors=(FactorValue("w21003", rtd=1.25, flag="N"),))
    return DataSegment("21", "2011", qn=qn, pw="123456", mn=MN, flag=9, cp=cp, **extra)


# -- the stream ---------------------------------------------------------------------------------------


def test_crlf_streams_are_cut_as_before_with_or_without_lf_tolerance() -> None:
    stream = b"noise" + encode(_segment()) + b"##zz" + encode(_segment("20261122093000002"))
    for chunking in (1, 7, len(stream)):
        cut = []
        for tolerant in (False, True):
            splitter = FrameSplitter(lf_alone=tolerant)
            frames = [
                f for i in range(0, len(stream), chunking) for f in splitter.feed(stream[i : i + chunking])
            ]
            cut.append((frames, splitter.discarded, splitter.lf_ended))
        assert cut[0] == cut[1]
        assert cut[0][2] == 0


def test_a_lone_lf_ends_a_frame_counted_and_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    frames = [encode(_segment(f"2026112209300000{n}")) for n in range(3)]
    deviations = Deviations()
    splitter = FrameSplitter(lf_alone=True, deviations=deviations)
    stream = frames[0][:-2] + b"\n" + frames[1] + frames[2][:-2] + b"\n"
    with caplog.at_level(logging.WARNING):
        assert list(splitter.feed(stream)) == frames  # returned with CR LF, decodable as ever
    assert (splitter.lf_ended, deviations.count(Deviation.LF_LINE_END)) == (2, 2)
    assert sum("lf-line-end" in r.getMessage() for r in caplog.records) == 1
    strict = FrameSplitter()
    assert list(strict.feed(frames[0][:-2] + b"\n")) == []  # HJ 212-2017 waits for CR LF


# -- a frame before decoding --------------------------------------------------------------------------


def test_peek_mn_and_header_of_an_encrypted_frame() -> None:
    frame = Codec2025(KeyRing({MN: KEY})).encode(_segment(rf=True))
    assert b"{0x" in frame
    assert peek_mn(frame) == MN
    header = header_of(frame)
    assert header is not None
    assert (header.qn, header.cn, header.mn, header.rf, header.cp) == (
        "20261122093000001", "2011", MN, True, CpArea()
    )  # fmt: skip
    assert peek_mn(b"##0010QN=1;ST=21") is None
    assert header_of(b"##0010garbage\r\n") is None


# -- keys ---------------------------------------------------------------------------------------------


def _server_config(tmp: Path, **extra: Any) -> Hj212ServerConfig:
    doc = {
        "mqtt": {"client_id": "t"},
        "loggers": [{"mn": MN, "station": "s1", "version": "2025", "key_env": "UT_HJ25_KEY"},
                    {"mn": "OLD", "station": "s2"}],
        **extra,
    }  # fmt: skip
    return Hj212ServerConfig.model_validate(doc)


def test_key_store_rotation_grace_and_persistence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UT_HJ25_KEY", KEY.hex())
    (tmp_path / "keys").write_text(f"# comment\nOLD={'11' * 16}\n")
    rotated = tmp_path / "rotated"
    cfg = _server_config(tmp_path, keys_file=str(tmp_path / "keys"), rotated_keys=str(rotated), key_grace=60)
    keys = KeyStore(cfg, cfg.by_mn())
    assert (keys.current(MN), keys.current("OLD"), keys.current("NOBODY")) == (KEY, b"\x11" * 16, None)
    new = b"\x22" * 16
    keys.rotate(MN, new, now=100.0)
    assert (keys.current(MN), keys.previous(MN, 159.0), keys.previous(MN, 161.0)) == (new, KEY, None)
    assert rotated.read_text() == f"{MN}={'22' * 16}\n"
    assert rotated.stat().st_mode & 0o777 == 0o600
    again = KeyStore(cfg, cfg.by_mn())  # after a restart the rotated key holds
    assert again.current(MN) == new


@pytest.mark.parametrize(
    ("logger", "env", "message"),
    [
        ({"key_env": "UT_HJ25_KEY"}, KEY.hex(), "set version"),
        ({"version": "2025", "key_env": "UT_HJ25_KEY"}, "00112233" * 3, "32 hex digits"),
    ],
    ids=["key-for-2017", "short-key"],
)
def test_key_errors_name_the_logger_never_the_key(
    monkeypatch: pytest.MonkeyPatch, logger: dict[str, str], env: str, message: str
) -> None:
    monkeypatch.setenv("UT_HJ25_KEY", env)
    with pytest.raises(ValidationError, match=message) as caught:
        Hj212ServerConfig.model_validate(
            {"mqtt": {"client_id": "t"}, "loggers": [{"mn": MN, "station": "s1", **logger}]}
        )
    assert env not in str(caught.value)


def test_a_bad_keys_file_line_is_named_without_its_key(tmp_path: Path) -> None:
    (tmp_path / "keys").write_text(f"{MN}=00112233445566778899AABBCCDDEEFG\n")
    with pytest.raises(ValidationError, match="keys line 1") as caught:
        _server_config(tmp_path, keys_file=str(tmp_path / "keys"), loggers=[{"mn": MN, "station": "s1"}])
    assert "AABBCC" not in str(caught.value)


# -- backfill -----------------------------------------------------------------------------------------


def test_rf1_is_a_backfill_message_on_the_wire_and_in_the_collector(tmp_path: Path) -> None:
    cfg = _server_config(tmp_path, loggers=[{"mn": MN, "station": "s1", "version": "2025"}])
    logger = cfg.by_mn()[MN]
    live, resent = to_message(_segment(), logger).message, to_message(_segment(rf=True), logger).message
    assert (live.backfill, resent.backfill) == (False, True)
    topic, payload = wire.encode(live)
    assert b"backfill" not in payload  # every payload but a backfill one is as before
    topic, payload = wire.encode(resent)
    assert b'"backfill":true' in payload
    assert wire.decode(topic, payload) == resent
    lines = collector_decode(topic, payload, datetime.now(UTC)).lines
    assert lines == [
        'readings,parameter=nh3n,station=s1 backfill=true,flag="N",value=1.25 1795311000000000000'
    ]
    assert "backfill" not in collector_decode(*wire.encode(live)).lines[0]


def test_a_backfill_message_is_evaluated_as_backfill_whatever_its_age(tmp_path: Path) -> None:
    cfg = config(tmp_path, [{"name": "section", "kind": "section", "parameters": ["nh3n"]}])
    ev = Evaluator(cfg, cfg.load_registry(), T0)
    ts = T0 + timedelta(minutes=1)
    assert ev.process(replace(message(1, ts, nh3n=1.2), backfill=True), ts).notes == []  # deferred
    out = ev.tick(ts + timedelta(seconds=5))
    assert [n.backfilled for n in out.notes] == [True]
    later = T0 + timedelta(minutes=2)
    assert [n.backfilled for n in ev.process(message(2, later, nh3n=2.5), later).notes] == [False]


def test_a_deadman_rule_watching_status_warns_when_heartbeats_stop(tmp_path: Path) -> None:
    rules = [{"name": "beat", "kind": "deadman", "watch": "status", "silent_for": "1m", "check_every": "1s",
              "stations": ["w1"]}]  # fmt: skip
    cfg = config(tmp_path, rules)
    assert cfg.topics(cfg.load_registry()) == [
        "$share/rules-p0/stations/+/readings",
        "$share/rules-p0/stations/+/status",
    ]
    ev = Evaluator(cfg, cfg.load_registry(), T0)
    for minutes in (0.5, 1.0, 1.5):
        wall = T0 + timedelta(minutes=minutes)
        ev.status(StationStatus("w1", AgentState.ONLINE, wall), wall)
        ev.process(message(int(minutes * 2), wall, nh3n=0.1), wall)  # readings do not count for it
        assert ev.tick(wall).notes == []
    ev.status(StationStatus("w1", AgentState.OFFLINE, T0), T0 + timedelta(minutes=2))  # not a heartbeat
    notes = ev.tick(T0 + timedelta(minutes=2, seconds=40)).notes
    assert [(n.station, n.rule) for n in notes] == [("w1", "beat")]
    assert "heartbeat" in notes[0].message_en


# -- the simulated logger -----------------------------------------------------------------------------


def test_the_simulated_logger_speaks_2025_with_rf_after_an_outage() -> None:
    model = StationModel.typical(WaterClass.III, seed=1)
    logger = DataLogger("127.0.0.1", 1, MN, "pw", model, ("nh3n",), version=Version.HJ212_2025, key=KEY)
    at = datetime(2026, 11, 22, 1, 17, 30, tzinfo=UTC)
    frame = logger.codec.encode(logger.upload(at))
    assert b"{0x" in frame
    decoded = Codec2025(KeyRing({MN: KEY})).decode(frame).segment
    assert (decoded.flag, decoded.rf) == (9, False)
    logger.produce(at)
    logger._mark_resent()
    assert logger.pending[0].rf
    assert logger.resent == [logger.pending[0].qn]
    beat = logger._heartbeat()
    assert (beat.cn, beat.needs_reply, beat.cp) == ("9015", True, CpArea())
    assert str(KEY) not in repr(logger)


def test_messages_without_backfill_compare_as_before() -> None:
    reading = Reading("s1", "nh3n", 1.0, "mg/L", T0)
    assert StationMessage("s1", "d", 1, T0, (reading,)) == StationMessage("s1", "d", 1, T0, (reading,), False)
