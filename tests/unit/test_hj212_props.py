"""Property tests: decode(encode(x)) == x for segments, CP areas, split payloads, and the stream splitter."""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from stationpipe.hj212 import (
    Codec2017,
    CpArea,
    DataSegment,
    FactorValue,
    FrameSplitter,
    Hj212Error,
    SplitError,
    crc16,
    decode,
    encode,
    encode_packets,
    reassemble,
)
from stationpipe.hj212.jsonform import segment_from_json, segment_to_json
from stationpipe.hj212.segment import format_segment, parse_segment

_ALNUM = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
tokens = st.text(_ALNUM, min_size=1, max_size=12)
values = st.text(_ALNUM + ".:_-+/ ", max_size=16)
numbers = st.floats(allow_nan=False, allow_infinity=False, min_value=-1e12, max_value=1e12) | st.floats(
    allow_nan=False, allow_infinity=False, min_value=-1e-3, max_value=1e-3
)
instants = st.datetimes(
    min_value=datetime(2000, 1, 1),  # noqa: DTZ001 - hypothesis takes naive bounds
    max_value=datetime(2099, 12, 31),  # noqa: DTZ001
    timezones=st.just(UTC),
).map(lambda d: d.replace(microsecond=0))
field_names = tokens.filter(lambda n: n not in {"Rtd", "Avg", "Min", "Max", "Cou", "Flag", "SampleTime"})


@st.composite
def factors(draw: st.DrawFn, code: str) -> FactorValue:
    chosen = draw(
        st.sets(st.sampled_from(["rtd", "avg", "min", "max", "cou", "flag", "sample_time"]), min_size=1)
    )
    kwargs: dict[str, object] = {name: draw(numbers) for name in chosen & {"rtd", "avg", "min", "max", "cou"}}
    if "flag" in chosen:
        kwargs["flag"] = draw(st.sampled_from("NFMSDCTBX") | tokens)
    if "sample_time" in chosen:
        kwargs["sample_time"] = draw(instants)
    extra = draw(st.dictionaries(field_names, values, max_size=2))
    return FactorValue(code, extra=tuple(extra.items()), **kwargs)  # type: ignore[arg-type]


@st.composite
def cp_areas(draw: st.DrawFn, max_factors: int = 6) -> CpArea:
    codes = draw(st.lists(tokens, max_size=max_factors, unique=True))
    param_keys = draw(
        st.lists(tokens.filter(lambda k: k not in codes and k != "DataTime"), max_size=3, unique=True)
    )
    return CpArea(
        data_time=draw(st.none() | instants),
        params=tuple((key, draw(values)) for key in param_keys),
        factors=tuple(draw(factors(code)) for code in codes),
    )


@st.composite
def segments(draw: st.DrawFn, max_factors: int = 6, split_fields: bool = True) -> DataSegment:
    optional = st.none() | values.filter(lambda v: "=" not in v)
    pnum = draw(st.none() | st.integers(1, 99)) if split_fields else None
    return DataSegment(
        st=draw(st.sampled_from(["21", "22", "23", "27", "31", "32", "91"]) | tokens),
        cn=draw(st.sampled_from(["2011", "2051", "2061", "2031", "9014"]) | tokens),
        qn=draw(optional),
        pw=draw(optional),
        mn=draw(optional),
        flag=draw(st.none() | st.integers(0, 300))
        if split_fields
        else draw(st.sampled_from([0, 1, 4, 5, 8, 9])),
        pnum=pnum,
        pno=None if pnum is None else draw(st.integers(1, pnum)),
        cp=draw(cp_areas(max_factors)),
    )


def _fits(segment: DataSegment) -> bool:
    return len(format_segment(segment).encode()) <= 1024


@given(segments(max_factors=4).filter(_fits))
def test_decode_encode_round_trip(segment: DataSegment) -> None:
    raw = encode(segment)
    frame = decode(raw)
    assert frame.segment == segment
    assert frame.crc_ok
    assert encode(frame.segment) == raw
    assert parse_segment(format_segment(segment)) == segment


@given(segments())
def test_json_round_trip(segment: DataSegment) -> None:
    assert segment_from_json(json.loads(json.dumps(segment_to_json(segment)))) == segment


@settings(max_examples=50)
@given(segments(max_factors=40, split_fields=False), st.integers(200, 1024))
def test_split_round_trip(segment: DataSegment, limit: int) -> None:
    codec = Codec2017(max_segment=limit)
    refusal = ""
    try:
        frames = codec.encode_packets(segment)
    except SplitError as exc:  # the documented refusal: one item does not fit beside the header
        refusal, frames = exc.reason, []
    if refusal:
        assert "alone exceeds" in refusal
        return
    packets = [codec.decode(frame).segment for frame in frames]
    assert all(len(frame) - 12 <= limit for frame in frames)
    assert reassemble(packets) == segment


@given(st.lists(segments(max_factors=3).filter(_fits), min_size=1, max_size=4), st.data())
def test_splitter_finds_every_frame_whatever_the_chunking(
    items: list[DataSegment], data: st.DataObject
) -> None:
    stream = b"".join(b"\x00garbage" + encode(item) for item in items)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=10)))
    chunks = [stream[a:b] for a, b in zip([0, *cuts], [*cuts, len(stream)], strict=True)]
    splitter = FrameSplitter()
    frames = [frame for chunk in chunks for frame in splitter.feed(chunk)]
    assert [decode(frame).segment for frame in frames] == items


@given(st.binary(max_size=200))
def test_crc_detects_any_single_byte_change(data: bytes) -> None:
    for index in range(len(data)):
        changed = data[:index] + bytes([data[index] ^ 0x5A]) + data[index + 1 :]
        assert crc16(changed) != crc16(data)


@given(st.binary(max_size=300))
def test_decode_of_arbitrary_bytes_raises_only_hj212_errors(raw: bytes) -> None:
    for candidate in (raw, b"##" + raw + b"\r\n", b"##%04d" % len(raw) + raw + b"0000\r\n"):
        with contextlib.suppress(Hj212Error):
            decode(candidate)


@given(segments(max_factors=3, split_fields=False))
def test_encode_packets_of_a_small_segment_is_encode(segment: DataSegment) -> None:
    if _fits(segment):
        assert encode_packets(segment) == [encode(segment)]
