"""NMEA 0183 sentence framing, shared by the simulated GNSS receiver and the tests that speak it.

A sentence is ``$<body>*<cs>\\r\\n``, where ``<cs>`` is the XOR of the body's bytes as two upper-case hex
digits. (The edge reads NMEA with pynmea2; records of other instruments framed the same way are read
through an ASCII template whose checksum is ``xor``.)
"""

from __future__ import annotations

from stationpipe.kernel.checksums import hex_checksum


def checksum(body: str) -> str:
    """XOR of the body's bytes as two upper-case hex digits."""
    return hex_checksum("xor", body.encode("ascii"))


def frame(body: str) -> bytes:
    """``$body*cs\\r\\n``."""
    return f"${body}*{checksum(body)}\r\n".encode("ascii")
