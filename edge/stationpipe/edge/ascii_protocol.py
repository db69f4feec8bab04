"""SPL/1, the plain-ASCII polled line protocol of simple serial sensors (pure functions).

    request  $<id>,RD*<cs>\\r\\n
    reply    $<id>,RD,<code>=<value>,…,FL=<flag>*<cs>\\r\\n      (<value> may be NA)
    error    $<id>,ER,<reason>*<cs>\\r\\n

``<cs>`` is the XOR of the bytes between ``$`` and ``*`` as two hex digits (NMEA 0183). Bytes before
``$`` are line noise and are skipped. The full description is in simulators/ascii_sensor.py.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from stationpipe.kernel.errors import DeviceError, DeviceExceptionError
from stationpipe.kernel.reading import Flag
from stationpipe.kernel.spl import checksum, frame


@dataclass(frozen=True, slots=True)
class AsciiReply:
    """What one sensor answered: values by parameter code (None for NA) and its state flag."""

    values: dict[str, float | None]
    flag: Flag


def request(unit: int) -> bytes:
    """The read request for sensor ``unit``."""
    return frame(f"{unit},RD")


def _body(line: bytes) -> str:
    text = line.decode("ascii", errors="replace")
    start = text.rfind("$")
    star = text.rfind("*")
    if start < 0 or star < start or len(text) < star + 3:
        raise DeviceError(f"not an SPL/1 frame: {text.strip()!r}")
    body, cs = text[start + 1 : star], text[star + 1 : star + 3]
    if not body.isascii():  # line noise: bytes over 0x7F were decoded as U+FFFD
        raise DeviceError(f"non-ASCII bytes in {text.strip()!r}")
    if checksum(body) != cs.upper():
        raise DeviceError(f"checksum mismatch in {text.strip()!r}")
    return body


def _number(code: str, text: str) -> float | None:
    if text == "NA":
        return None
    try:
        value = float(text)
    except ValueError:
        raise DeviceError(f"{code}: {text!r} is not a number") from None
    return value if math.isfinite(value) else None


def parse_reply(line: bytes, unit: int) -> AsciiReply:
    """Parse one reply line; ``DeviceError`` for a bad frame, another unit, or an error reply."""
    fields = _body(line).split(",")
    if len(fields) < 2 or fields[0] != str(unit):
        raise DeviceError(f"answer from another address: {fields[0]!r} (asked {unit})")
    if fields[1] == "ER":
        reason = fields[2] if len(fields) > 2 else "?"
        if reason.startswith("E") and reason[1:].isdigit():
            raise DeviceExceptionError(f"sensor {unit}: exception {reason[1:]}", code=int(reason[1:]))
        raise DeviceError(f"sensor {unit} refused the request: {reason}")
    values: dict[str, float | None] = {}
    flag = Flag.N
    for item in fields[2:]:
        code, _, text = item.partition("=")
        if code == "FL":
            flag = Flag(text) if text in Flag.__members__ else Flag.D
        else:
            values[code] = _number(code, text)
    return AsciiReply(values, flag)
