"""HJ 212 from analysers, without a link: the device's hj212 table, what the driver makes of each frame
(and answers), what a reader reports, the simulated analyser's faults, and the shipped examples."""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from stationpipe.cli import app
from stationpipe.edge.config import EdgeConfig
from stationpipe.edge.drivers.hj212 import MAX_SPLIT_PENDING, AnalyserReader, Hj212Driver
from stationpipe.edge.metrics import EdgeMetrics
from stationpipe.edge.poller import Poller
from stationpipe.hj212 import (
    CODECS,
    Codec2025,
    CpArea,
    DataSegment,
    FactorValue,
    FrameSplitter,
    KeyRing,
    Version,
    encode,
    encode_packets,
)
from stationpipe.hj212.readings import data_flag, factor_parameter
from stationpipe.kernel.errors import DeviceChecksumError, DeviceSilentError
from stationpipe.kernel.reading import Flag
from stationpipe.simulators.board import NORMAL, Board
from stationpipe.simulators.config import HjAnalyserSim
from stationpipe.simulators.hj212_analyser import Analyser, bad_crc

ROOT = Path(__file__).resolve().parents[2]
HEAD = {"station": "st", "state_dir": "/tmp/x", "mqtt": {"port": 1883, "client_id": "t"}}
KEY = bytes.fromhex("00112233445566778899AABBCCDDEEFF")
MN = "MN-COD"
AT = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)


def _config(**hj212: Any) -> EdgeConfig:
    device = {
        "name": "cod",
        "protocol": "hj212",
        "link": {"type": "serial", "port": "/dev/null"},
        "interval": 10.0,
        "hj212": {"mn": MN, **hj212},
    }
    return EdgeConfig.model_validate(
        {
            "station": "st",
            "state_dir": "/tmp/x",
            "mqtt": {"port": 1883, "client_id": "t"},
            "devices": [device],
        }
    )


def _driver(**hj212: Any) -> tuple[Hj212Driver, AnalyserReader]:
    config = _config(**hj212)
    driver = Hj212Driver(config, config.lines()[0])
    reader = driver.readers()[0]
    assert isinstance(reader, AnalyserReader)
    return driver, reader


def _upload(*factors: FactorValue, mn: str = MN, flag: int = 5) -> DataSegment:
    cp = CpArea(data_time=AT, factors=factors)
    return DataSegment(st="21", cn="2011", qn="20260501160000000", pw="1", mn=mn, flag=flag, cp=cp)


def test_an_hj212_device_has_an_hj212_table_and_no_profile() -> None:
    assert _config(expect=["w01018"]).devices[0].analyser.expect == ("w01018",)
    link = {"type": "serial", "port": "/dev/null"}
    with pytest.raises(ValidationError, match="no profile"):
        EdgeConfig.model_validate(
            {
                "station": "st",
                "state_dir": "/tmp/x",
                "mqtt": {"port": 1883, "client_id": "t"},
                "devices": [{"name": "a", "protocol": "hj212", "link": link, "profile": "p.toml"}],
            }
        )
    with pytest.raises(ValidationError, match="belongs to a protocol"):
        EdgeConfig.model_validate(
            {
                "station": "st",
                "state_dir": "/tmp/x",
                "mqtt": {"port": 1883, "client_id": "t"},
                "devices": [
                    {"name": "a", "protocol": "hessen", "link": link, "profile": "p.toml", "hj212": {}}
                ],
            }
        )


@pytest.mark.parametrize(
    ("table", "match"),
    [
        ({"expect": ["x99999"]}, "neither in the catalogue"),
        ({"key_env": "K"}, "set version"),
        ({"factors": {"x1": "nope"}}, "not a catalogue parameter"),
        ({"units": {"cod": "ppb"}}, "cannot convert"),
    ],
)
def test_the_hj212_table_is_checked(table: dict[str, Any], match: str) -> None:
    with pytest.raises(ValidationError, match=match):
        _config(**table)


def test_an_upload_asking_for_a_reply_is_read_and_answered_9014() -> None:
    driver, reader = _driver(expect=["w01018"])
    reply = driver.handle(encode(_upload(FactorValue("w01018", rtd=23.5, flag="N"))))
    assert reply is not None
    answer = CODECS[Version.HJ212_2017].decode(reply).segment
    assert (answer.cn, answer.qn) == ("9014", "20260501160000000")
    assert reader.latest["w01018"].factor.rtd == 23.5
    assert driver.handle(encode(_upload(FactorValue("w01018", rtd=1.0), flag=4))) is None  # no A bit


def test_a_bad_crc_is_answered_9011_qnrtn_9_and_counted_on_its_device() -> None:
    driver, reader = _driver()
    reply = driver.handle(bad_crc(encode(_upload(FactorValue("w01018", rtd=1.0)))))
    assert reply is not None
    assert CODECS[Version.HJ212_2017].decode(reply).segment.cp.param("QnRtn") == "9"
    assert not reader.latest
    assert driver.rejected == 1


async def test_a_bad_crc_reaches_the_next_poll_as_a_checksum_error() -> None:
    driver, reader = _driver(expect=["w01018"])
    driver.handle(bad_crc(encode(_upload(FactorValue("w01018", rtd=1.0)))))
    poll = await reader.poll()
    assert any(isinstance(e, DeviceChecksumError) for e in poll.errors)
    assert [r.flag for r in poll.readings] == [Flag.B]
    assert not poll.answered  # the status line counts it as not answering ...
    assert any(isinstance(e, DeviceSilentError) for e in poll.errors)  # ... but it is not backed off


def test_an_unknown_mn_is_answered_qnrtn_4() -> None:
    driver, _ = _driver()
    reply = driver.handle(encode(_upload(FactorValue("w01018", rtd=1.0), mn="OTHER")))
    assert reply is not None
    assert CODECS[Version.HJ212_2017].decode(reply).segment.cp.param("QnRtn") == "4"


def test_split_packets_are_reassembled() -> None:
    driver, reader = _driver()
    factors = [FactorValue(f"w{n:05d}", rtd=float(n)) for n in range(1, 80)]
    factors.append(FactorValue("w01018", rtd=7.0))
    packets = encode_packets(_upload(*factors))
    assert len(packets) > 1
    for raw in packets:
        driver.handle(raw)
    assert reader.latest["w01018"].factor.rtd == 7.0


async def test_flags_units_and_freshness() -> None:
    _, reader = _driver(max_age=5.0, units={"so2": "mg/m3"})
    reader.take(
        _upload(
            FactorValue("w01018", rtd=12.0, flag="C"),
            FactorValue("w21003", flag="N"),
            FactorValue("a21026", rtd=0.012, flag="N"),
        )
    )
    by_code = {r.parameter: r for r in (await reader.poll()).readings}
    assert (by_code["cod"].value, by_code["cod"].flag) == (12.0, Flag.C)  # the analyser's own flag
    assert (by_code["nh3n"].value, by_code["nh3n"].flag) == (None, Flag.D)  # no value: D
    assert by_code["so2"].value == pytest.approx(12.0)  # mg/m3 as sent, ug/m3 as catalogued
    assert by_code["so2"].unit == "ug/m3"
    for code in list(reader.latest):
        reader.latest[code] = type(reader.latest[code])(reader.latest[code].factor, time.monotonic() - 6)
    assert {r.flag for r in (await reader.poll()).readings} == {Flag.B}  # nothing fresh


def test_an_unknown_flag_letter_is_kept_as_d_by_one_rule() -> None:
    assert data_flag(FactorValue("w01018", rtd=1.0, flag="X")) is Flag.D
    assert data_flag(FactorValue("w01018", rtd=1.0)) is Flag.N
    assert factor_parameter("w01018") == "cod"
    assert factor_parameter("w01018", {"w01018": "codmn"}) == "codmn"
    assert factor_parameter("x00000") is None


def test_an_encrypted_2025_upload_is_read_with_the_analysers_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("T_HJ212_KEY", KEY.hex())
    driver, reader = _driver(version="2025", key_env="T_HJ212_KEY")
    codec = Codec2025(KeyRing({MN: KEY}))
    frame = codec.encode(_upload(FactorValue("w01018", rtd=3.25, flag="N")))
    assert b"{0x" in frame
    reply = driver.handle(frame)
    assert reply is not None
    assert codec.decode(reply).segment.cn == "9014"
    assert reader.latest["w01018"].factor.rtd == 3.25


def test_the_simulated_analyser_garbles_splits_and_adds_noise_on_schedule() -> None:
    cfg = HjAnalyserSim(name="a", mn=MN, parameters=("codmn",), bad_crc_every=2, split_every=3, noise_every=1)
    sim = Analyser(cfg, Board.of(()))
    splitter = FrameSplitter()
    crc_ok: list[bool] = []
    for _ in range(6):
        chunks = sim.chunks(sim.codec.encode(sim.realtime(AT, NORMAL)), NORMAL)
        assert len(chunks) == (2 if sim.sent % 3 == 0 else 1)
        for chunk in chunks:
            decoded = [
                CODECS[Version.HJ212_2017].decode(raw, verify_crc=False) for raw in splitter.feed(chunk)
            ]
            crc_ok.extend(frame.crc_ok for frame in decoded)
    assert crc_ok == [True, False, True, False, True, False]
    assert splitter.discarded > 0  # the noise before each frame
    value = sim.realtime(AT, NORMAL).cp.factors[0].rtd
    assert value is not None
    assert math.isfinite(value)


def test_check_accepts_the_hj212_examples() -> None:
    files = [ROOT / "deploy/config/edge.hj212.example.toml", ROOT / "deploy/config/sim.hj212.example.toml"]
    result = CliRunner().invoke(app, ["check", *map(str, files)])
    assert result.exit_code == 0, result.output


def test_split_uploads_that_never_complete_are_bounded_and_counted() -> None:
    driver, _ = _driver()
    for n in range(MAX_SPLIT_PENDING + 3):
        first = DataSegment(
            st="21",
            cn="2011",
            qn=f"2026050116000{n:04d}",
            mn=MN,
            flag=6,
            pnum=2,
            pno=1,
            cp=CpArea(data_time=AT),
        )
        driver.handle(encode(first))
    assert driver.rejected == 3  # the three oldest dropped, each noted


async def test_a_silent_push_analyser_counts_as_not_answering_and_is_not_backed_off() -> None:
    driver, reader = _driver(expect=["w01018"])
    poller = Poller(reader, EdgeMetrics())
    silent = await poller.poll_once()
    assert [r.flag for r in silent.readings] == [Flag.B]
    assert not poller.available  # "devices 0/1 answering" on the status line
    driver.handle(encode(_upload(FactorValue("w01018", rtd=7.5))))
    heard = await poller.poll_once()  # no backoff: the frame that came is read at the next poll
    assert [(r.value, r.flag) for r in heard.readings] == [(7.5, Flag.N)]
    assert poller.available
