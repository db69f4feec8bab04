"""A plain-ASCII serial sensor on a pty: a polled line protocol with an NMEA-style checksum.

Protocol ("SPL/1"), ASCII, every line ends with CR LF::

    request  (client -> sensor)   $<id>,RD*<cs>
    reply    (sensor -> client)   $<id>,RD,<code>=<value>,<code>=<value>,…,FL=<flag>*<cs>
    error    (sensor -> client)   $<id>,ER,<reason>*<cs>

- ``<id>`` is the sensor's address, decimal 1–247; several sensors share one line and only the
  addressed one answers (an unknown address gets no answer at all).
- ``<cs>`` is two upper-case hex digits: the XOR of every byte between ``$`` and ``*`` (NMEA 0183).
- ``<code>`` is the parameter's catalogue code (``ph``, ``do``, …) in profile order; ``<value>`` is a
  decimal in the profile point's unit with four decimals, or ``NA`` when the sensor has no value.
- ``FL`` is the sensor's state as an HJ 212 flag: ``N`` normal, ``D`` fault, ``C`` calibration,
  ``M`` maintenance.
- ``<reason>``: ``CS`` (the request's checksum is wrong), ``CMD`` (unknown command), ``E<n>``
  (instrument exception *n*, as Modbus exception codes).
- Bytes before ``$`` and empty lines are ignored (line noise).

Example: ``$3,RD*09`` -> ``$3,RD,temp=18.4210,ph=7.6120,FL=N*74``.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
from datetime import datetime

from stationpipe.kernel.reading import utc_now
from stationpipe.kernel.spl import checksum, frame
from stationpipe.kernel.units import convert
from stationpipe.simulators.board import Effects
from stationpipe.simulators.instrument import Instrument
from stationpipe.simulators.pty_line import Pty, noise

log = logging.getLogger(__name__)
_MAX_LINE = 256
_QUEUE = 32


class FrameError(ValueError):
    """A line that is not a valid frame; ``reason`` is what the sensor answers (or '' for silence)."""

    def __init__(self, reason: str, unit: int | None = None) -> None:
        """``unit`` is the address when it could be read despite the error."""
        super().__init__(reason)
        self.reason = reason
        self.unit = unit


def parse(line: bytes) -> list[str]:
    """The comma-separated fields of a valid frame; ``FrameError`` otherwise."""
    text = line.decode("ascii", errors="replace").strip()
    start = text.find("$")
    if start < 0 or "*" not in text[start:]:
        raise FrameError("")
    body, _, cs = text[start + 1 :].rpartition("*")
    fields = body.split(",")
    if cs.upper() != checksum(body):
        unit = int(fields[0]) if fields[0].isdigit() else None
        raise FrameError("CS", unit)
    return fields


def reading(inst: Instrument, at: datetime, effects: Effects) -> str:
    """The body of a reply: every point's value in its unit, then the flag."""
    parts = [f"{inst.unit}", "RD"]
    for point in inst.profile.points:
        value = effects.value(inst.model, point.parameter, at)
        shown = convert(point.parameter, value, point.unit) if math.isfinite(value) else math.nan
        parts.append(f"{point.parameter}={shown:.4f}" if math.isfinite(shown) else f"{point.parameter}=NA")
    parts.append(f"FL={inst.flag(effects).value}")
    return ",".join(parts)


def _addressed(instruments: dict[int, Instrument], line: bytes) -> tuple[Instrument | None, list[str], bytes]:
    """The addressed sensor and the request's fields, or ``None`` and the immediate reply (or silence)."""
    try:
        fields = parse(line)
    except FrameError as exc:
        if not exc.reason or exc.unit not in instruments:
            return None, [], b""
        return None, [], frame(f"{exc.unit},ER,{exc.reason}")
    inst = instruments.get(int(fields[0])) if fields[0].isdigit() else None
    return inst, fields, b""


def _body(inst: Instrument, fields: list[str], effects: Effects) -> str:
    if len(fields) < 2 or fields[1] != "RD":
        return f"{inst.unit},ER,CMD"
    if effects.exception is not None:
        return f"{inst.unit},ER,E{effects.exception}"
    at = utc_now()
    return reading(inst, at, inst.effects(at))


async def answer(instruments: dict[int, Instrument], line: bytes, rng: random.Random) -> bytes:
    """What the line carries back for one request line (``b''``: nobody answers)."""
    inst, fields, early = _addressed(instruments, line)
    if inst is None:
        return early
    effects = inst.effects(utc_now())
    if effects.silent:
        return b""
    if effects.delay:
        await asyncio.sleep(effects.delay)
    prefix = noise(effects.garbage, rng) if effects.garbage else b""
    return prefix + frame(_body(inst, fields, effects))


class AsciiLine:
    """Sensors speaking SPL/1 on one pty line; requests are answered one at a time, as on a real line."""

    def __init__(self, instruments: list[Instrument], seed: int = 0) -> None:
        """Open the pty; ``path`` is what a client opens."""
        self.pty = Pty.open()
        self.path = self.pty.path
        self._by_unit = {i.unit: i for i in instruments}
        self._rng = random.Random(seed)  # noqa: S311 - simulation, not crypto
        self._buf = bytearray()
        self._lines: asyncio.Queue[bytes] = asyncio.Queue(_QUEUE)

    def _on_readable(self) -> None:
        self._buf += self.pty.read()
        while b"\n" in self._buf:
            line, _, rest = bytes(self._buf).partition(b"\n")
            self._buf = bytearray(rest)
            if line.strip() and not self._lines.full():
                self._lines.put_nowait(line)
        if len(self._buf) > _MAX_LINE:  # noise without an end of line: forget it
            self._buf.clear()

    async def run(self) -> None:
        """Answer requests until cancelled; close the pty on the way out."""
        loop = asyncio.get_running_loop()
        loop.add_reader(self.pty.master, self._on_readable)
        try:
            while True:
                line = await self._lines.get()
                reply = await answer(self._by_unit, line, self._rng)
                if reply:
                    self.pty.write(reply)
        finally:
            loop.remove_reader(self.pty.master)
            self.pty.close()
