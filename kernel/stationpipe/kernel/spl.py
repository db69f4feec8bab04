"""SPL/1 framing, shared by the simulated ASCII sensor and the edge's ASCII driver.

A frame is ``$<body>*<cs>\\r\\n``, where ``<cs>`` is the XOR of the body's bytes as two upper-case hex
digits (as in NMEA 0183). What the body holds is described in simulators/ascii_sensor.py.
"""

from __future__ import annotations


def checksum(body: str) -> str:
    """XOR of the body's bytes as two upper-case hex digits."""
    x = 0
    for byte in body.encode("ascii"):
        x ^= byte
    return f"{x:02X}"


def frame(body: str) -> bytes:
    """``$body*cs\\r\\n``."""
    return f"${body}*{checksum(body)}\r\n".encode("ascii")
