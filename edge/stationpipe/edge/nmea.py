"""NMEA 0183 from a GNSS receiver on a serial port (pyserial), its sentences parsed by pynmea2.

A receiver talks without being asked: typically GGA and RMC once a second. :func:`parse_fix` turns one
line into a :class:`Fix` (pure); :class:`NmeaReceiver` reads lines in a worker thread and hands every fix
to a callback. Only GGA (fix quality) and RMC (status, speed over ground) matter here; other sentences are
skipped. A line with a wrong checksum, or without one, is rejected (``DeviceError``), never half-used.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import pynmea2
import serial

from stationpipe.kernel.backoff import Backoff
from stationpipe.kernel.errors import DeviceError
from stationpipe.kernel.geo import KNOT_M_S
from stationpipe.kernel.reading import utc_now

log = logging.getLogger(__name__)
_READ_TIMEOUT = 0.2  # seconds one readline may block the worker thread (bounds cancellation latency)
_MAX_LINE = 256  # NMEA 0183 caps a sentence at 82 characters; anything far longer is noise


@dataclass(frozen=True, slots=True)
class Fix:
    """One sentence's view of the receiver: position (decimal degrees, WGS 84), speed (m/s) if RMC said,
    and whether the receiver had a valid fix. ``ts`` is the instant the line arrived (UTC)."""

    lat: float | None
    lon: float | None
    speed: float | None
    valid: bool
    ts: datetime


def _position(msg: pynmea2.NMEASentence) -> tuple[float | None, float | None]:
    if not msg.lat or not msg.lon:
        return None, None
    try:
        return float(msg.latitude), float(msg.longitude)
    except ValueError:  # pynmea2 found digits it cannot read as degrees and minutes
        return None, None


def _speed(msg: pynmea2.NMEASentence) -> float | None:
    knots = msg.spd_over_grnd  # pynmea2 gives a float, None when empty, the raw text when unreadable
    return knots * KNOT_M_S if isinstance(knots, float) and math.isfinite(knots) else None


def parse_fix(line: bytes, ts: datetime) -> Fix | None:
    """The fix one GGA or RMC line carries; ``None`` for other sentences; ``DeviceError`` for a bad line.

    Validity is pynmea2's: GGA fix quality 1-5, RMC status ``A`` (and, when sent, a mode other than ``N``).
    """
    text = line.decode("ascii", errors="replace").strip()
    start = text.find("$")
    if start < 0:
        raise DeviceError(f"not an NMEA sentence: {text[:80]!r}")
    try:
        msg = pynmea2.parse(text[start:], check=True)
    except pynmea2.SentenceTypeError:
        return None  # a sentence type pynmea2 does not know: nothing we need
    except pynmea2.ParseError as exc:
        reason = exc.args[0][0] if exc.args and isinstance(exc.args[0], tuple) else str(exc)
        raise DeviceError(f"bad NMEA sentence {text[start : start + 82]!r}: {reason}") from exc
    if isinstance(msg, pynmea2.GGA | pynmea2.RMC):
        lat, lon = _position(msg)
        speed = _speed(msg) if isinstance(msg, pynmea2.RMC) else None
        return Fix(lat, lon, speed, bool(msg.is_valid) and lat is not None, ts)
    return None


class NmeaReceiver:
    """Reads one serial port forever, reconnecting with backoff; every GGA/RMC fix goes to ``on_fix``."""

    def __init__(self, name: str, port: str, baudrate: int) -> None:
        self.name, self.port, self.baudrate = name, port, baudrate
        self.bad_lines = 0
        self._serial: serial.Serial | None = None
        self._buf = b""
        self._up: bool | None = None
        self._io = threading.Lock()  # a read in the worker thread and close() never overlap

    def _open(self) -> serial.Serial:
        if self._serial is None:
            try:
                port = serial.Serial(self.port, self.baudrate, timeout=_READ_TIMEOUT)
            except (serial.SerialException, OSError) as exc:
                raise DeviceError(f"{self.name}: cannot open {self.port}: {exc}") from exc
            self._serial = port
            try:
                port.reset_input_buffer()  # what queued while nobody read is stale
            except (serial.SerialException, OSError) as exc:
                self._close_port()
                raise DeviceError(f"{self.name}: {exc}") from exc
        return self._serial

    def _read_line(self) -> bytes | None:
        """One complete line, or ``None`` when none completed within the read timeout (worker thread)."""
        with self._io:
            port = self._open()
            try:
                chunk = port.readline()
            except (serial.SerialException, OSError) as exc:
                self._close_port()
                raise DeviceError(f"{self.name}: {exc}") from exc
        self._buf += chunk
        if not self._buf.endswith(b"\n"):
            if len(self._buf) > _MAX_LINE:
                self._buf = b""
            return None
        line, self._buf = self._buf, b""
        return line

    def _state(self, *, up: bool, why: str) -> None:
        if up != self._up:
            self._up = up
            level = logging.INFO if up else logging.WARNING
            log.log(level, "GNSS receiver %s %s: %s", self.name, "reading" if up else "unavailable", why)

    async def run(self, on_fix: Callable[[Fix], None]) -> None:
        """Read and parse until cancelled; a failing port is reopened with backoff."""
        backoff = Backoff(initial=0.5, cap=30.0)
        while True:
            try:
                line = await asyncio.to_thread(self._read_line)
            except DeviceError as exc:
                self._state(up=False, why=str(exc))
                await asyncio.sleep(backoff.next_delay())
                continue
            if line is None:
                continue
            try:
                fix = parse_fix(line, utc_now())
            except DeviceError as exc:
                self.bad_lines += 1
                log.debug("%s", exc)
                continue
            if fix is not None:
                backoff.reset()
                self._state(up=True, why=f"{self.port}")
                on_fix(fix)

    def _close_port(self) -> None:
        if self._serial is not None:
            with contextlib.suppress(serial.SerialException, OSError):
                self._serial.close()
            self._serial = None

    def close(self) -> None:
        """Close the port (it is reopened on the next read); waits for a read in progress (<= 0.2 s)."""
        with self._io:
            self._close_port()
