"""Fuzzing the HJ 212 decoder, the stream splitter, split-packet reassembly and the upload mapping.

Whatever the bytes, ``decode`` returns a frame whose segment encodes back to a frame that decodes to the
same segment, or raises an ``Hj212Error`` with a reason; the splitter never holds more than its limit
plus one chunk and raises only ``FrameTooLargeError``; the server's mapping of an upload to Readings
raises only ``RejectedError``. Inputs: mutated valid frames (with the CRC and length left wrong, or
recomputed so the mutation reaches the data segment parser), truncation, tampered length and CRC
fields, garbage around frames, oversized frames.
"""

from __future__ import annotations

from datetime import datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stationpipe.collector.hj212_config import Logger
from stationpipe.collector.hj212_map import UPLOADS, to_message
from stationpipe.hj212 import (
    CST,
    Codec2017,
    CpArea,
    DataSegment,
    FactorValue,
    FrameSplitter,
    FrameTooLargeError,
    Hj212Error,
    decode,
    encode,
    reassemble,
)
from stationpipe.hj212.frame import OVERHEAD, wrap
from stationpipe.kernel.errors import RejectedError
from tests.fuzz.mutations import attempt, mutate_bytes
from tests.unit.test_hj212_props import _fits, segments

pytestmark = pytest.mark.timeout(60)
FUZZ = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]
)
AT = datetime(2026, 11, 22, 9, 30, tzinfo=CST)
LOGGER = Logger(mn="MN1", station="fz-hj212", factors={"w99001": "temp"})


def _upload(cn: str = "2011") -> DataSegment:
    factors = (
        FactorValue("w21003", rtd=1.25, flag="N"),
        FactorValue("w01001", rtd=7.3, avg=7.2, flag="M", sample_time=AT),
        FactorValue("w99001", avg=22.5, min=1.0, max=30.0, flag="X"),
        FactorValue("w99999", rtd=3.0),
    )
    return DataSegment(
        "21", cn, qn="20261122093000001", pw="123456", mn="MN1", flag=5, cp=CpArea(AT, (), factors)
    )


UPLOAD_FRAMES = tuple(encode(_upload(cn)) for cn in sorted(UPLOADS))
frames = st.sampled_from(UPLOAD_FRAMES) | segments(max_factors=4).filter(_fits).map(encode)

#: Segment-level splices that reach deep into the segment and CP parsers.
SEGMENT_TOKENS = (
    b"PNUM=2;PNO=3;",
    b"PNUM=0;PNO=0;",
    b"Flag=-1;",
    b"Flag=99999999999999999999;",
    b"DataTime=00010101000000;",
    b"DataTime=99991231235959;",
    b"DataTime=20261340250000;",
    b"QN=\xc2\xb2;",
    b"w21003-Rtd=1e999,",
    b"w21003-Rtd=nan,",
    b"w21003-Rtd=-0,",
    b"w21003-Flag=,",
    b"w21003-SampleTime=,",
    b"CP=&&&&",
    b"CP=&&",
    b"&&",
)


def check_frame(raw: bytes, max_frame: int = 10_011) -> None:
    """The property every HJ 212 fuzzer asserts for one frame."""
    frame = attempt(lambda: decode(raw, max_frame=max_frame), Hj212Error)
    if isinstance(frame, Hj212Error):
        assert frame.reason, raw[:80]
        assert str(frame) == frame.reason
        return
    assert frame.crc_ok
    assert decode(encode(frame.segment)).segment == frame.segment
    if frame.segment.cn in UPLOADS:
        mapped = attempt(lambda: to_message(frame.segment, LOGGER), RejectedError)
        if isinstance(mapped, RejectedError):
            assert str(mapped)
        else:
            assert mapped.message.station == LOGGER.station


@FUZZ
@given(frames, st.data())
def test_mutated_frames(frame: bytes, data: st.DataObject) -> None:
    check_frame(mutate_bytes(frame, data.draw))


@FUZZ
@given(frames, st.data())
def test_mutated_segments_with_correct_length_and_crc(frame: bytes, data: st.DataObject) -> None:
    segment = bytearray(frame[6:-6])
    for _ in range(data.draw(st.integers(0, 3))):
        at = data.draw(st.integers(0, len(segment)))
        segment[at:at] = data.draw(st.sampled_from(SEGMENT_TOKENS))
    mutated = mutate_bytes(bytes(segment), data.draw, max_edits=3) if data.draw(st.booleans()) else segment
    if len(mutated) <= 9999:
        check_frame(wrap(bytes(mutated)))


#: Fields of an upload and values that are well framed but wrong (or merely odd) for them.
FIELDS = ("QN", "ST", "CN", "PW", "MN", "Flag", "DataTime", "w21003-Rtd", "w01001-SampleTime", "w99001-Flag")
ODD_VALUES = (
    "",
    "²",
    "٣",
    "-1",
    "0",
    "99999999999999999999999999999999",
    "1e999",
    "-1e308",
    "nan",
    "inf",
    "00010101000000",
    "99991231235959",
    "20260229000000",
    "20261122093000.5",
    "N",
    "X",
    "氨氮",
)


@FUZZ
@given(
    st.sampled_from([_upload(cn) for cn in sorted(UPLOADS)]),
    st.sampled_from(FIELDS),
    st.sampled_from(ODD_VALUES) | st.text(max_size=30),
)
def test_odd_values_in_upload_fields(segment: DataSegment, name: str, value: str) -> None:
    text = encode(segment)[6:-6].decode()
    start = text.index(f"{name}=") + len(name) + 1
    end = min((i for i in (text.find(c, start) for c in ";,&") if i >= 0), default=len(text))
    body = (text[:start] + value + text[end:]).encode()
    if len(body) <= 9999:
        check_frame(wrap(body))


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
    declared = int(frame[2:6])
    for wrong in (declared - 1, declared + 1, 0, 9999):
        check_frame(b"##%04d" % max(wrong, 0) + frame[6:])


@FUZZ
@given(st.binary(max_size=3000), st.integers(OVERHEAD, 2000))
def test_garbage(raw: bytes, max_frame: int) -> None:
    check_frame(raw, max_frame)
    check_frame(b"##" + raw + b"\r\n", max_frame)
    check_frame(b"##%04d" % (len(raw) % 10_000) + raw + b"FFFF\r\n", max_frame)


@FUZZ
@given(frames, st.integers(1, 20_000))
def test_oversized_frames_are_refused(frame: bytes, extra: int) -> None:
    with pytest.raises(Hj212Error):
        decode(frame, max_frame=len(frame) - 1)
    body = frame[6:-6] + b"x" * extra
    check_frame(b"##9999" + body + b"0000\r\n")


@FUZZ
@given(
    st.lists(frames | st.binary(max_size=300), max_size=8),
    st.lists(st.integers(1, 600), min_size=1, max_size=20),
    st.integers(64, 2000),
)
def test_splitter_on_garbage_streams(parts: list[bytes], chunks: list[int], max_frame: int) -> None:
    stream = b"".join(parts)
    splitter = FrameSplitter(max_frame)
    at, index = 0, 0
    while at < len(stream):
        size = chunks[index % len(chunks)]
        chunk = stream[at : at + size]
        at, index = at + size, index + 1
        splitter.feed(chunk)
        while (raw := attempt(lambda: next(splitter, None), FrameTooLargeError)) is not None:
            if isinstance(raw, FrameTooLargeError):
                assert raw.reason
                continue
            assert raw.startswith(b"##")
            assert raw.endswith(b"\r\n")
            assert len(raw) <= max_frame
            check_frame(raw, max_frame)
        assert splitter.buffered <= max_frame + len(chunk)


@FUZZ
@given(segments(max_factors=6, split_fields=False), st.integers(200, 600), st.data())
def test_mutated_split_packets(segment: DataSegment, limit: int, data: st.DataObject) -> None:
    codec = Codec2017(max_segment=limit)
    try:
        packets = [codec.decode(f).segment for f in codec.encode_packets(segment)]
    except Hj212Error:
        return
    kept = data.draw(st.lists(st.sampled_from(packets), max_size=len(packets) + 1)) if packets else []
    whole = attempt(lambda: reassemble(kept), Hj212Error)
    if isinstance(whole, Hj212Error):
        assert whole.reason
    elif _fits(whole):
        assert decode(encode(whole)).segment == whole
