"""Record framing of the spool's segment files: a header (body length, CRC-32 of the body), then the body.

A body is ``seq`` (int64), ``created`` (Unix seconds, float64), the topic's length (uint16), the topic
(UTF-8) and the payload. A frame is written with one ``write`` call, so a process kill leaves either the
whole frame in the page cache or none of it; a power cut can leave a torn or zero-filled tail, which the
length and CRC reveal (a zero-filled header is refused: no body is shorter than its fixed part).
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

HEADER = struct.Struct("<II")
BODY = struct.Struct("<qdH")
MAX_BODY = 64 * 2**20


@dataclass(frozen=True, slots=True)
class Frame:
    """One decoded record and where it lies in its segment."""

    seq: int
    created: float
    topic: str
    payload: bytes
    offset: int
    size: int


def encode(seq: int, created: float, topic: str, payload: bytes) -> bytes:
    """The frame of one record."""
    name = topic.encode()
    body = BODY.pack(seq, created, len(name)) + name + payload
    return HEADER.pack(len(body), zlib.crc32(body)) + body


def decode_body(body: bytes, offset: int) -> Frame:
    """A record from its body (checked by the caller)."""
    seq, created, length = BODY.unpack_from(body)
    start = BODY.size + length
    topic = body[BODY.size : start].decode()
    return Frame(seq, created, topic, body[start:], offset, HEADER.size + len(body))


def body_at(data: bytes, offset: int) -> bytes | None:
    """The checked body of the frame at ``offset``, or ``None`` when it is torn, corrupt or absent."""
    if offset + HEADER.size > len(data):
        return None
    length, crc = HEADER.unpack_from(data, offset)
    start = offset + HEADER.size
    if length < BODY.size or length > MAX_BODY or start + length > len(data):
        return None
    body = data[start : start + length]
    if zlib.crc32(body) != crc:
        return None
    _, _, name = BODY.unpack_from(body)
    return body if BODY.size + name <= length else None


def scan(data: bytes) -> Iterator[Frame]:
    """Every whole frame of a segment's bytes, in order, up to the first one that is not whole."""
    offset = 0
    while (body := body_at(data, offset)) is not None:
        frame = decode_body(body, offset)
        yield frame
        offset += frame.size
