"""HJ 212-2025: golden frames of the standard's appendix A, SM4 data areas, tolerated deviations, RF, split.

Golden vectors: HJ 212-2025 (《污染物自动监测监控系统数据传输技术要求》, MEE, 2025-06-06), appendix A.1 (the
CRC example) and appendix A.2 (encrypted transmission, "密钥使用16个0x30": key = sixteen 0x30 bytes), as
transcribed from the official PDF
(https://www.mee.gov.cn/ywgz/fgbz/bz/bzwb/jcffbz/202507/W020250711505311328432.pdf) in the public
repository Daidai52640/cems-data-pipeline, tests/protocol/hj212/test_vectors.json (``crc_example_a1``,
``a2_example_2``: 208-byte data area = 13 blocks; ``a2_example_4``: 147 bytes = 9 blocks + plaintext tail
``g=N``). The ciphertext was checked independently here: SM4-ECB decryption (``cryptography``) of the
printed bytes with that key gives the printed plaintext, and the CRCs 2200 and B541 are those of the
plaintext segments. See docs/domain.md#hj-212-2025.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stationpipe.hj212 import (
    CODECS,
    CipherError,
    Cn,
    Codec2017,
    Codec2025,
    CpArea,
    CpError,
    CrcError,
    DataSegment,
    Deviation,
    FactorValue,
    KeyMissingError,
    KeyRing,
    LengthError,
    PacketFlag,
    SegmentError,
    Version,
    WrongKeyError,
    crc16,
    decode,
    encode,
    encrypted_cn,
    notify_reply,
    reassemble,
)
from stationpipe.hj212.cipher import decrypt_area, encrypt_area
from stationpipe.hj212.codec2025 import wrap_2025
from stationpipe.hj212.frame import wrap
from stationpipe.hj212.segment import format_segment
from tests.unit.test_hj212_props import segments

KEY = bytes([0x30] * 16)  # appendix A.2: "密钥使用16个0x30"
OTHER_KEY = bytes(range(16))
MN = "010000A8900016F000169DC0"

A1_SEGMENT = f"QN=20240601085857223;ST=32;CN=1011;PW=123456;MN={MN};Flag=9;CP=&&&&".encode()
A1_FRAME = b"##0087" + A1_SEGMENT + b"2200\r\n"

A2_HEAD = f"QN=20240520210700000;ST=31;CN=2051;PW=123456;MN={MN};Flag=9;CP=&&".encode()
A2_AREA_2 = (
    b"DataTime=20240520210600;a01011-Min=1.35,a01011-Avg=1.35,a01011-Max=1.35,a01011-Flag=N;"
    b"a01012-Min=9.3,a01012-Avg=9.3,a01012-Max=9.3,a01012-Flag=N;"
    b"a01014-Min=3.20,a01014-Avg=3.211,a01014-Max=3.212,a01014-Flag=N"
)
A2_AREA_4 = (
    b"DataTime=20240520210600;a01011-Min=1.35,a01011-Avg=1.35,a01011-Max=1.35,a01011-Flag=N;"
    b"a01014-Min=3.20,a01014-Avg=3.20,a01014-Max=3.20,a01014-Flag=N"
)
_COMMON = (
    "E43E159ACFAB242CB53155FB8B9281A1A242577ABFAED881BE88B72D69FC55ED1A80119FAAC8B3CD33D285CC76F57F2C"
    "A7F88B9573C6647E0F07E24609BD6B63EB20C5B9784F28E71D2F4994FF61D9E1"
)
A2_CIPHER_2 = bytes.fromhex(
    _COMMON + "C2B3075592B4D1E09C4D8BB27BE97B559E3DA6643781A6F477769DEEB009B10DFFF3426922725D607DC4480F0CAC5F"
    "70DB2587B124BCB281592721D6E4BC180A97E5E111499CBE822E31C8D7761553543AA24207C290997BBDE64F9266BC5F"
    "529A172E381C1D898CA1A0D771A914A7B2D7467C70B94F1D4A7B0350A48DBF8B41"
)
A2_CIPHER_4 = bytes.fromhex(
    _COMMON + "3B391A1D2A454B65388D5D9435DBF021528C7BF9755EF16518710C0CAC0ADEF9C5156CD0A5A17674AC0ED2ABC400"
    "23E9EF70128554B82438E91ADCE98A0D03A4"
)


def _notation(cipher: bytes) -> bytes:
    return b"{" + b",".join(b"0x%02X" % byte for byte in cipher) + b"}"


A2_FRAME_2 = b"##0295" + A2_HEAD + _notation(A2_CIPHER_2) + b"&&2200\r\n"
A2_FRAME_4 = b"##0234" + A2_HEAD + _notation(A2_CIPHER_4) + b"g=N&&B541\r\n"


def _codec(key: bytes | None = KEY) -> Codec2025:
    return Codec2025(KeyRing({MN: key}) if key is not None else None)


# -- golden frames of appendix A ---------------------------------------------------------------------


def test_appendix_a1_crc_example() -> None:
    assert len(A1_SEGMENT) == 87
    assert crc16(A1_SEGMENT) == 0x2200
    frame = _codec().decode(A1_FRAME)
    assert frame.crc_ok
    assert not frame.encrypted
    assert frame.version is Version.HJ212_2025
    assert frame.deviations == ()
    flag = frame.segment.packet_flag
    assert (flag.version, flag.ack, flag.split) == (2, True, False)
    assert encode(frame.segment) == b"##0087" + A1_SEGMENT + b"2200\r\n"  # framing is that of 2017


@pytest.mark.parametrize(
    ("frame", "area", "cipher", "tail"),
    [(A2_FRAME_2, A2_AREA_2, A2_CIPHER_2, b""), (A2_FRAME_4, A2_AREA_4, A2_CIPHER_4, b"g=N")],
    ids=["13-blocks", "9-blocks-and-tail"],
)
def test_appendix_a2_encrypted_frames(frame: bytes, area: bytes, cipher: bytes, tail: bytes) -> None:
    plain = A2_HEAD + area + b"&&"
    assert len(area) == len(cipher) + len(tail)
    assert encrypt_area(area, KEY) == _notation(cipher) + tail
    assert decrypt_area(_notation(cipher) + tail, KEY) == area
    assert wrap_2025(plain, KEY) == frame  # byte for byte: plaintext length and plaintext CRC
    decoded = _codec().decode(frame)
    assert decoded.encrypted
    assert decoded.crc_ok
    assert decoded.segment == decode(wrap(plain)).segment  # the same CP as the plaintext frame
    assert decoded.segment.cp.factor("a01011").avg == 1.35
    assert _codec().decode(wrap_2025(plain, None)).segment == decoded.segment


def test_sm4_is_the_standard_sm4() -> None:
    """GB/T 32907-2016 example 1: key = plaintext = 0123456789abcdeffedcba9876543210."""
    block = bytes.fromhex("0123456789abcdeffedcba9876543210")
    assert encrypt_area(block, block) == _notation(bytes.fromhex("681edf34d206965e86b3e94f536e4246"))


def test_either_length_field_is_accepted() -> None:
    sent = A2_FRAME_4[6:-6]
    as_sent = b"##%04d" % len(sent) + sent + b"B541\r\n"
    assert _codec().decode(as_sent).segment == _codec().decode(A2_FRAME_4).segment
    for wrong in (233, 235, len(sent) + 1):
        with pytest.raises(LengthError, match="length field"):
            _codec().decode(b"##%04d" % wrong + sent + b"B541\r\n")


# -- keys ----------------------------------------------------------------------------------------------


def test_wrong_key_is_a_clear_error_without_the_key() -> None:
    with pytest.raises(WrongKeyError, match="wrong key") as caught:
        _codec(OTHER_KEY).decode(A2_FRAME_2)
    assert OTHER_KEY.hex() not in caught.value.reason.lower()
    assert KEY.hex() not in caught.value.reason.lower()
    with pytest.raises(WrongKeyError):
        _codec(OTHER_KEY).decode(A2_FRAME_4, verify_crc=False)


def test_missing_key_is_a_clear_error() -> None:
    with pytest.raises(KeyMissingError, match=MN):
        Codec2025().decode(A2_FRAME_2)
    with pytest.raises(KeyMissingError):
        Codec2025(KeyRing({"another-MN": KEY})).decode(A2_FRAME_2)
    assert Codec2025(KeyRing(default=KEY)).decode(A2_FRAME_2).encrypted


def test_wrong_crc_of_an_encrypted_frame() -> None:
    broken = A2_FRAME_2[:-6] + b"2201\r\n"
    with pytest.raises(CrcError, match="wrong key"):
        _codec().decode(broken)
    frame = _codec().decode(broken, verify_crc=False)
    assert (frame.crc_ok, frame.crc, frame.encrypted) == (False, 0x2201, True)


@pytest.mark.parametrize(
    "area",
    [
        b"{0xE4,0x3E}",  # not whole blocks
        b"{" + b"0xE4," * 15 + b"0xZZ}",  # not hex
        b"{" + b"0xE4," * 15 + b"E4}",  # no 0x
        b"{" + b"0xE4," * 16 + b"}",  # empty item
        b"{0xE4",  # no closing brace
        _notation(bytes(16)) + b"0123456789ABCDEF",  # a tail of a whole block stays plain: not allowed
    ],
)
def test_malformed_ciphertext_is_a_cipher_error(area: bytes) -> None:
    with pytest.raises(CipherError):
        _codec().decode(b"##%04d" % len(A2_HEAD + area + b"&&") + A2_HEAD + area + b"&&0000\r\n")


def test_keyring_never_shows_keys(tmp_path: Path) -> None:
    ring = KeyRing({MN: KEY}, default=OTHER_KEY)
    assert KEY.hex() not in repr(ring)
    assert OTHER_KEY.hex() not in repr(ring)
    assert MN in repr(ring)
    path = tmp_path / "keys"
    path.write_text(f"# loggers\n{MN}={KEY.hex()}\n\n{OTHER_KEY.hex().upper()}\n", encoding="utf-8")
    loaded = KeyRing.from_file(path)
    assert (loaded.key_for(MN), loaded.key_for("other"), len(loaded)) == (KEY, OTHER_KEY, 2)
    path.write_text(f"{MN}={KEY.hex()[:-2]}zz\n", encoding="utf-8")
    with pytest.raises(ValueError, match="line 1") as caught:
        KeyRing.from_file(path)
    assert KEY.hex()[:-2] not in str(caught.value)
    with pytest.raises(ValueError, match="16 bytes"):
        KeyRing({MN: KEY[:15]})


# -- which frames are encrypted --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cn", "encrypted"),
    [
        ("2011", True),
        ("2000", True),
        ("2999", True),
        ("1014", True),
        ("3020", True),
        ("9014", False),
        ("1011", False),
        ("3019", False),
        ("9015", False),
        ("20111", False),
        ("201a", False),
    ],
)
def test_encrypted_commands(cn: str, encrypted: bool) -> None:
    segment = DataSegment("31", cn, mn=MN, flag=9, cp=CpArea(params=(("Info", "0123456789ABCDEF-x"),)))
    codec = _codec()
    assert encrypted_cn(cn) is encrypted
    assert codec.needs_key(segment) is encrypted
    raw = codec.encode(segment)
    assert (b"CP=&&{0x" in raw) is encrypted
    assert codec.decode(raw).segment == segment


@pytest.mark.parametrize("size", [0, 1, 15, 16, 17, 31, 32, 33, 47])
def test_tail_shorter_than_a_block_stays_plain(size: int) -> None:
    info = "x" * max(size - len("Info="), 0)
    segment = DataSegment(
        "31", "2011", mn=MN, flag=9, cp=CpArea(params=(("Info", info),)) if size else CpArea()
    )
    area = format_segment(segment).encode().split(b"CP=&&")[1][:-2]
    assert len(area) == size or (size < 5 and len(area) in (0, 5))
    raw = _codec().encode(segment)
    sent = raw.split(b"CP=&&")[1].rsplit(b"&&", 1)[0]
    blocks, tail = divmod(len(area), 16)
    if blocks:
        assert sent.startswith(b"{")
        assert sent.count(b"0x") == 16 * blocks
        assert sent.endswith(b"}" + area[len(area) - tail :])
    else:
        assert sent == area
    frame = _codec().decode(raw)
    assert (frame.segment, frame.encrypted) == (segment, blocks > 0)


# -- tolerated deviations ----------------------------------------------------------------------------------


def _plain_frame(cp: bytes, *, flag: int = 9) -> bytes:
    return wrap(b"QN=20260101000000000;ST=21;CN=2011;PW=1;MN=M1;Flag=%d;CP=&&%s&&" % (flag, cp))


MILLIS = _plain_frame(b"DataTime=20260101083000123;w01001-Rtd=7.1,w01001-SampleTime=20260101082959999")
PLAIN = _plain_frame(b"DataTime=20260101083000;w01001-Rtd=7.1")  # CRC 1C80: has a letter to lower
DEVIATING = {
    Deviation.DATATIME_MILLIS: MILLIS,
    Deviation.CRC_LOWER_CASE: PLAIN[:-6] + PLAIN[-6:-2].lower() + b"\r\n",
    Deviation.LF_LINE_END: PLAIN[:-2] + b"\n",
    Deviation.FLAG_VERSION: _plain_frame(b"DataTime=20260101083000;w01001-Rtd=7.1", flag=5),
}


@pytest.mark.parametrize("kind", list(Deviation))
def test_each_deviation_is_kept_counted_and_logged_once(
    kind: Deviation, caplog: pytest.LogCaptureFixture
) -> None:
    raw = DEVIATING[kind]
    assert raw != PLAIN
    codec = Codec2025()
    with caplog.at_level(logging.WARNING, logger="stationpipe.hj212"):
        first = codec.decode(raw)
        second = codec.decode(raw)
    assert first == second
    assert first.crc_ok
    assert first.segment.cp.factor("w01001").rtd == 7.1
    assert first.deviations == (str(kind),)
    assert codec.deviations.count(kind) == 2
    assert {k: n for k, n in codec.deviations.counts.items() if n} == {kind: 2}
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert str(kind) in warnings[0].getMessage()


def test_millisecond_times_are_cut_to_seconds() -> None:
    segment = Codec2025().decode(MILLIS).segment
    assert segment.cp.data_time is not None
    assert segment.cp.data_time.strftime("%H%M%S") == "083000"
    sample = segment.cp.factor("w01001").sample_time
    assert sample is not None
    assert sample.strftime("%H%M%S") == "082959"


def test_a_2017_codec_stays_strict_about_millisecond_times() -> None:
    with pytest.raises(SegmentError):
        decode(MILLIS)


def test_several_deviations_in_one_frame() -> None:
    raw = MILLIS[:-6] + MILLIS[-6:-2].lower() + b"\n"  # CRC 2C40
    codec = Codec2025()
    frame = codec.decode(raw)
    assert set(frame.deviations) == {
        Deviation.DATATIME_MILLIS,
        Deviation.LF_LINE_END,
        Deviation.CRC_LOWER_CASE,
    }
    assert all(codec.deviations.count(Deviation(kind)) == 1 for kind in frame.deviations)


# -- RF, heartbeat, versions -------------------------------------------------------------------------------


def test_rf_marks_resent_data() -> None:
    segment = DataSegment("21", "2061", qn="20260101000000000", mn=MN, flag=9, rf=True, cp=CpArea())
    raw = _codec().encode(segment)
    assert b";Flag=9;RF=1;CP=&&" in raw
    assert _codec().decode(raw).segment == segment
    with pytest.raises(SegmentError, match="RF=1"):
        Codec2017().encode(segment)
    with pytest.raises(SegmentError, match="unknown field 'RF'"):
        decode(wrap(format_segment(segment).encode()))
    for value in (b"0", b"2", b""):
        body = format_segment(segment).encode().replace(b"RF=1", b"RF=" + value)
        with pytest.raises(SegmentError, match="only RF=1"):
            Codec2025().decode(wrap(body))


def test_heartbeat_and_its_reply_carry_the_2025_version() -> None:
    heartbeat = DataSegment("21", Cn.HEARTBEAT, qn="20260101000000000", pw="1", mn=MN, flag=9)
    raw = Codec2025().encode(heartbeat)
    assert b"CN=9015;" in raw
    assert b"CP=&&&&" in raw
    reply = Codec2025().decode(Codec2025().encode(notify_reply(heartbeat))).segment
    assert (reply.cn, reply.qn, reply.flag) == ("9013", heartbeat.qn, 8)


def test_a_plain_cp_area_may_not_look_like_ciphertext() -> None:
    segment = DataSegment("21", "9014", flag=8, cp=CpArea(params=(("{x", "1"),)))
    for codec in (Codec2025(), _codec()):
        with pytest.raises(CpError, match="ciphertext"):
            codec.encode(segment)


def test_the_version_comes_from_the_codec_not_the_flag() -> None:
    assert isinstance(CODECS[Version.HJ212_2025], Codec2025)
    assert isinstance(CODECS[Version.HJ212_2017], Codec2017)
    assert decode(A1_FRAME).version is Version.HJ212_2017  # Flag=9 read by the 2017 codec is 2017
    segment = DataSegment("21", "2011", flag=5, cp=CpArea())
    assert Codec2025().decode(Codec2025().encode(segment)).segment.flag == 9  # version bits rewritten
    assert Codec2025().encode(DataSegment("21", "2011", flag=None)).count(b"Flag") == 0


# -- split packets -----------------------------------------------------------------------------------------


def _big(factors: int = 60) -> DataSegment:
    return DataSegment(
        "22",
        "2061",
        qn="20260101000000000",
        pw="123456",
        mn=MN,
        flag=9,
        cp=CpArea(
            CODECS[Version.HJ212_2017].decode(A1_FRAME).segment.cp.data_time,
            factors=tuple(FactorValue(f"a{n:05d}", avg=n + 0.125, flag="N") for n in range(factors)),
        ),
    )


@pytest.mark.parametrize("ack", [False, True])
def test_split_packets_carry_flag_10_or_11_and_reassemble(ack: bool) -> None:
    big = _big()
    segment = DataSegment(big.st, big.cn, big.qn, big.pw, big.mn, 9 if ack else 8, cp=big.cp)
    codec = _codec()
    frames = codec.encode_packets(segment)
    assert len(frames) > 1
    decoded = [codec.decode(raw) for raw in frames]
    assert all(frame.encrypted and frame.crc_ok for frame in decoded)
    assert {frame.segment.flag for frame in decoded} == {11 if ack else 10}
    assert [frame.segment.pno for frame in decoded] == list(range(1, len(frames) + 1))
    assert all(int(raw[2:6]) <= 1024 for raw in frames)  # the plaintext segment fits
    assert reassemble([frame.segment for frame in reversed(decoded)]) == segment


def test_a_cp_field_over_950_is_split_even_under_1024() -> None:
    segment = DataSegment(
        "22", "2011", flag=8, cp=CpArea(params=tuple((f"P{n:02d}", "v" * 40) for n in range(21)))
    )
    size = len(format_segment(segment))
    assert size - len("ST=22;CN=2011;Flag=8;") > 950
    assert size <= 1024
    frames = Codec2025().encode_packets(segment)
    assert len(frames) == 2
    assert reassemble([Codec2025().decode(raw).segment for raw in frames]) == segment
    with pytest.raises(SegmentError, match="split it"):
        Codec2025().encode(segment)
    assert len(Codec2017().encode_packets(segment)) == 1  # 2017 has no CP limit of its own


# -- properties --------------------------------------------------------------------------------------------


def _as_2025(segment: DataSegment) -> DataSegment:
    flag = None if segment.flag is None else PacketFlag.make(version=2).value | (segment.flag & 3)
    return DataSegment(
        segment.st, segment.cn, segment.qn, segment.pw, MN, flag, segment.pnum, segment.pno, segment.cp
    )


cns = st.sampled_from(["2011", "2051", "2061", "2031", "1014", "3020", "9014", "9015"])


@given(segments(max_factors=4), cns, st.booleans(), st.binary(min_size=16, max_size=16))
def test_encode_then_decode_is_identity_with_a_key(
    segment: DataSegment, cn: str, rf: bool, key: bytes
) -> None:
    segment = _as_2025(segment)
    segment = DataSegment(
        segment.st, cn, segment.qn, segment.pw, MN, segment.flag, segment.pnum, segment.pno, segment.cp, rf
    )
    codec = Codec2025(KeyRing({MN: key}))
    if not codec._fits(segment):
        return
    raw = codec.encode(segment)
    frame = codec.decode(raw)
    assert frame.segment == segment
    assert frame.crc_ok
    assert frame.deviations == ()
    assert codec.encode(frame.segment) == raw
    assert int(raw[2:6]) == len(format_segment(segment).encode())


@given(st.binary(min_size=16, max_size=16), st.binary(min_size=16, max_size=16))
def test_a_wrong_key_never_yields_data(right: bytes, wrong: bytes) -> None:
    if right == wrong:
        return
    raw = Codec2025(KeyRing(default=right)).encode(_big(8))
    with pytest.raises((WrongKeyError, CrcError)):
        Codec2025(KeyRing(default=wrong)).decode(raw)
