"""Fuzzing the HJ 212-2025 decoder: framing, the ``{0x..}`` ciphertext notation, keys and deviations.

Whatever the bytes, ``Codec2025.decode`` returns a frame whose segment encodes back (with the same key) to
a frame that decodes to the same segment, or raises an ``Hj212Error`` with a reason; it never hangs and
never returns data decrypted with a wrong key. Inputs: the standard's appendix A.2 frames and encrypted
frames of generated segments, mutated bytes, splices inside the ciphertext, random ciphertext, wrong
keys, truncation, tampered length and CRC fields, LF-only line ends and garbage.
"""

from __future__ import annotations

import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stationpipe.hj212 import (
    Codec2025,
    DataSegment,
    Hj212Error,
    KeyRing,
    PacketFlag,
    WrongKeyError,
)
from stationpipe.hj212.codec2025 import wrap_2025
from stationpipe.hj212.frame import OVERHEAD
from tests.fuzz.mutations import attempt, mutate_bytes
from tests.unit.test_hj212_2025 import A1_FRAME, A2_FRAME_2, A2_FRAME_4, A2_HEAD, KEY, OTHER_KEY
from tests.unit.test_hj212_props import segments

pytestmark = pytest.mark.timeout(60)
FUZZ = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]
)
CODEC = Codec2025(KeyRing(default=KEY))
ENCRYPTED_CNS = ("2011", "2051", "2061", "2031", "1014", "3020")


def _encrypted(segment: DataSegment, cn: str) -> bytes | None:
    raw = attempt(
        lambda: CODEC.encode(DataSegment(segment.st, cn, mn="M", flag=9, cp=segment.cp)), Hj212Error
    )
    return None if isinstance(raw, Hj212Error) else raw


generated = st.builds(_encrypted, segments(max_factors=4), st.sampled_from(ENCRYPTED_CNS)).filter(
    lambda raw: raw is not None
)
frames = st.sampled_from([A2_FRAME_2, A2_FRAME_4, A1_FRAME]) | generated.map(lambda raw: raw or b"")

#: Splices that reach into the ciphertext notation and the plaintext tail.
CIPHER_TOKENS = (
    b"{",
    b"}",
    b",",
    b",,",
    b"0x",
    b"0X",
    b"0xZZ",
    b"0x4",
    b"0x1FF",
    b"{}",
    b"{0xE4}",
    b"0x00," * 16,
    b"&&",
    b"&",
    b"=",
    b";",
    b"\xff",
    b"\x00",
    b"\r\n",
    b"\n",
    b"DataTime=20260101000000123;",
)


def _versioned(segment: DataSegment) -> DataSegment:
    if segment.flag is None:
        return segment
    flag = PacketFlag.make(version=2).value | (segment.flag & 3)
    return DataSegment(
        segment.st,
        segment.cn,
        segment.qn,
        segment.pw,
        segment.mn,
        flag,
        segment.pnum,
        segment.pno,
        segment.cp,
        segment.rf,
    )


def check_frame(raw: bytes, max_frame: int = 10_011) -> None:
    """The property every HJ 212-2025 fuzzer asserts for one frame."""
    frame = attempt(lambda: CODEC.decode(raw, max_frame=max_frame), Hj212Error)
    if isinstance(frame, Hj212Error):
        assert frame.reason, raw[:80]
        assert str(frame) == frame.reason
        assert KEY.hex() not in frame.reason.lower()
        return
    assert frame.crc_ok
    again = attempt(lambda: CODEC.encode(frame.segment), Hj212Error)
    if isinstance(again, Hj212Error):  # a decoded segment over the encoder's limits: refused with a reason
        assert again.reason
        return
    assert CODEC.decode(again).segment == _versioned(frame.segment)
    if frame.encrypted:
        with pytest.raises(Hj212Error):
            Codec2025(KeyRing(default=OTHER_KEY)).decode(raw, max_frame=max_frame)


@FUZZ
@given(frames, st.data())
def test_mutated_frames(frame: bytes, data: st.DataObject) -> None:
    check_frame(mutate_bytes(frame, data.draw))


@FUZZ
@given(frames, st.data())
def test_splices_in_the_ciphertext(frame: bytes, data: st.DataObject) -> None:
    start = frame.find(b"CP=&&") + 5
    end = frame.rfind(b"&&")
    body = bytearray(frame)
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(start, max(start, end)))
        body[at:at] = data.draw(st.sampled_from(CIPHER_TOKENS))
    check_frame(bytes(body))
    segment = bytes(body[6:-6])
    check_frame(b"##%04d" % (len(segment) % 10_000) + segment + frame[-6:])


@FUZZ
@given(st.binary(max_size=320), st.binary(max_size=20), st.binary(min_size=4, max_size=4))
def test_random_ciphertext(cipher: bytes, tail: bytes, crc: bytes) -> None:
    whole = cipher[: len(cipher) - len(cipher) % 16]
    notation = b"{" + b",".join(b"0x%02X" % byte for byte in whole) + b"}" + tail
    segment = A2_HEAD + notation + b"&&"
    check_frame(b"##%04d" % len(segment) + segment + crc + b"\r\n")
    check_frame(b"##0295" + segment + b"2200\r\n")


@FUZZ
@given(segments(max_factors=4), st.sampled_from(ENCRYPTED_CNS), st.binary(min_size=16, max_size=16))
def test_a_wrong_key_never_yields_data(segment: DataSegment, cn: str, wrong: bytes) -> None:
    raw = _encrypted(segment, cn)
    if raw is None or b"CP=&&{" not in raw or wrong == KEY:
        return
    codec = Codec2025(KeyRing(default=wrong))
    for verify in (True, False):
        result = attempt(lambda v=verify: codec.decode(raw, verify_crc=v), Hj212Error)  # type: ignore[misc]
        assert isinstance(result, Hj212Error)
        assert wrong.hex() not in result.reason
        if not verify:
            assert isinstance(result, WrongKeyError)


@FUZZ
@given(frames, st.integers(0, 10_000))
def test_truncated_frames(frame: bytes, cut: int) -> None:
    check_frame(frame[: cut % (len(frame) + 1)])
    check_frame(frame[cut % (len(frame) + 1) :])


@FUZZ
@given(frames, st.binary(min_size=4, max_size=4), st.binary(min_size=4, max_size=4))
def test_tampered_length_and_crc_fields(frame: bytes, length: bytes, crc: bytes) -> None:
    check_frame(frame[:2] + length + frame[6:])
    check_frame(frame[:-6] + crc + b"\r\n")
    check_frame(frame[:-6] + frame[-6:-2].lower() + b"\n")
    declared = int(frame[2:6])
    for wrong in (declared - 1, declared + 1, len(frame) - OVERHEAD, 0, 9999):
        check_frame(b"##%04d" % max(wrong, 0) + frame[6:])


@FUZZ
@given(st.binary(max_size=3000), st.integers(OVERHEAD, 2000))
def test_garbage(raw: bytes, max_frame: int) -> None:
    check_frame(raw, max_frame)
    check_frame(b"##" + raw + b"\r\n", max_frame)
    check_frame(b"##%04d" % (len(raw) % 10_000) + A2_HEAD + b"{" + raw + b"&&FFFF\n", max_frame)


def test_the_largest_frame_decodes_quickly() -> None:
    area = b"DataTime=20260101000000;" + b";".join(b"P%04d=%s" % (n, b"v" * 40) for n in range(40))
    raw = wrap_2025(A2_HEAD + area[:1900] + b"&&", KEY)
    assert len(raw) > 9000
    started = time.perf_counter()
    for _ in range(20):
        check_frame(raw)
        check_frame(raw[:-200] + b"}" + raw[-200:])
    assert time.perf_counter() - started < 5
