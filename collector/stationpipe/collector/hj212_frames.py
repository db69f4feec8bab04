"""Decoding HJ 212-2025 frames with a logger's keys (current, then previous while its grace lasts).

The header of a 2025 frame (QN, ST, CN, PW, MN, Flag) is plaintext; only the data area is encrypted. So
the server finds a frame's logger (and the edition it speaks) by its MN before decoding
(``stationpipe.hj212.peek``, shared with the edge's instrument driver, re-exported here), and can answer
a frame it cannot decrypt with the frame's own QN.
"""

from __future__ import annotations

from stationpipe.collector.hj212_keys import KeyStore
from stationpipe.hj212 import (
    Codec2025,
    CrcError,
    Deviations,
    Frame,
    Hj212Error,
    KeyRing,
    WrongKeyError,
)
from stationpipe.hj212.peek import header_of, peek_mn

__all__ = ["decode_2025", "header_of", "peek_mn"]


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
