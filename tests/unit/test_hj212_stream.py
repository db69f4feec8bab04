"""HJ 212 stream splitter (partial reads, several frames per chunk, garbage, size limit) and split packets."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import pytest

from stationpipe.hj212 import (
    CST,
    Codec2017,
    CpArea,
    DataSegment,
    FactorValue,
    FrameSplitter,
    FrameTooLargeError,
    SplitError,
    decode,
    encode,
    encode_packets,
    reassemble,
)
from stationpipe.hj212.codes import PacketFlag

A = encode(DataSegment(st="21", cn="2011", qn="20240101000000001", mn="A", cp=CpArea(params=(("X", "1"),))))
B = encode(DataSegment(st="22", cn="2061", qn="20240101000000002", mn="B", flag=5))


def _collect(splitter: FrameSplitter, chunks: list[bytes]) -> list[bytes]:
    return [frame for chunk in chunks for frame in splitter.feed(chunk)]


@pytest.mark.parametrize(
    ("chunks", "expected", "discarded"),
    [
        pytest.param([A], [A], 0, id="whole"),
        pytest.param([A + B], [A, B], 0, id="two-in-one-chunk"),
        pytest.param([bytes([b]) for b in A + B], [A, B], 0, id="byte-by-byte"),
        pytest.param([A[:7], A[7:50], A[50:] + B[:3], B[3:]], [A, B], 0, id="partial-reads"),
        pytest.param([b"junk\r\n" + A + b"\x00\xff" + B], [A, B], 8, id="garbage-between"),
        pytest.param([b"xx#", b"#" + A[2:]], [A], 2, id="split-start-marker"),
        pytest.param([b"##zz" + A], [A], 4, id="stray-hashes"),
        pytest.param([A[:-1]], [], 0, id="incomplete-kept"),
    ],
)
def test_splitter(chunks: list[bytes], expected: list[bytes], discarded: int) -> None:
    splitter = FrameSplitter()
    assert _collect(splitter, chunks) == expected
    assert splitter.discarded == discarded


def test_splitter_keeps_incomplete_frame_for_the_next_chunk() -> None:
    splitter = FrameSplitter()
    assert list(splitter.feed(A[:-1])) == []
    assert splitter.buffered == len(A) - 1
    assert list(splitter.feed(A[-1:])) == [A]
    assert splitter.buffered == 0


def test_splitter_passes_malformed_frames_on_for_decode_to_reject() -> None:
    bad = A[:-6] + b"0000\r\n"  # wrong CRC: the splitter cuts, the decoder judges
    assert list(FrameSplitter().feed(bad + B)) == [bad, B]


def test_splitter_rejects_a_declared_oversized_frame_at_once_and_goes_on() -> None:
    splitter = FrameSplitter(max_frame=len(A) + 5)
    big = b"##9000" + b"x" * 10
    splitter.feed(big)
    with pytest.raises(FrameTooLargeError):
        next(splitter)
    assert splitter.oversized == 1
    assert _collect(splitter, [b"y" * 100 + A]) == [A]


def test_splitter_bounds_a_frame_that_never_ends() -> None:
    splitter = FrameSplitter(max_frame=len(A))
    splitter.feed(A[:6])
    assert list(splitter) == []
    splitter.feed(b"z" * (2 * len(A)))
    with pytest.raises(FrameTooLargeError):
        list(splitter)
    assert splitter.buffered == 0
    assert _collect(splitter, [b"zzz\r\n", B[:10], B[10:]]) == [B]


def test_splitter_rejects_a_complete_oversized_frame_and_keeps_the_next() -> None:
    splitter = FrameSplitter(max_frame=len(B))
    splitter.feed(A + B)  # len(A) > len(B)
    assert len(A) > len(B)
    with pytest.raises(FrameTooLargeError):
        next(splitter)
    assert list(splitter) == [B]


def test_every_split_frame_decodes() -> None:
    frames = _collect(FrameSplitter(), [b"\x00" + A + B + A])
    assert [decode(f).segment.mn for f in frames] == ["A", "B", "A"]


def _big_segment(count: int, flag: int = 5) -> DataSegment:
    factors = tuple(
        FactorValue(f"w{i:05d}", rtd=i / 7, avg=i * 1.5, min=0.1, max=99.25, flag="N") for i in range(count)
    )
    params = (("RtdInterval", "30"), ("Note", "x" * 100))
    return DataSegment(
        st="21",
        cn="2061",
        qn="20240101000000001",
        pw="123456",
        mn="010000A8900016F000169DC0",
        flag=flag,
        cp=CpArea(datetime(2024, 1, 1, 8, tzinfo=CST), params, factors),
    )


def test_split_packets_round_trip() -> None:
    segment = _big_segment(60)
    frames = encode_packets(segment)
    assert len(frames) > 1
    packets = [decode(f).segment for f in frames]
    assert all(len(f) - 12 <= 1024 for f in frames)
    assert [(p.pnum, p.pno) for p in packets] == [(len(frames), n) for n in range(1, len(frames) + 1)]
    assert all(PacketFlag(p.flag or 0).split and p.needs_reply for p in packets)
    assert all(p.cp.data_time == segment.cp.data_time for p in packets)
    assert reassemble(list(reversed(packets))) == segment


def test_small_segment_is_one_unsplit_frame() -> None:
    segment = _big_segment(2)
    assert encode_packets(segment) == [encode(segment)]
    assert reassemble([decode(encode(segment)).segment]) == segment


def test_split_with_a_small_threshold() -> None:
    codec = Codec2017(max_segment=260)
    segment = _big_segment(5, flag=4)
    packets = [codec.decode(f).segment for f in codec.encode_packets(segment)]
    assert len(packets) >= 3
    assert reassemble(packets) == segment


def test_a_single_item_too_long_for_a_packet() -> None:
    with pytest.raises(SplitError, match="Note alone exceeds"):
        Codec2017(max_segment=150).encode_packets(_big_segment(1))


@pytest.mark.parametrize(
    ("mutate", "words"),
    [
        pytest.param(lambda ps: ps[:-1], "have packets", id="missing"),
        pytest.param(lambda ps: [*ps, ps[0]], "have packets", id="repeated"),
        pytest.param(lambda ps: [ps[0].without_split(), *ps[1:]], "PNUM and PNO", id="unsplit-member"),
        pytest.param(
            lambda ps: [*ps[:-1], replace(ps[-1], qn="20240101000000009")],
            "disagree",
            id="other-qn",
        ),
        pytest.param(
            lambda ps: [
                *ps[:-1],
                replace(ps[-1], cp=CpArea(datetime(2020, 1, 1, tzinfo=CST))),
            ],
            "DataTime",
            id="other-datatime",
        ),
        pytest.param(lambda ps: [], "PNUM and PNO", id="empty"),
    ],
)
def test_reassembly_errors(mutate: object, words: str) -> None:
    packets = [decode(f).segment for f in encode_packets(_big_segment(60))]
    assert callable(mutate)
    with pytest.raises(SplitError, match=words):
        reassemble(mutate(packets))


def test_reassembly_rejects_a_factor_in_two_packets() -> None:
    packets = [decode(f).segment for f in encode_packets(_big_segment(60))]
    dup = replace(packets[1], cp=CpArea(factors=packets[0].cp.factors[:1]))
    with pytest.raises(SplitError, match="repeated"):
        reassemble([packets[0], dup, *packets[2:]])
