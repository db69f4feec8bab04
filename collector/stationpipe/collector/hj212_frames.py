"""Reading a frame before (or without) decoding it, and decoding HJ 212-2025 frames with a logger's keys.

The header of a 2025 frame (QN, ST, CN, PW, MN, Flag) is plaintext; only the data area is encrypted. So
the server finds a frame's logger (and the edition it speaks) by its MN before decoding, and can answer
a frame it cannot decrypt with the frame's own QN.
"""

from __future__ import annotations

import re

from stationpipe.collector.hj212_keys import KeyStore
from stationpipe.hj212 import (
    Codec2025,
    CrcError,
    DataSegment,
    Deviations,
    Frame,
    Hj212Error,
    KeyRing,
    WrongKeyError,
)
from stationpipe.hj212.segment import parse_segment

_MN = re.compile(rb"(?:^|;)MN=([^;&]*)")


def peek_mn(raw: bytes) -> str | None:
    """The MN of a frame's header, or ``None`` (no MN, or not text)."""
    at = raw.find(b"CP=")
    found = _MN.search(raw[6 : at if at >= 0 else None])
    if found is None:
        return None
    try:
        return found.group(1).decode()
    except UnicodeDecodeError:
        return None


def header_of(raw: bytes) -> DataSegment | None:
    """The frame's data segment without its CP area (to answer it), or ``None`` when even that is broken."""
    at = raw.find(b"CP=")
    if at < 0:
        return None
    try:
        return parse_segment(raw[6:at].decode() + "CP=&&&&", allow_rf=True)
    except (UnicodeDecodeError, Hj212Error):
        return None


def decode_2025(
    raw: bytes, mn: str, keys: KeyStore, deviations: Deviations, *, now: float, max_frame: int
) -> Frame:
    """Decode with the MN's current key, else with its previous key while the grace period lasts.

    Raises what ``Codec2025.decode`` raises for the current key (``WrongKeyError``, ``KeyMissingError``,
    ``CrcError``, ``FrameError``…) when the previous key does not read the frame either.
    """
    current = keys.current(mn)
    try:
        return _codec(mn, current, deviations).decode(raw, max_frame=max_frame)
    except (WrongKeyError, CrcError) as exc:
        old = keys.previous(mn, now)
        if old is None:
            raise
        try:
            return _codec(mn, old, deviations).decode(raw, max_frame=max_frame)
        except Hj212Error:
            raise exc from None


def _codec(mn: str, key: bytes | None, deviations: Deviations) -> Codec2025:
    return Codec2025(KeyRing({mn: key}) if key is not None else KeyRing(), deviations=deviations)
