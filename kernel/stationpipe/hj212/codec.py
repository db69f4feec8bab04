"""HJ 212 codec (pure): frames <-> ``DataSegment``, split packets, and the replies 9011/9012/9013/9014.

A protocol version is a ``Codec``: ``CODECS[Version.HJ212_2017]`` and ``CODECS[Version.HJ212_2025]``
(``Codec2025``, SM4 encryption with a ``KeyRing``; ``codec2025``) side by side. The version of a logger
comes from its configuration, never from its Flag. A newer standard (HJ 1404-2024) is a class beside
them, registered in ``CODECS``. The module-level ``encode``/``decode``/``encode_packets`` use
HJ 212-2017; ``reassemble`` serves both.

Example (the test vector of docs/domain.md#hj-212-2017)::

    >>> seg = DataSegment(st="32", cn="1062", qn="20160801085857223", pw="100000",
    ...                   mn="010000A8900016F000169DC0", flag=5, cp=CpArea(params=(("RtdInterval", "30"),)))
    >>> encode(seg)[:6], encode(seg)[-6:]
    (b'##0101', b'1C80\\r\\n')

Failures raise ``Hj212Error`` subclasses (``stationpipe.hj212.errors``); nothing returns ``None`` for failure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from types import MappingProxyType
from typing import Protocol

from stationpipe.hj212.codec2025 import Codec2025
from stationpipe.hj212.codes import (
    CST,
    Cn,
    ExeRtn,
    PacketFlag,
    QnRtn,
    St,
    Version,
    cst_to_utc,
    encrypted_cn,
    make_qn,
    qn_time,
    utc_to_cst,
)
from stationpipe.hj212.cp import CpArea, FactorValue
from stationpipe.hj212.errors import (
    CipherError,
    CpError,
    CrcError,
    FrameError,
    FrameTooLargeError,
    Hj212Error,
    KeyMissingError,
    LengthError,
    SegmentError,
    SplitError,
    WrongKeyError,
)
from stationpipe.hj212.frame import MAX_FRAME_BYTES, FrameSplitter, crc16, unwrap, wrap
from stationpipe.hj212.keyring import KeyRing
from stationpipe.hj212.packets import Frame, split_segment
from stationpipe.hj212.segment import DataSegment, format_segment, parse_segment
from stationpipe.hj212.tolerance import Deviation, Deviations

__all__ = [
    "CODECS",
    "CST",
    "CipherError",
    "Cn",
    "Codec",
    "Codec2017",
    "Codec2025",
    "CpArea",
    "CpError",
    "CrcError",
    "DataSegment",
    "Deviation",
    "Deviations",
    "ExeRtn",
    "FactorValue",
    "Frame",
    "FrameError",
    "FrameSplitter",
    "FrameTooLargeError",
    "Hj212Error",
    "KeyMissingError",
    "KeyRing",
    "LengthError",
    "PacketFlag",
    "QnRtn",
    "SegmentError",
    "SplitError",
    "St",
    "Version",
    "WrongKeyError",
    "crc16",
    "cst_to_utc",
    "data_reply",
    "decode",
    "encode",
    "encode_packets",
    "encrypted_cn",
    "exe_rtn",
    "make_qn",
    "notify_reply",
    "qn_rtn",
    "qn_time",
    "reassemble",
    "utc_to_cst",
]

#: HJ 212-2017: a data segment is at most 1024 characters; longer payloads are split (PNUM/PNO).
MAX_SEGMENT_2017 = 1024


class Codec(Protocol):
    """One protocol version's codec."""

    @property
    def version(self) -> Version: ...

    def encode(self, segment: DataSegment) -> bytes: ...

    def encode_packets(self, segment: DataSegment) -> list[bytes]: ...

    def decode(self, raw: bytes, *, verify_crc: bool = True, max_frame: int = MAX_FRAME_BYTES) -> Frame: ...


class Codec2017:
    """HJ 212-2017. ``max_segment`` is the split threshold (1024 in the standard)."""

    def __init__(self, max_segment: int = MAX_SEGMENT_2017) -> None:
        self.max_segment = max_segment

    @property
    def version(self) -> Version:
        """Always ``Version.HJ212_2017``."""
        return Version.HJ212_2017

    def encode(self, segment: DataSegment) -> bytes:
        """One frame; raise ``SegmentError`` over ``max_segment`` bytes (``encode_packets`` splits)."""
        if segment.rf:
            raise SegmentError("RF=1 (re-sent data) is HJ 212-2025; HJ 212-2017 has no RF field")
        body = format_segment(segment).encode()
        if len(body) > self.max_segment:
            raise SegmentError(f"data segment is {len(body)} bytes, over {self.max_segment}: split it")
        return wrap(body)

    def encode_packets(self, segment: DataSegment) -> list[bytes]:
        """One frame if the segment fits, else packets PNO 1..PNUM (D bit set, DataTime in each).

        Parameters and factors are distributed in order, whole; ``reassemble`` restores the segment.
        """
        if len(format_segment(segment).encode()) <= self.max_segment:
            return [self.encode(segment)]
        if segment.is_split:
            raise SplitError("segment already carries PNUM/PNO and is too long for one packet")
        return [self.encode(part) for part in self._split(segment)]

    def _split(self, segment: DataSegment) -> list[DataSegment]:
        return split_segment(
            segment, base_flag=PacketFlag.make().value, fits=self._fits, limit=f"{self.max_segment} bytes"
        )

    def _fits(self, segment: DataSegment) -> bool:
        return len(format_segment(segment).encode()) <= self.max_segment

    def decode(self, raw: bytes, *, verify_crc: bool = True, max_frame: int = MAX_FRAME_BYTES) -> Frame:
        """Decode one frame (``##`` … CR LF); strict framing, CRC checked unless ``verify_crc`` is False."""
        parts = unwrap(raw, verify_crc=verify_crc, max_frame=max_frame)
        try:
            text = parts.segment.decode()
        except UnicodeDecodeError as exc:
            raise FrameError(f"data segment is not UTF-8 text (byte {exc.start})") from exc
        return Frame(parse_segment(text), parts.crc, parts.crc_ok, self.version)


CODEC_2017 = Codec2017()
#: The codec of each protocol version (2025 without keys: plaintext only); add a version by adding its
#: codec here. A logger with SM4 keys gets its own ``Codec2025(KeyRing(...))``.
CODECS: Mapping[Version, Codec] = MappingProxyType(
    {Version.HJ212_2017: CODEC_2017, Version.HJ212_2025: Codec2025()}
)


def encode(segment: DataSegment) -> bytes:
    """HJ 212-2017 frame of ``segment`` (at most 1024 bytes of segment)."""
    return CODEC_2017.encode(segment)


def encode_packets(segment: DataSegment) -> list[bytes]:
    """HJ 212-2017 frames of ``segment``, split into PNUM/PNO packets when over 1024 bytes."""
    return CODEC_2017.encode_packets(segment)


def decode(raw: bytes, *, verify_crc: bool = True, max_frame: int = MAX_FRAME_BYTES) -> Frame:
    """Decode one HJ 212-2017 frame; see ``Codec2017.decode``."""
    return CODEC_2017.decode(raw, verify_crc=verify_crc, max_frame=max_frame)


def reassemble(packets: Sequence[DataSegment]) -> DataSegment:
    """Join the packets of one split payload (any order) into one segment without PNUM/PNO and D bit.

    A single unsplit segment is returned unchanged. Raises ``SplitError`` when packets are missing,
    repeated, or disagree on QN, ST, CN, PW, MN, Flag, PNUM or DataTime.
    """
    if len(packets) == 1 and not packets[0].is_split:
        return packets[0]
    if not packets or any(not p.is_split for p in packets):
        raise SplitError("every packet of a split payload needs PNUM and PNO")
    first = packets[0]
    header = _header(first)
    if any(_header(p) != header for p in packets):
        raise SplitError(f"packets disagree on QN/ST/CN/PW/MN/Flag/PNUM (QN {first.qn})")
    numbers = sorted(p.pno or 0 for p in packets)
    if numbers != list(range(1, (first.pnum or 0) + 1)):
        raise SplitError(f"QN {first.qn}: have packets {numbers} of PNUM {first.pnum}")
    ordered = sorted(packets, key=lambda p: p.pno or 0)
    times = {p.cp.data_time for p in ordered} - {None}
    if len(times) > 1:
        raise SplitError(f"QN {first.qn}: packets carry different DataTime values")
    try:
        cp = CpArea(
            next(iter(times), None),
            tuple(item for p in ordered for item in p.cp.params),
            tuple(f for p in ordered for f in p.cp.factors),
        )
    except CpError as exc:
        raise SplitError(f"QN {first.qn}: {exc.reason}") from exc
    return replace(first.without_split(), cp=cp)


def _header(segment: DataSegment) -> tuple[object, ...]:
    fields = (segment.qn, segment.st, segment.cn, segment.pw, segment.mn, segment.flag, segment.pnum)
    return (*fields, segment.rf)


def _reply(request: DataSegment, cn: Cn, cp: CpArea) -> DataSegment:
    """A system reply (ST=91, Flag=4: 2017, no answer wanted) carrying the request's QN, PW and MN."""
    return DataSegment(
        st=St.SYSTEM,
        cn=cn,
        qn=request.qn,
        pw=request.pw,
        mn=request.mn,
        flag=PacketFlag.make().value,
        cp=cp,
    )


def qn_rtn(request: DataSegment, code: QnRtn | int) -> DataSegment:
    """9011 request reply: ``CP=&&QnRtn=<code>&&``."""
    return _reply(request, Cn.QN_RTN, CpArea(params=(("QnRtn", str(int(code))),)))


def exe_rtn(request: DataSegment, code: ExeRtn | int) -> DataSegment:
    """9012 execution result: ``CP=&&ExeRtn=<code>&&``."""
    return _reply(request, Cn.EXE_RTN, CpArea(params=(("ExeRtn", str(int(code))),)))


def notify_reply(request: DataSegment) -> DataSegment:
    """9013 notification reply: ``CP=&&&&``."""
    return _reply(request, Cn.NOTIFY_RTN, CpArea())


def data_reply(request: DataSegment) -> DataSegment:
    """9014 data reply (sent when an upload's A bit is set): ``ST=91;CN=9014;…;Flag=4;CP=&&&&``, same QN."""
    return _reply(request, Cn.DATA_RTN, CpArea())
