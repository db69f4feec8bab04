"""HJ 212-2017 codec: the vector of docs/domain.md, fields, CP area, tolerance, malformed frames as tables."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from stationpipe import hj212
from stationpipe.hj212 import (
    CpArea,
    CpError,
    CrcError,
    DataSegment,
    ExeRtn,
    FactorValue,
    FrameError,
    FrameTooLargeError,
    Hj212Error,
    LengthError,
    PacketFlag,
    QnRtn,
    SegmentError,
    crc16,
    decode,
    encode,
)
from stationpipe.hj212.codes import CST, cst_to_utc, format_time, make_qn, parse_time, qn_time, utc_to_cst
from stationpipe.hj212.cp import format_number, parse_cp
from stationpipe.hj212.frame import wrap
from stationpipe.hj212.segment import format_segment, parse_segment
from stationpipe.kernel.catalogue import BY_HJ212
from stationpipe.kernel.errors import RejectedError
from stationpipe.kernel.reading import Flag

VECTOR = (
    "QN=20160801085857223;ST=32;CN=1062;PW=100000;MN=010000A8900016F000169DC0;Flag=5;CP=&&RtdInterval=30&&"
)
VECTOR_FRAME = b"##0101" + VECTOR.encode() + b"1C80\r\n"

UPLOAD = (
    "QN=20160801085857223;ST=21;CN=2011;PW=123456;MN=010000A8900016F000169DC0;Flag=5;"
    "CP=&&DataTime=20160801085857;w01001-Rtd=7.12,w01001-Flag=N;"
    "w21003-SampleTime=20160801085000,w21003-Rtd=0.35,w21003-Flag=D&&"
)


def test_domain_vector_length_and_crc() -> None:
    assert len(VECTOR) == 101
    assert crc16(VECTOR.encode()) == 0x1C80
    assert wrap(VECTOR.encode()) == VECTOR_FRAME


def test_domain_vector_decodes_and_encodes_back_byte_for_byte() -> None:
    frame = decode(VECTOR_FRAME)
    seg = frame.segment
    assert frame.crc_ok
    assert frame.crc == 0x1C80
    assert (seg.qn, seg.st, seg.cn, seg.pw, seg.mn, seg.flag) == (
        "20160801085857223",
        "32",
        "1062",
        "100000",
        "010000A8900016F000169DC0",
        5,
    )
    assert seg.cp.param("RtdInterval") == "30"
    assert seg.needs_reply
    assert not seg.is_split
    assert encode(seg) == VECTOR_FRAME


def test_upload_fields() -> None:
    seg = decode(wrap(UPLOAD.encode())).segment
    assert seg.cp.data_time == datetime(2016, 8, 1, 0, 58, 57, tzinfo=UTC)
    ph = seg.cp.factor("w01001")
    assert ph.rtd == 7.12
    assert ph.data_flag is Flag.N
    nh3n = seg.cp.factor("w21003")
    assert nh3n.data_flag is Flag.D
    assert nh3n.sample_time == datetime(2016, 8, 1, 8, 50, tzinfo=CST)
    assert BY_HJ212[nh3n.code].code == "nh3n"
    assert format_segment(seg) == UPLOAD


def test_all_factor_fields_and_unknown_ones() -> None:
    cp = parse_cp(
        "&&DataTime=20240101000000;w01018-Cou=12.5,w01018-Min=1,w01018-Avg=2.5,w01018-Max=4,"
        "w01018-Flag=N,w01018-ZsRtd=3.1,w01018-EFlag=A01&&"
    )
    f = cp.factor("w01018")
    assert (f.rtd, f.avg, f.min, f.max, f.cou, f.flag) == (None, 2.5, 1.0, 4.0, 12.5, "N")
    assert f.extra == (("ZsRtd", "3.1"), ("EFlag", "A01"))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("&&&&", CpArea()),
        ("&&DataTime=20240101000000;&&", CpArea(datetime(2024, 1, 1, tzinfo=CST))),  # trailing ';'
        # fields of one factor spread over groups, and ',' between factors
        (
            "&&w01001-Rtd=7,w01009-Rtd=8;w01001-Flag=N&&",
            CpArea(factors=(FactorValue("w01001", rtd=7.0, flag="N"), FactorValue("w01009", rtd=8.0))),
        ),
        ("&&x99999-Rtd=1.5e2&&", CpArea(factors=(FactorValue("x99999", rtd=150.0),))),  # not in catalogue
        ("&&QnRtn=1&&", CpArea(params=(("QnRtn", "1"),))),
    ],
)
def test_cp_tolerant_parsing(text: str, expected: CpArea) -> None:
    assert parse_cp(text) == expected


@pytest.mark.parametrize(
    ("segment", "check"),
    [
        # MN shorter than 24 characters
        ("ST=21;CN=2011;PW=1;MN=ABC;Flag=5;CP=&&&&", lambda s: s.mn == "ABC"),
        # unknown Flag value 8 (version 2, no A, no D)
        (
            "ST=21;CN=2011;MN=A;Flag=8;CP=&&&&",
            lambda s: (s.flag, s.needs_reply, s.is_split) == (8, False, False),
        ),
        # QN, PW, MN and Flag absent; fields in another order
        ("CN=2011;ST=22;CP=&&&&", lambda s: (s.qn, s.pw, s.mn, s.flag) == (None, None, None, None)),
        # empty items between fields
        ("ST=21;;CN=2011;CP=&&&&", lambda s: s.cn == "2011"),
    ],
)
def test_tolerant_segments(segment: str, check: object) -> None:
    seg = decode(wrap(segment.encode())).segment
    assert callable(check)
    assert check(seg)


def test_codec_registry_by_version() -> None:
    assert hj212.CODECS[hj212.Version.HJ212_2017].decode(VECTOR_FRAME).version is hj212.Version.HJ212_2017


def test_lower_case_crc_is_accepted() -> None:
    raw = b"##0101" + VECTOR.encode() + b"1c80\r\n"
    assert decode(raw).crc_ok


def _frame(segment: str, crc: str | None = None, length: str | None = None) -> bytes:
    body = segment.encode()
    crc = crc if crc is not None else f"{crc16(body):04X}"
    length = length if length is not None else f"{len(body):04d}"
    return b"##" + length.encode() + body + crc.encode() + b"\r\n"


@pytest.mark.parametrize(
    ("raw", "error", "words"),
    [
        pytest.param(_frame(VECTOR, crc="1C81"), CrcError, "CRC mismatch", id="bad-crc"),
        pytest.param(_frame(VECTOR, crc="1CXZ"), CrcError, "not 4 hex digits", id="non-hex-crc"),
        pytest.param(_frame(VECTOR, length="0100"), LengthError, "length field says 0100", id="wrong-length"),
        pytest.param(
            _frame(VECTOR, length="01a1"), FrameError, "not 4 decimal digits", id="length-not-digits"
        ),
        pytest.param(_frame(VECTOR)[2:], FrameError, "start with '##'", id="missing-hashes"),
        pytest.param(_frame(VECTOR)[:-2], FrameError, "end with CR LF", id="missing-crlf"),
        pytest.param(_frame(VECTOR)[:-1], FrameError, "end with CR LF", id="missing-lf"),
        pytest.param(b"##00\r\n", FrameError, "shorter", id="truncated"),
        pytest.param(b"##9999" + b"x" * 20000 + b"\r\n", FrameTooLargeError, "limit", id="oversized"),
        pytest.param(_frame("ST=21;CN=2011;CP=&&w01001-Rtd&&"), CpError, "not key=value", id="cp-item"),
        pytest.param(_frame("ST=21;CN=2011;CP=&&w01001-Rtd=1"), CpError, "&&", id="cp-unclosed"),
        pytest.param(_frame("ST=21;CN=2011;CP=&&w01001-Rtd=abc&&"), CpError, "w01001-Rtd", id="cp-number"),
        pytest.param(_frame("ST=21;CN=2011;CP=&&w01001-Rtd=nan&&"), CpError, "not a number", id="cp-nan"),
        pytest.param(
            _frame("ST=21;CN=2011;CP=&&w01001-Rtd=1;w01001-Rtd=2&&"), CpError, "repeated", id="cp-dup"
        ),
        pytest.param(_frame("ST=21;CN=2011;CP=&&DataTime=2016080108&&"), CpError, "DataTime", id="cp-time"),
        pytest.param(_frame("ST=21;CN=2011;CP=&&-Rtd=1&&"), CpError, "factor code", id="cp-no-code"),
        pytest.param(_frame("ST=21;CN=2011;PW=1"), SegmentError, "CP=&&", id="no-cp"),
        pytest.param(_frame("ST=21;CP=&&&&"), SegmentError, "CN missing", id="no-cn"),
        pytest.param(_frame("ST=21;CN=1;Flag=x;CP=&&&&"), SegmentError, "Flag", id="flag-not-int"),
        pytest.param(
            _frame("ST=21;CN=1;XX=1;CP=&&&&"), SegmentError, "unknown field 'XX'", id="unknown-field"
        ),
        pytest.param(_frame("ST=21;ST=22;CN=1;CP=&&&&"), SegmentError, "twice", id="dup-field"),
        pytest.param(_frame("ST=21;CN=1;PNUM=2;CP=&&&&"), SegmentError, "together", id="pnum-alone"),
        pytest.param(_frame("ST=21;CN=1;PNUM=2;PNO=3;CP=&&&&"), SegmentError, "PNO 3", id="pno-range"),
        pytest.param(
            wrap("ST=21;CN=1;PW=\u00e9;CP=&&&&".encode("latin-1")), FrameError, "UTF-8", id="not-utf8"
        ),
    ],
)
def test_malformed_frames_raise_a_clear_error(raw: bytes, error: type[Hj212Error], words: str) -> None:
    with pytest.raises(error, match=None) as info:
        decode(raw)
    assert words in info.value.reason
    assert str(info.value) == info.value.reason


def test_errors_are_rejected_errors_with_qnrtn() -> None:
    with pytest.raises(RejectedError) as info:
        decode(_frame(VECTOR, crc="0000"))
    assert isinstance(info.value, CrcError)
    assert info.value.qn_rtn is QnRtn.CRC_ERROR


def test_bad_crc_can_be_reported_instead_of_raised() -> None:
    frame = decode(_frame(VECTOR, crc="1C81"), verify_crc=False)
    assert not frame.crc_ok
    assert frame.crc == 0x1C81
    assert frame.segment.cp.param("RtdInterval") == "30"


def test_data_reply_9014() -> None:
    upload = parse_segment(UPLOAD)
    reply = hj212.data_reply(upload)
    assert format_segment(reply) == (
        "QN=20160801085857223;ST=91;CN=9014;PW=123456;MN=010000A8900016F000169DC0;Flag=4;CP=&&&&"
    )
    assert decode(encode(reply)).segment == reply


@pytest.mark.parametrize(
    ("reply", "cp"),
    [
        (
            hj212.qn_rtn(parse_segment(VECTOR), QnRtn.READY),
            "CN=9011;PW=100000;MN=010000A8900016F000169DC0;Flag=4;CP=&&QnRtn=1&&",
        ),
        (
            hj212.qn_rtn(parse_segment(VECTOR), QnRtn.WRONG_PW),
            "CN=9011;PW=100000;MN=010000A8900016F000169DC0;Flag=4;CP=&&QnRtn=3&&",
        ),
        (
            hj212.exe_rtn(parse_segment(VECTOR), ExeRtn.SUCCESS),
            "CN=9012;PW=100000;MN=010000A8900016F000169DC0;Flag=4;CP=&&ExeRtn=1&&",
        ),
        (
            hj212.exe_rtn(parse_segment(VECTOR), ExeRtn.NO_DATA),
            "CN=9012;PW=100000;MN=010000A8900016F000169DC0;Flag=4;CP=&&ExeRtn=100&&",
        ),
        (
            hj212.notify_reply(parse_segment(VECTOR)),
            "CN=9013;PW=100000;MN=010000A8900016F000169DC0;Flag=4;CP=&&&&",
        ),
    ],
)
def test_replies(reply: DataSegment, cp: str) -> None:
    assert format_segment(reply) == "QN=20160801085857223;ST=91;" + cp


@pytest.mark.parametrize(
    ("value", "version", "split", "ack"),
    [
        (4, 1, False, False),
        (5, 1, False, True),
        (7, 1, True, True),
        (8, 2, False, False),
        (1, 0, False, True),
    ],
)
def test_packet_flag_bits(value: int, version: int, split: bool, ack: bool) -> None:
    flag = PacketFlag(value)
    assert (flag.version, flag.split, flag.ack) == (version, split, ack)
    assert PacketFlag.make(version=version, split=split, ack=ack) == flag


def test_china_standard_time_helpers() -> None:
    local = parse_time("20160801085857")
    assert cst_to_utc(local) == datetime(2016, 8, 1, 0, 58, 57, tzinfo=UTC)
    assert cst_to_utc(datetime(2016, 8, 1, 8, 58, 57)) == datetime(2016, 8, 1, 0, 58, 57, tzinfo=UTC)  # noqa: DTZ001
    assert utc_to_cst(datetime(2016, 8, 1, 16, 0, tzinfo=UTC)).hour == 0
    assert format_time(datetime(2016, 8, 1, 16, 0, tzinfo=UTC)) == "20160802000000"
    instant = datetime(2016, 8, 1, 0, 58, 57, 223000, tzinfo=UTC)
    assert make_qn(instant) == "20160801085857223"
    assert qn_time("20160801085857223") == instant


@pytest.mark.parametrize("bad", ["2016080108585", "2016080108585x", "20161301000000"])
def test_bad_times(bad: str) -> None:
    with pytest.raises(ValueError, match=r"."):
        parse_time(bad)


@pytest.mark.parametrize(
    ("value", "text"),
    [(30.0, "30"), (7.12, "7.12"), (-0.5, "-0.5"), (1e-7, "0.0000001"), (1.5e20, "150000000000000000000")],
)
def test_numbers_are_written_without_exponent(value: float, text: str) -> None:
    assert format_number(value) == text
    assert float(text) == value


@pytest.mark.parametrize(
    "build",
    [
        lambda: FactorValue("w01001"),  # no field
        lambda: FactorValue("w01001", rtd=float("nan")),
        lambda: FactorValue("w01001", flag="N;"),
        lambda: FactorValue("w01-001", rtd=1.0),
        lambda: FactorValue("w01001", extra=(("Rtd", "1"),)),
        lambda: CpArea(factors=(FactorValue("a", rtd=1.0), FactorValue("a", avg=1.0))),
        lambda: CpArea(params=(("Data-Time", "1"),)),
        lambda: CpArea(datetime(2024, 1, 1)),  # noqa: DTZ001
        lambda: DataSegment(st="21", cn="2011", mn="A;B"),
        lambda: DataSegment(st="", cn="2011"),
        lambda: DataSegment(st="21", cn="2011", flag=-1),
    ],
)
def test_invalid_values_cannot_be_built(build: object) -> None:
    assert callable(build)
    with pytest.raises(SegmentError):
        build()


def test_encode_refuses_an_unsplit_oversized_segment() -> None:
    factors = tuple(FactorValue(f"x{i:05d}", rtd=float(i)) for i in range(100))
    with pytest.raises(SegmentError, match="split"):
        encode(DataSegment(st="21", cn="2011", cp=CpArea(factors=factors)))


def test_microseconds_cannot_be_encoded() -> None:
    seg = DataSegment(st="21", cn="2011", cp=CpArea(datetime(2024, 1, 1, 0, 0, 0, 5, tzinfo=UTC)))
    with pytest.raises(ValueError, match="sub-second"):
        encode(seg)
