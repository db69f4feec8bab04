"""Bavarian-Hessen (Bayern-Hessen) data requests and replies, as pure functions.

    request   STX DA [kkk] ETX bcc                         (kkk: the analyser's three-digit id, optional)
    reply     STX MD cc {SP kkk SP +dddd+ee SP ss SP ff [SP extra ...]} x cc [SP] ETX bcc

``cc`` is the number of channels; each has its component number ``kkk``, its value, a status byte
``ss`` and an error (failure) byte ``ff``, both as two hex digits; vendors append further fields per
channel (a serial number, spare digits) that carry no measurement and are skipped. Framing and BCC are
in :mod:`stationpipe.kernel.hessen`; the sources are in docs/domain.md ("Bavarian-Hessen").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from stationpipe.kernel.errors import DeviceError
from stationpipe.kernel.hessen import STATUS_FLAGS, frame, parse_value, unframe
from stationpipe.kernel.reading import Flag

_ID = re.compile(r"^\d{3}$")
_VALUE = re.compile(r"^[+-]\d{4}[+-]\d{2}$")
_BYTE = re.compile(r"^[0-9A-Fa-f]{2}")

_PRECEDENCE = (Flag.D, Flag.C, Flag.M, Flag.F, Flag.S, Flag.T)


@dataclass(frozen=True, slots=True)
class Channel:
    """One component of a DA reply: its number, value, status byte and error byte."""

    number: int
    value: float
    status: int
    error: int

    def flag(self, status_flags: dict[int, Flag] | None = None) -> Flag:
        """The HJ 212 flag the bytes raise: any error bit is D; else the worst of the status bits that
        ``status_flags`` (default :data:`STATUS_FLAGS`) maps; else N."""
        if self.error:
            return Flag.D
        mapping = STATUS_FLAGS if status_flags is None else status_flags
        raised = {flag for bit, flag in mapping.items() if self.status >> bit & 1}
        return next((f for f in _PRECEDENCE if f in raised), Flag.N)


def request(address: int | None) -> bytes:
    """The DA data request, addressed to analyser ``address`` (0-999) or to whoever listens (``None``)."""
    if address is None:
        return frame("DA")
    if not 0 <= address <= 999:
        raise ValueError(f"a Bavarian-Hessen id has three digits: {address}")
    return frame(f"DA{address:03d}")


def _channel(fields: list[str], at: int) -> Channel | None:
    """The channel whose component number is ``fields[at]``, or ``None`` when no channel starts there."""
    if at + 3 >= len(fields) or not _ID.match(fields[at]) or not _VALUE.match(fields[at + 1]):
        return None
    status, error = _BYTE.match(fields[at + 2]), _BYTE.match(fields[at + 3])
    if status is None or error is None:
        raise DeviceError(f"channel {fields[at]}: status/error {fields[at + 2]!r} {fields[at + 3]!r}")
    return Channel(int(fields[at]), parse_value(fields[at + 1]), int(status[0], 16), int(error[0], 16))


def parse_reply(data: bytes) -> list[Channel]:
    """The channels of a DA reply; ``DeviceChecksumError`` for a bad BCC, ``DeviceError`` otherwise."""
    text = unframe(data)
    if not text.startswith("MD") or not text[2:4].isdigit():
        raise DeviceError(f"not a DA reply: {text!r}")
    count, fields = int(text[2:4]), text[4:].split()
    channels: list[Channel] = []
    at = 0
    while at < len(fields):
        channel = _channel(fields, at)
        if channel is None:
            at += 1  # a vendor's extra field
            continue
        channels.append(channel)
        at += 4
    if len(channels) != count:
        raise DeviceError(f"reply announces {count} channels, carries {len(channels)}: {text!r}")
    return channels
