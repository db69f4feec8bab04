"""The inputs the fuzzers found that crashed a decoder with a foreign exception, kept as fixed cases so
each fix stays fixed whatever the fuzzers draw next time."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from stationpipe.cli import check_file
from stationpipe.collector.hj212_config import Logger
from stationpipe.collector.hj212_map import to_message
from stationpipe.edge.decode import decode_point, point_reading
from stationpipe.hj212 import decode, encode
from stationpipe.hj212.frame import wrap
from stationpipe.kernel import wire
from stationpipe.kernel.ascii_template import parse, resolve
from stationpipe.kernel.config import read_toml
from stationpipe.kernel.errors import ConfigError, DeviceError, RejectedError, WireError
from stationpipe.kernel.nmea0183 import checksum
from stationpipe.kernel.reading import Flag
from stationpipe.kernel.registermap import DataType, Point

TS = datetime(2026, 11, 22, tzinfo=UTC)
UPLOAD = "QN={qn};ST=21;CN=2011;PW=1;MN=MN1;Flag=5;CP=&&DataTime={time};w21003-Rtd=1&&"


@pytest.mark.parametrize(
    ("topic", "payload", "field"),
    [
        (
            "stations/s1/readings",
            b'{"v":1,"station":"s1","device":"d","seq":1,"ts":"0001-01-01T00:00:00+23:59","readings":{}}',
            "ts",
        ),
        (
            "stations/s1/readings",
            (
                b'{"v":1,"station":"s1","device":"d","seq":1,"ts":"2026-01-01T00:00:00Z","readings":'
                b'{"ph":{"value":7,"unit":"pH","flag":"N","ts":"9999-12-31T23:59:59-23:59"}}}'
            ),
            "readings.ph.ts",
        ),
        (
            "warnings/s1/r",
            (
                b'{"v":1,"station":"s1","rule":"r","level":1,"state":"firing","message":"m",'
                b'"started":"0001-01-01T00:00:00+01:00","ts":"2026-01-01T00:00:00Z","parameter":null,'
                b'"value":null,"limit":null,"ended":null}'
            ),
            "started",
        ),
    ],
)
def test_a_timestamp_with_no_utc_instant_is_a_wire_error(topic: str, payload: bytes, field: str) -> None:
    """Was OverflowError (the rules engine catches ValueError only: it would have stopped)."""
    with pytest.raises(WireError) as caught:
        wire.decode(topic, payload)
    assert caught.value.field == field
    assert "out of range" in caught.value.reason


@pytest.mark.parametrize(
    ("qn", "time", "error"),
    [
        ("1", "00010101000000", "DataTime 0001-01-01T00:00:00+08:00 is out of range"),  # was OverflowError
        ("²", "20260101000000", None),  # was ValueError from int("²"): "²".isdigit() is True
    ],
)
def test_hj212_uploads_that_crashed_the_mapping(qn: str, time: str, error: str | None) -> None:
    segment = decode(wrap(UPLOAD.format(qn=qn, time=time).encode())).segment
    logger = Logger(mn="MN1", station="s1")
    if error is None:
        assert to_message(segment, logger).message.readings[0].parameter == "nh3n"
        return
    with pytest.raises(RejectedError, match=re.escape(error)):
        to_message(segment, logger)


def test_two_codes_for_one_parameter_are_rejected_not_a_crash() -> None:
    text = UPLOAD.format(qn="1", time="20260101000000").replace("&&D", "&&w99001-Rtd=2;D")
    segment = decode(wrap(text.encode())).segment
    with pytest.raises(RejectedError, match="twice"):
        to_message(segment, Logger(mn="MN1", station="s1", factors={"w99001": "nh3n"}))


def test_a_year_before_1000_encodes_with_four_digits() -> None:
    """strftime('%Y') gave '1' for year 1: the re-encoded frame did not decode."""
    segment = decode(wrap(UPLOAD.format(qn="1", time="00010101000000").encode())).segment
    assert decode(encode(segment)).segment == segment


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (b"kind = [1]\n", "kind: must be one of"),  # was TypeError: unhashable type
        (b"kind = {a = 1}\n", "kind: must be one of"),
        (b'kind = "edge"\nstation = "\xff"\n', "not UTF-8 text"),  # was UnicodeDecodeError
    ],
)
def test_config_files_that_crashed_the_loader(tmp_path: Path, text: bytes, reason: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_bytes(text)
    with pytest.raises(ConfigError, match=reason):
        check_file(path)


def test_a_path_with_a_nul_byte_is_a_config_error(tmp_path: Path) -> None:
    """Was ValueError: embedded null byte (a profile path in an edge config)."""
    with pytest.raises(ConfigError, match="cannot read"):
        read_toml(tmp_path / "a\x00b.toml")


def test_a_high_byte_inside_an_spl_frame_is_a_device_error() -> None:
    """Was UnicodeEncodeError out of the checksum: the poller caught DeviceError only, the agent stopped.
    (SPL/1 is now read through its example template, which reads records as Latin-1.)"""
    body = "3,RD,temp=1,ph=7\ufffd25,do=1,cond=1,turb=1,FL=N"
    line = body.replace("\ufffd", "\xff").encode("latin-1")
    cs = checksum(body.replace("\ufffd", "")).encode()
    with pytest.raises(DeviceError, match="checksum mismatch"):
        parse(resolve("spl1-water-five", None), b"$" + line + b"*" + cs, 3)


def test_a_register_value_that_overflows_once_scaled_has_no_value() -> None:
    """Was ValueError from Reading (value must be finite): the poller stopped."""
    point = Point(parameter="ph", address=0, type=DataType.FLOAT64, scale=1000.0, unit="pH")
    reading = decode_point(point, 1.7e308, "s1", TS)
    assert (reading.value, reading.flag) == (None, Flag.D)


def test_an_spl_value_is_already_in_the_points_unit() -> None:
    """SPL/1 answers in the profile's unit; the register scale was applied to it a second time."""
    point = Point(parameter="ph", address=0, type=DataType.INT16, scale=0.01, unit="pH", range=(0.0, 14.0))
    reading = point_reading(point, 7.25, "s1", TS)
    assert (reading.value, reading.flag) == (7.25, Flag.N)
