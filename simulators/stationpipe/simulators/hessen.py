"""Bavarian-Hessen air analysers on a pty: they answer the DA data request as a real analyser does.

A request is ``STX DA [kkk] ETX bcc`` (framing in :mod:`stationpipe.kernel.hessen`). The analyser whose id
(the sim device's ``unit``) is ``kkk`` answers, or the only analyser on the line when ``kkk`` is left
out; a request with a wrong BCC, another id or another command gets no answer at all (as on a shared
RS-485 line). The reply, after the analyser's turnaround and the transmission time at the line's baud
rate::

    STX MD cc {SP kkk SP +dddd+ee SP ss SP ff SP 000 SP 000000} x cc SP ETX bcc

one channel per profile point (``kkk`` its ``channel``, the value in the point's unit). Scenarios act on
it: a device flag sets the status bit the profile's ``channel_status`` maps to that flag (D sets error
bit 0 instead), ``silent`` keeps it quiet, ``delay`` slows it, ``garbage`` puts noise before the reply.
The line's ``bcc_errors`` garbles the BCC of that fraction of replies.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
from datetime import datetime

from stationpipe.kernel.errors import DeviceError
from stationpipe.kernel.hessen import ETX, STATUS_FLAGS, format_value, frame, unframe
from stationpipe.kernel.reading import Flag, utc_now
from stationpipe.kernel.units import convert
from stationpipe.simulators.board import Effects
from stationpipe.simulators.instrument import Instrument
from stationpipe.simulators.pty_line import Pty, noise

log = logging.getLogger(__name__)
_MAX_REQUEST = 64
_QUEUE = 32
TURNAROUND = 0.03  # seconds an analyser takes before it starts to answer


def status_bytes(inst: Instrument, effects: Effects) -> tuple[int, int]:
    """(status, error) bytes for the instrument's state: each flag sets the bit its profile maps to it."""
    mapping = inst.profile.channel_status or STATUS_FLAGS
    status = error = 0
    for flag in effects.flags:
        if flag is Flag.D:
            error |= 0x01
            continue
        bit = next((b for b, f in sorted(mapping.items()) if f is flag), None)
        if bit is not None:
            status |= 1 << bit
    return status, error


def reply_text(inst: Instrument, at: datetime, effects: Effects) -> str:
    """The text of a DA reply: every channel of the instrument in profile order."""
    status, error = status_bytes(inst, effects)
    parts = [f"MD{len(inst.profile.points):02d}"]
    for point in inst.profile.points:
        value = effects.value(inst.model, point.parameter, at)
        shown = convert(point.parameter, value, point.unit) if math.isfinite(value) else math.nan
        failed = error | (0 if math.isfinite(shown) else 0x01)
        text = format_value(shown) if math.isfinite(shown) else format_value(0.0)
        parts.append(f"{point.channel or 0:03d} {text} {status:02X} {failed:02X} 000 000000")
    return " ".join(parts) + " "


def garble(telegram: bytes) -> bytes:
    """The telegram with a wrong BCC (its last hex digit changed)."""
    last = telegram[-1:].decode("ascii")
    wrong = "0" if last != "0" else "1"
    return telegram[:-1] + wrong.encode("ascii")


def addressed(instruments: dict[int, Instrument], request: bytes) -> Instrument | None:
    """The analyser a request is for, or ``None`` (no answer: bad BCC, another id, another command)."""
    try:
        text = unframe(request)
    except DeviceError:
        return None
    if not text.startswith("DA"):
        return None
    if text == "DA":
        return next(iter(instruments.values())) if len(instruments) == 1 else None
    ident = text[2:].strip()
    return instruments.get(int(ident)) if ident.isdigit() else None


class HessenLine:
    """Analysers speaking Bavarian-Hessen on one pty line; requests are answered one at a time."""

    def __init__(
        self, instruments: list[Instrument], baudrate: int = 9600, bcc_errors: float = 0.0, seed: int = 0
    ) -> None:
        """Open the pty; ``path`` is what a client opens."""
        self.pty = Pty.open()
        self.path = self.pty.path
        self._by_unit = {i.unit: i for i in instruments}
        self._baudrate = baudrate
        self._bcc_errors = bcc_errors
        self._rng = random.Random(seed)  # noqa: S311 - simulation, not crypto
        self._buf = bytearray()
        self._requests: asyncio.Queue[bytes] = asyncio.Queue(_QUEUE)

    def _on_readable(self) -> None:
        self._buf += self.pty.read()
        while (end := self._buf.find(ETX)) >= 0 and len(self._buf) >= end + 3:
            request = bytes(self._buf[: end + 3])
            del self._buf[: end + 3]
            if not self._requests.full():
                self._requests.put_nowait(request)
        if len(self._buf) > _MAX_REQUEST:  # noise without an end: forget it
            self._buf.clear()

    async def answer(self, request: bytes) -> bytes:
        """What the line carries back for one request (``b''``: nobody answers)."""
        inst = addressed(self._by_unit, request)
        if inst is None:
            return b""
        at = utc_now()
        effects = inst.effects(at)
        if effects.silent:
            return b""
        telegram = frame(reply_text(inst, at, effects))
        if self._rng.random() < self._bcc_errors:
            telegram = garble(telegram)
        await asyncio.sleep(TURNAROUND + effects.delay + len(telegram) * 10 / self._baudrate)
        prefix = noise(effects.garbage, self._rng) if effects.garbage else b""
        return prefix + telegram

    async def run(self) -> None:
        """Answer requests until cancelled; close the pty on the way out."""
        loop = asyncio.get_running_loop()
        loop.add_reader(self.pty.master, self._on_readable)
        try:
            while True:
                reply = await self.answer(await self._requests.get())
                if reply:
                    self.pty.write(reply)
        finally:
            loop.remove_reader(self.pty.master)
            self.pty.close()
