"""HJ 212: the data transmission standard of pollution-source and environmental monitoring systems.

The front door of the package. Everything a caller needs is imported from here::

    from stationpipe.hj212 import DataSegment, decode, encode

Inside: ``codes`` (ST, CN, flags, QN and times), ``cp`` (the CP area), ``segment`` (the data segment),
``frame`` (``##``, length, CRC16, CRLF; ``FrameSplitter`` for streams), ``codec`` (a ``Codec`` per
version of the standard, in ``CODECS``), ``errors`` (``Hj212Error`` and its subclasses, each with the
QnRtn a platform answers), ``jsonform`` (the JSON shape of the CLI), ``stream`` (asyncio readers) and
``cli`` (``stationpipe hj212``). A new version of the standard is a codec class beside ``Codec2017``.
"""

from __future__ import annotations

from stationpipe.hj212.codec import (
    CODECS,
    CST,
    Cn,
    Codec,
    Codec2017,
    CpArea,
    CpError,
    CrcError,
    DataSegment,
    ExeRtn,
    FactorValue,
    Frame,
    FrameError,
    FrameSplitter,
    FrameTooLargeError,
    Hj212Error,
    LengthError,
    PacketFlag,
    QnRtn,
    SegmentError,
    SplitError,
    St,
    Version,
    crc16,
    cst_to_utc,
    data_reply,
    decode,
    encode,
    encode_packets,
    exe_rtn,
    make_qn,
    notify_reply,
    qn_rtn,
    qn_time,
    reassemble,
    utc_to_cst,
)

__all__ = [
    "CODECS",
    "CST",
    "Cn",
    "Codec",
    "Codec2017",
    "CpArea",
    "CpError",
    "CrcError",
    "DataSegment",
    "ExeRtn",
    "FactorValue",
    "Frame",
    "FrameError",
    "FrameSplitter",
    "FrameTooLargeError",
    "Hj212Error",
    "LengthError",
    "PacketFlag",
    "QnRtn",
    "SegmentError",
    "SplitError",
    "St",
    "Version",
    "crc16",
    "cst_to_utc",
    "data_reply",
    "decode",
    "encode",
    "encode_packets",
    "exe_rtn",
    "make_qn",
    "notify_reply",
    "qn_rtn",
    "qn_time",
    "reassemble",
    "utc_to_cst",
]
