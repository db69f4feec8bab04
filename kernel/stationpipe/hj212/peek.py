"""Reading a frame's header before (or without) decoding it: its MN, and its data segment without the CP
area. The header of an HJ 212-2025 frame is plaintext (only the data area is encrypted), so a receiver
finds the sender (and the edition and key it uses) by the MN, and can answer a frame it cannot decode
(a wrong CRC, a wrong key) with the frame's own QN.
"""

from __future__ import annotations

import re

from stationpipe.hj212.errors import Hj212Error
from stationpipe.hj212.segment import DataSegment, parse_segment

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
