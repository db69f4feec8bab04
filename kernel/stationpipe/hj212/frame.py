"""HJ 212 framing: ``##`` + 4-digit length + data segment + 4 hex CRC + CR LF, and a stream splitter.

The length counts the bytes of the data segment; the CRC (not the Modbus CRC) is computed over the same
bytes and written as 4 upper-case hex digits, read case-insensitively. Framing is strict: every deviation
raises a ``FrameError`` subclass that says what is wrong.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Self

from stationpipe.hj212.errors import CrcError, FrameError, FrameTooLargeError, LengthError
from stationpipe.hj212.tolerance import Deviation, Deviations

#: The largest data segment a 4-digit length field can describe.
MAX_LENGTH_FIELD = 9999
#: ``##`` + length (6 bytes) before the segment, CRC + CR LF (6 bytes) after it.
OVERHEAD = 12
#: The largest possible frame, the default size limit.
MAX_FRAME_BYTES = MAX_LENGTH_FIELD + OVERHEAD

_HEX4 = re.compile(rb"[0-9A-Fa-f]{4}")
_DIGITS4 = re.compile(rb"[0-9]{4}")


def crc16(data: bytes) -> int:
    """HJ 212 CRC of ``data``: register 0xFFFF; per byte ``r = (r >> 8) ^ b``, then 8 x shift/XOR 0xA001."""
    register = 0xFFFF
    for byte in data:
        register = (register >> 8) ^ byte
        for _ in range(8):
            carry = register & 1
            register >>= 1
            if carry:
                register ^= 0xA001
    return register


def wrap(segment: bytes) -> bytes:
    """Frame a data segment; raise ``LengthError`` if it is longer than a 4-digit length can say."""
    if len(segment) > MAX_LENGTH_FIELD:
        raise LengthError(f"data segment is {len(segment)} bytes, over {MAX_LENGTH_FIELD}")
    return b"##%04d%s%04X\r\n" % (len(segment), segment, crc16(segment))


@dataclass(frozen=True, slots=True)
class Unwrapped:
    """A frame taken apart: the data segment bytes, the CRC it carried, and the CRC computed over it."""

    segment: bytes
    crc: int
    computed_crc: int

    @property
    def crc_ok(self) -> bool:
        """The frame's CRC matches its data segment."""
        return self.crc == self.computed_crc


def unwrap(raw: bytes, *, verify_crc: bool = True, max_frame: int = MAX_FRAME_BYTES) -> Unwrapped:
    """Check the framing of one frame and return its parts.

    Raises ``FrameTooLargeError`` (over ``max_frame`` bytes), ``FrameError`` (``##`` or CR LF missing,
    length field not 4 digits), ``LengthError`` (length field disagrees) or ``CrcError`` (CRC not 4 hex
    digits, or wrong while ``verify_crc``; with ``verify_crc=False`` a wrong CRC is only reported).
    """
    if len(raw) > max_frame:
        raise FrameTooLargeError(f"frame is {len(raw)} bytes, over the {max_frame}-byte limit")
    if not raw.startswith(b"##"):
        raise FrameError(f"frame must start with '##', starts with {raw[:6]!r}")
    if not raw.endswith(b"\r\n"):
        raise FrameError(f"frame must end with CR LF, ends with {raw[-6:]!r}")
    if len(raw) < OVERHEAD:
        raise FrameError(f"frame of {len(raw)} bytes is shorter than the {OVERHEAD} bytes of framing")
    if not _DIGITS4.fullmatch(raw[2:6]):
        raise FrameError(f"length field {raw[2:6]!r} is not 4 decimal digits")
    segment, crc_text = raw[6:-6], raw[-6:-2]
    declared = int(raw[2:6])
    if declared != len(segment):
        raise LengthError(f"length field says {declared:04d} but the data segment has {len(segment)} bytes")
    if not _HEX4.fullmatch(crc_text):
        raise CrcError(f"CRC field {crc_text!r} is not 4 hex digits")
    result = Unwrapped(segment, int(crc_text, 16), crc16(segment))
    if verify_crc and not result.crc_ok:
        raise CrcError(f"CRC mismatch: frame says {result.crc:04X}, segment gives {result.computed_crc:04X}")
    return result


class FrameSplitter:
    """Cuts a byte stream (arbitrary chunks) into frames ``##…\\r\\n``; validation is left to ``unwrap``.

    Bytes before a ``##`` are garbage and counted in ``discarded``; so is a ``##`` not followed by four
    digits. A frame that would exceed ``max_frame`` bytes (by its length field, or because no CR LF came
    in time) is discarded and reported by ``FrameTooLargeError`` from ``__next__``; iterating again goes on
    with the bytes after it. The buffer never holds more than ``max_frame`` bytes plus the last chunk.

    With ``lf_alone`` (a receiver's tolerance of devices that end frames with LF alone, an HJ 212-2025
    deviation), a frame also ends at a lone LF: it is returned ending in CR LF, counted in ``lf_ended``
    and noted in ``deviations`` (logged once per ``Deviations``). Without it (the default) only CR LF ends
    a frame, as HJ 212-2017 prescribes.

    Use::

        for frame in splitter.feed(chunk):
            ...
    """

    def __init__(
        self,
        max_frame: int = MAX_FRAME_BYTES,
        *,
        lf_alone: bool = False,
        deviations: Deviations | None = None,
    ) -> None:
        if max_frame < OVERHEAD:
            raise ValueError(f"max_frame must be >= {OVERHEAD}")
        self.max_frame = max_frame
        self.discarded = 0
        self.oversized = 0
        self.lf_ended = 0
        self.lf_alone = lf_alone
        self.deviations = deviations if deviations is not None else Deviations()
        self._buffer = bytearray()

    @property
    def buffered(self) -> int:
        """Bytes held, waiting for the rest of a frame."""
        return len(self._buffer)

    def feed(self, data: bytes) -> Self:
        """Add a chunk; iterate the result for the complete frames now available."""
        self._buffer += data
        return self

    def complete(self, data: bytes, oversized: Callable[[str], None]) -> list[bytes]:
        """Add a chunk and return the complete frames now available; each frame discarded for its size is
        reported to ``oversized`` (the reason) and the rest read on."""
        out: list[bytes] = []
        self.feed(data)
        while True:
            try:
                out.append(next(self))
            except StopIteration:
                return out
            except FrameTooLargeError as exc:
                oversized(str(exc))

    def __iter__(self) -> Self:
        return self

    def __next__(self) -> bytes:
        while True:
            if not self._skip_to_start():
                raise StopIteration
            if len(self._buffer) < 6:
                raise StopIteration
            if not _DIGITS4.fullmatch(self._buffer[2:6]):
                self._drop(2)  # a stray "##": resynchronise on the next one
                continue
            declared = int(self._buffer[2:6]) + OVERHEAD
            end, width = self._end()
            size = declared if end < 0 else end + width
            if size > self.max_frame or (end < 0 and len(self._buffer) > self.max_frame):
                self._drop_oversized(end, width)
                raise FrameTooLargeError(f"frame over the {self.max_frame}-byte limit discarded")
            if end < 0:
                raise StopIteration
            frame = bytes(self._buffer[:end])
            del self._buffer[: end + width]
            if width == 1:
                self.lf_ended += 1
                self.deviations.note(Deviation.LF_LINE_END, "a frame ends with LF alone")
            return frame + b"\r\n"

    def _end(self) -> tuple[int, int]:
        """Where the buffered frame's line end starts and its width (2: CR LF, 1: a lone LF), or (-1, 2)."""
        if not self.lf_alone:
            return self._buffer.find(b"\r\n", 6), 2
        lf = self._buffer.find(b"\n", 6)
        if lf < 0:
            return -1, 2
        return (lf - 1, 2) if self._buffer[lf - 1] == 0x0D else (lf, 1)

    def _skip_to_start(self) -> bool:
        """Drop garbage before the next ``##``; False when no ``##`` is buffered yet."""
        start = self._buffer.find(b"##")
        if start < 0:
            keep = 1 if self._buffer.endswith(b"#") else 0
            self._drop(len(self._buffer) - keep)
            return False
        self._drop(start)
        return True

    def _drop(self, count: int) -> None:
        self.discarded += count
        del self._buffer[:count]

    def _drop_oversized(self, end: int, width: int) -> None:
        """Drop the oversized frame: through its CR LF if it came, else up to the next ``##``."""
        self.oversized += 1
        if end >= 0:
            self._drop(end + width)
            return
        following = self._buffer.find(b"##", 2)
        self._drop(len(self._buffer) if following < 0 else following)
