"""Bavarian-Hessen (Bayern-Hessen) framing, shared by the simulated analyser and the edge's driver.

A telegram is ``STX <text> ETX <bcc>``: ``<bcc>`` is the XOR of every byte from STX to ETX inclusive, sent
as two upper-case hex digits. A value is ``<sign><4 digits><sign><2 digits>``, a mantissa with the decimal
point after its first digit and a power of ten: ``+7595+02`` is 759.5. Sources and assumptions are in
docs/domain.md ("Bavarian-Hessen").
"""

from __future__ import annotations

import math
import re

from stationpipe.kernel.errors import DeviceChecksumError, DeviceError
from stationpipe.kernel.reading import Flag

STX, ETX = 0x02, 0x03

#: Status byte bits and the flag each raises while set: the Ecotech Serinus bit map (docs/domain.md);
#: a profile's ``channel_status`` replaces it for analysers that use the bits otherwise.
STATUS_FLAGS: dict[int, Flag] = {
    0: Flag.F,  # instrument off
    1: Flag.M,  # out of service
    2: Flag.C,  # zero mode
    3: Flag.C,  # span mode
    7: Flag.C,  # background (automatic zero) check
}
_VALUE = re.compile(r"^([+-])(\d{4})([+-]\d{2})$")


def bcc(data: bytes) -> str:
    """The block check of ``data`` (STX through ETX inclusive): XOR of its bytes, two hex digits."""
    x = 0
    for byte in data:
        x ^= byte
    return f"{x:02X}"


def frame(text: str) -> bytes:
    """``STX text ETX bcc``."""
    body = bytes([STX]) + text.encode("ascii") + bytes([ETX])
    return body + bcc(body).encode("ascii")


def unframe(data: bytes) -> str:
    """The text of the last complete telegram in ``data`` (bytes before its STX are line noise).

    ``DeviceError`` when there is no telegram or it is not ASCII; ``DeviceChecksumError`` when its BCC
    does not match."""
    end = data.rfind(bytes([ETX]))
    start = data.rfind(bytes([STX]), 0, end if end >= 0 else len(data))
    if start < 0 or end < 0 or len(data) < end + 3:
        raise DeviceError(f"not a Bavarian-Hessen telegram: {data!r}")
    body, check = data[start : end + 1], data[end + 1 : end + 3]
    if not body.isascii():
        raise DeviceError(f"non-ASCII bytes in {data!r}")
    if check.decode("ascii", errors="replace").upper() != bcc(body):
        raise DeviceChecksumError(f"BCC mismatch: got {check!r}, computed {bcc(body)} over {body!r}")
    return body[1:-1].decode("ascii")


def format_value(value: float) -> str:
    """``value`` as ``+d.ddd`` times a power of ten: ``+7595+02``; zero is ``+0000+00``.

    ``ValueError`` for NaN, infinities and values beyond 9.999e99."""
    if not math.isfinite(value):
        raise ValueError(f"{value} has no Bavarian-Hessen form")
    if value == 0:
        return "+0000+00"
    sign = "-" if value < 0 else "+"
    mantissa, exponent = f"{abs(value):.3e}".split("e")
    if abs(int(exponent)) > 99:
        raise ValueError(f"{value} is out of the Bavarian-Hessen range")
    return f"{sign}{mantissa.replace('.', '')}{int(exponent):+03d}"


def parse_value(text: str) -> float:
    """The number ``+dddd+ee`` stands for; ``ValueError`` when it is not of that form."""
    match = _VALUE.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not a Bavarian-Hessen value (+dddd+ee)")
    sign, digits, exponent = match.groups()
    return float(f"{sign}{digits[0]}.{digits[1:]}e{exponent}")
