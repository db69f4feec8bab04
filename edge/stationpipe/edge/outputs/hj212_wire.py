"""What the HJ 212 output puts on the wire, per the edition configured (``[hj212] version``).

The outbox keeps every record as its plaintext HJ 212-2017 frame, whatever the edition: a frame is made
for the wire when it is sent, so a record kept through an outage, a key change or a change of edition is
sent the way the configuration says at that moment.

=========== ===========================================================================================
2017        the kept frame as it is; no heartbeat
2025        Flag version 000010, the data area SM4-encrypted with the station's key (when one is
            configured), ``RF=1`` on a record re-sent after an outage (a live one has no RF), a 9015
            heartbeat every ``heartbeat_interval`` seconds
=========== ===========================================================================================
"""

from __future__ import annotations

import dataclasses
from typing import Protocol

from stationpipe.edge.config import Hj212Uplink
from stationpipe.hj212 import (
    CODECS,
    Cn,
    Codec,
    Codec2025,
    CpArea,
    DataSegment,
    KeyRing,
    PacketFlag,
    Version,
    decode,
    encode,
)


class Wire(Protocol):
    """One edition of HJ 212 as the uplink speaks it."""

    @property
    def codec(self) -> Codec:
        """Decodes the platform's frames (its replies)."""

    @property
    def heartbeat_interval(self) -> float | None:
        """Seconds between heartbeats; ``None``: this edition has none."""

    def store(self, segment: DataSegment) -> bytes:
        """What the outbox keeps for one record; raises ``Hj212Error`` when it could never be sent."""

    def frame(self, kept: bytes, *, resend: bool) -> tuple[bytes, str | None]:
        """The frame to send for a kept record and its QN; ``resend`` when it is backlog."""

    def heartbeat(self, qn: str) -> bytes | None:
        """A heartbeat frame asking for a reply; ``None``: this edition has none."""


class Wire2017:
    """HJ 212-2017: the kept frame goes as it is, live or re-sent."""

    codec: Codec = CODECS[Version.HJ212_2017]
    heartbeat_interval: float | None = None

    def store(self, segment: DataSegment) -> bytes:
        """The segment's HJ 212-2017 frame."""
        return encode(segment)

    def frame(self, kept: bytes, *, resend: bool) -> tuple[bytes, str | None]:  # noqa: ARG002
        """The kept frame itself (HJ 212-2017 has no mark for re-sent data)."""
        return kept, decode(kept).segment.qn

    def heartbeat(self, qn: str) -> bytes | None:  # noqa: ARG002
        """None: HJ 212-2017 has no heartbeat."""
        return None


class Wire2025:
    """HJ 212-2025 with the station's SM4 key (``None``: data areas in plaintext)."""

    def __init__(self, uplink: Hj212Uplink, key: bytes | None) -> None:
        self.uplink = uplink
        self._pw = uplink.password()
        self._codec = Codec2025(KeyRing({uplink.mn: key}) if key is not None else KeyRing())
        self.heartbeat_interval: float | None = uplink.heartbeat_interval

    @property
    def codec(self) -> Codec:
        """The HJ 212-2025 codec with the station's key."""
        return self._codec

    @property
    def encrypted(self) -> bool:
        """Uploads go with their data area encrypted."""
        return self._codec.needs_key(DataSegment(st=self.uplink.st, cn=Cn.REALTIME, mn=self.uplink.mn))

    def store(self, segment: DataSegment) -> bytes:
        """The plaintext frame; checked now to fit HJ 212-2025's limits even with ``RF=1``."""
        self._codec.encode(dataclasses.replace(segment, rf=True))
        return encode(segment)

    def frame(self, kept: bytes, *, resend: bool) -> tuple[bytes, str | None]:
        """The kept record in HJ 212-2025, ``RF=1`` when it is re-sent, encrypted with the key."""
        segment = dataclasses.replace(decode(kept).segment, rf=resend)
        return self._codec.encode(segment), segment.qn

    def heartbeat(self, qn: str) -> bytes:
        """``CN=9015`` with the station's ST, PW and MN, ``CP=&&&&``, asking for a reply (Flag=9)."""
        return self._codec.encode(
            DataSegment(
                st=self.uplink.st,
                cn=Cn.HEARTBEAT,
                qn=qn,
                pw=self._pw,
                mn=self.uplink.mn,
                flag=PacketFlag.make(ack=True).value,
                cp=CpArea(),
            )
        )


def wire_for(uplink: Hj212Uplink) -> Wire:
    """The wire of the configured edition (the key is read now)."""
    return Wire2017() if uplink.version == "2017" else Wire2025(uplink, uplink.key())
