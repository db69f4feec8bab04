"""HJ 212-2025 codec: the 2017 framing and CRC, Flag version 000010, ``RF=1``, and SM4 per logger.

The data area of CN 2000-2999, 1014 and 3020 is encrypted when the ``KeyRing`` has a key for the MN
(``cipher``): the CRC and the length field are those of the plaintext segment, as in the standard's
appendix A examples. A receiver accepts either length (plaintext or as sent). Strict where the standard
is; tolerant (``tolerance``) of a 17-digit DataTime, a lower-case CRC, LF-only line ends and a Flag
of another version: the data is kept and the deviation counted in ``Codec2025.deviations``.

Example (appendix A.2, key sixteen 0x30 bytes, docs/domain.md#hj-212-2025)::

    >>> codec = Codec2025(KeyRing(default=b"0" * 16))
    >>> frame = codec.decode(codec.encode(DataSegment(st="31", cn="2011", mn="M", flag=9,
    ...                      cp=CpArea(params=(("Info", "0123456789ABCDEF"),)))))
    >>> frame.encrypted, frame.segment.cp.param("Info")
    (True, '0123456789ABCDEF')
"""

from __future__ import annotations

import re
from dataclasses import replace

from stationpipe.hj212.cipher import decrypt_blocks, encrypt_area, is_encrypted, split_area
from stationpipe.hj212.codes import FLAG_A, FLAG_D, FLAG_VERSION_2025, PacketFlag, Version, encrypted_cn
from stationpipe.hj212.cp import CpArea, format_cp
from stationpipe.hj212.errors import (
    CpError,
    CrcError,
    FrameError,
    FrameTooLargeError,
    KeyMissingError,
    LengthError,
    SegmentError,
    SplitError,
    WrongKeyError,
)
from stationpipe.hj212.frame import MAX_FRAME_BYTES, MAX_LENGTH_FIELD, OVERHEAD, crc16, wrap
from stationpipe.hj212.keyring import KeyRing
from stationpipe.hj212.packets import Frame, split_segment
from stationpipe.hj212.segment import DataSegment, format_segment, parse_segment
from stationpipe.hj212.tolerance import Deviation, Deviations

#: HJ 212-2025: a data segment is at most 1024 characters (plaintext), the ``CP=&&…&&`` field at most 950.
MAX_SEGMENT_2025 = 1024
MAX_CP_2025 = 950

_CP_MARK = b"CP=&&"
_DIGITS4 = re.compile(rb"[0-9]{4}")
_HEX4 = re.compile(rb"[0-9A-Fa-f]{4}")
# DataTime or <code>-SampleTime with 17 digits: YYYYMMDDhhmmss + milliseconds.
_MILLIS_TIME = re.compile(r"(?<=[&;,])(DataTime|[^;,&=]+-SampleTime)=(\d{14})\d{3}(?=[;,&])")
# Control characters never occur in CP text; random bytes (a wrong key) almost always contain some.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class Codec2025:
    """HJ 212-2025 with optional SM4 keys per MN; ``deviations`` counts what was tolerated."""

    def __init__(
        self,
        keys: KeyRing | None = None,
        *,
        max_segment: int = MAX_SEGMENT_2025,
        max_cp: int = MAX_CP_2025,
        deviations: Deviations | None = None,
    ) -> None:
        self.keys = keys if keys is not None else KeyRing()
        self.max_segment = max_segment
        self.max_cp = max_cp
        self.deviations = deviations if deviations is not None else Deviations()

    @property
    def version(self) -> Version:
        """Always ``Version.HJ212_2025``."""
        return Version.HJ212_2025

    # -- encoding --------------------------------------------------------------------------------

    def encode(self, segment: DataSegment) -> bytes:
        """One frame, its Flag carrying version 2025 (A and D bits kept); encrypted when ``needs_key``.

        Raises ``SegmentError`` over ``max_segment`` bytes of segment or ``max_cp`` of CP field
        (``encode_packets`` splits), or ``CpError`` when the CP area starts with ``{`` (the ciphertext mark).
        """
        segment = _versioned(segment)
        plain = format_segment(segment).encode()
        if not self._fits(segment):
            raise SegmentError(
                f"data segment is {len(plain)} bytes (CP field {_cp_size(segment.cp)}), over "
                f"{self.max_segment} ({self.max_cp}): split it"
            )
        if is_encrypted(format_cp(segment.cp)[2:].encode()):
            raise CpError("a 2025 CP area must not start with '{', which marks ciphertext")
        return wrap_2025(plain, self.keys.key_for(segment.mn) if encrypted_cn(segment.cn) else None)

    def needs_key(self, segment: DataSegment) -> bool:
        """The segment's data area is encrypted on encoding (its CN is encrypted and its MN has a key)."""
        return encrypted_cn(segment.cn) and self.keys.key_for(segment.mn) is not None

    def encode_packets(self, segment: DataSegment) -> list[bytes]:
        """One frame if the segment fits, else packets PNO 1..PNUM (Flag 10/11), each one encrypted."""
        segment = _versioned(segment)
        if self._fits(segment):
            return [self.encode(segment)]
        if segment.is_split:
            raise SplitError("segment already carries PNUM/PNO and is too long for one packet")
        base = PacketFlag.make(version=FLAG_VERSION_2025).value
        limit = f"{self.max_segment} bytes (CP field {self.max_cp})"
        parts = split_segment(segment, base_flag=base, fits=self._fits, limit=limit)
        return [self.encode(part) for part in parts]

    def _fits(self, segment: DataSegment) -> bool:
        size = len(format_segment(segment).encode())
        return size <= self.max_segment and _cp_size(segment.cp) <= self.max_cp

    # -- decoding --------------------------------------------------------------------------------

    def decode(self, raw: bytes, *, verify_crc: bool = True, max_frame: int = MAX_FRAME_BYTES) -> Frame:
        """Decode one frame; decrypt its data area with the MN's key when it is encrypted.

        Raises ``FrameError`` subclasses for framing, ``KeyMissingError`` (encrypted, no key for the
        MN), ``WrongKeyError`` (the key does not decrypt to CP text), ``CipherError`` (malformed
        ciphertext), ``CrcError`` (wrong CRC of the plaintext segment while ``verify_crc``) and
        ``SegmentError``/``CpError`` for the fields.
        """
        seen: list[Deviation] = []
        declared, sent, crc_text = self._unframe(raw, max_frame, seen)
        plain, encrypted = self._plaintext(sent)
        if declared not in (len(plain), len(sent)):
            raise LengthError(
                f"length field says {declared:04d} but the data segment has {len(plain)} bytes"
                + (f" ({len(sent)} as sent)" if encrypted else "")
            )
        crc, computed = int(crc_text, 16), crc16(plain)
        if verify_crc and crc != computed:
            hint = " (wrong key?)" if encrypted else ""
            raise CrcError(f"CRC mismatch: frame says {crc:04X}, segment gives {computed:04X}{hint}")
        segment = parse_segment(self._text(plain, seen), allow_rf=True)
        if segment.flag is not None and PacketFlag(segment.flag).version != FLAG_VERSION_2025:
            self._note(seen, Deviation.FLAG_VERSION, f"Flag={segment.flag}")
        kinds = tuple(str(kind) for kind in seen)
        return Frame(segment, crc, crc == computed, self.version, encrypted, kinds)

    def _unframe(self, raw: bytes, max_frame: int, seen: list[Deviation]) -> tuple[int, bytes, bytes]:
        """``(length field, data segment as sent, CRC text)``; LF alone and a lower-case CRC tolerated."""
        if len(raw) > max_frame:
            raise FrameTooLargeError(f"frame is {len(raw)} bytes, over the {max_frame}-byte limit")
        if not raw.startswith(b"##"):
            raise FrameError(f"frame must start with '##', starts with {raw[:6]!r}")
        if raw.endswith(b"\n") and not raw.endswith(b"\r\n"):
            self._note(seen, Deviation.LF_LINE_END, "frame ends with LF alone")
            raw = raw[:-1] + b"\r\n"
        if not raw.endswith(b"\r\n"):
            raise FrameError(f"frame must end with CR LF, ends with {raw[-6:]!r}")
        if len(raw) < OVERHEAD:
            raise FrameError(f"frame of {len(raw)} bytes is shorter than the {OVERHEAD} bytes of framing")
        if not _DIGITS4.fullmatch(raw[2:6]):
            raise FrameError(f"length field {raw[2:6]!r} is not 4 decimal digits")
        crc_text = raw[-6:-2]
        if not _HEX4.fullmatch(crc_text):
            raise CrcError(f"CRC field {crc_text!r} is not 4 hex digits")
        if crc_text != crc_text.upper():
            self._note(seen, Deviation.CRC_LOWER_CASE, f"CRC {crc_text.decode()}")
        return int(raw[2:6]), raw[6:-6], crc_text

    def _plaintext(self, sent: bytes) -> tuple[bytes, bool]:
        """The plaintext data segment and whether its data area was encrypted."""
        at = sent.find(_CP_MARK)
        if at < 0 or not sent.endswith(b"&&") or len(sent) < at + len(_CP_MARK) + 2:
            return sent, False  # not a CP=&&…&& segment: parse_segment says what is wrong
        start = at + len(_CP_MARK)
        area = sent[start:-2]
        if not is_encrypted(area):
            return sent, False
        cipher, tail = split_area(area)
        if not cipher:  # "{}": the notation without ciphertext, nothing was encrypted
            return sent[:start] + tail + b"&&", False
        mn = _mn(sent[:at])
        key = self.keys.key_for(mn)
        if key is None:
            raise KeyMissingError(f"the data area of MN {mn!r} is encrypted and no key is configured for it")
        decrypted = decrypt_blocks(cipher, key) + tail
        try:
            text = decrypted.decode()
        except UnicodeDecodeError:
            text = "\x00"
        if _CONTROL.search(text) or "&" in text:
            raise WrongKeyError(f"the decrypted data area of MN {mn!r} is not CP text: wrong key?")
        return sent[:start] + decrypted + b"&&", True

    def _text(self, plain: bytes, seen: list[Deviation]) -> str:
        """The segment as text, a 17-digit DataTime/SampleTime cut to whole seconds (counted)."""
        try:
            text = plain.decode()
        except UnicodeDecodeError as exc:
            raise FrameError(f"data segment is not UTF-8 text (byte {exc.start})") from exc
        at = text.find("CP=&&")
        if at < 0:
            return text
        cp, count = _MILLIS_TIME.subn(r"\1=\2", text[at + 3 :])
        if count:
            self._note(seen, Deviation.DATATIME_MILLIS, "a 17-digit time, cut to whole seconds")
        return text[: at + 3] + cp

    def _note(self, seen: list[Deviation], kind: Deviation, detail: str) -> None:
        seen.append(kind)
        self.deviations.note(kind, detail)


def wrap_2025(plain: bytes, key: bytes | None) -> bytes:
    """Frame a plaintext data segment, its data area SM4-encrypted with ``key`` (``None``: as it is).

    The length field and the CRC are those of the plaintext segment (appendix A.2). Raises
    ``SegmentError`` when the segment has no ``CP=&&…&&`` and ``LengthError`` when it is too long.
    """
    at = plain.find(_CP_MARK)
    if key is None:
        return wrap(plain)
    if at < 0 or not plain.endswith(b"&&") or len(plain) < at + len(_CP_MARK) + 2:
        raise SegmentError("CP=&&…&& missing")
    start = at + len(_CP_MARK)
    sent = plain[:start] + encrypt_area(plain[start:-2], key) + b"&&"
    if len(sent) > MAX_LENGTH_FIELD:
        raise LengthError(f"encrypted data segment is {len(sent)} bytes, over {MAX_LENGTH_FIELD}")
    return b"##%04d%s%04X\r\n" % (len(plain), sent, crc16(plain))


def _versioned(segment: DataSegment) -> DataSegment:
    """The segment with version 2025 in its Flag (the A and D bits kept; an absent Flag stays absent)."""
    if segment.flag is None:
        return segment
    bits = segment.flag & (FLAG_A | FLAG_D)
    return replace(segment, flag=PacketFlag.make(version=FLAG_VERSION_2025).value | bits)


def _cp_size(cp: CpArea) -> int:
    """Characters of the ``CP=&&…&&`` field (HJ 212-2025 limits it to 950)."""
    return len(("CP=" + format_cp(cp)).encode())


def _mn(header: bytes) -> str | None:
    """The MN of a segment header, for the key lookup (the full parse comes after decryption)."""
    for item in header.split(b";"):
        if item.startswith(b"MN="):
            return item[3:].decode(errors="replace")
    return None
