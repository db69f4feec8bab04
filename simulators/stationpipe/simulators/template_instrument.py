"""Instruments that print their own ASCII records, rendered from their record templates
(:mod:`stationpipe.kernel.ascii_template`), on a pty or on TCP (a serial device server in transparent mode).

One generic simulator for every template. A *polled* instrument answers when the line carries its
template's request for its unit (a request with a wrong checksum, or for another unit, gets silence, as
on a shared RS-485 line); a *pushing* one prints a record every ``period`` seconds by itself, with a little
jitter. Each record takes the instrument's turnaround plus its transmission time at the line's baud rate.
Values come from the station model, in each field's unit, scaled back to what the instrument prints.
Scenarios act on it: a device flag prints the status text the template maps to that flag (fault: D),
``exception`` prints the template's refusal, ``silent`` keeps it quiet, ``delay`` slows it, ``garbage``
puts line noise before the record; the line's ``checksum_errors`` garbles the checksum of that fraction of
records.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from stationpipe.kernel.ascii_template import ENCODING, Template
from stationpipe.kernel.reading import Flag, utc_now
from stationpipe.kernel.units import convert
from stationpipe.simulators.board import Board, Effects
from stationpipe.simulators.instrument import FLAG_ORDER
from stationpipe.simulators.model import StationModel
from stationpipe.simulators.pty_line import Pty, noise

log = logging.getLogger(__name__)
TURNAROUND = 0.02  # seconds an instrument takes before it starts to answer
_MAX_BUFFER = 512  # bytes of request text kept while looking for a request
_HEX = "0123456789ABCDEF"


@dataclass(frozen=True)
class TemplateInstrument:
    """A template bound to a station model, a unit and the scenario board (``name``: the sim device)."""

    name: str
    template: Template
    model: StationModel
    unit: int
    board: Board

    def effects(self, at: datetime) -> Effects:
        """What the active scenarios do to this instrument now."""
        return self.board.effects(self.name, at)

    def flag(self, effects: Effects) -> Flag:
        """The instrument's state as one flag: D, C or M while set (worst first), else N."""
        return next((f for f in FLAG_ORDER if f in effects.flags), Flag.N)

    def raw(self, at: datetime, effects: Effects) -> dict[str, float]:
        """What it prints for each field: the model's value in the field's unit, scale and offset undone."""
        out = {}
        for field in self.template.fields:
            value = effects.value(self.model, field.parameter, at)
            shown = convert(field.parameter, value, field.unit) if math.isfinite(value) else math.nan
            out[field.group] = (shown - field.offset) / field.scale
        return out

    def record(self, at: datetime, effects: Effects) -> bytes:
        """One record (or the template's refusal while an exception scenario is active)."""
        if effects.exception is not None and self.template.error_record is not None:
            return self.template.render_error(self.unit, effects.exception)
        status = self.template.status.text(self.flag(effects)) if self.template.status else ""
        return self.template.render(self.unit, self.raw(at, effects), status)


def garble(template: Template, record: bytes) -> bytes:
    """The record with its checksum's first digit changed (unchanged when it has no checksum)."""
    text = record.decode(ENCODING)
    found = template.regex.search(text)
    if template.checksum is None or found is None:
        return record
    at = found.start(template.checksum.group)
    digit = text[at].upper()
    wrong = _HEX[(_HEX.index(digit) + 1) % 16] if digit in _HEX else "0"
    return (text[:at] + wrong + text[at + 1 :]).encode(ENCODING)


class TemplateLine:
    """Template instruments on one line, over a pty (``path``) or TCP (``host``, ``port``)."""

    def __init__(
        self,
        instruments: list[TemplateInstrument],
        *,
        baudrate: int = 9600,
        checksum_errors: float = 0.0,
        period: float = 1.0,
        seed: int = 0,
    ) -> None:
        self._polled = {i.template.request_bytes(i.unit): i for i in instruments if not i.template.pushed}
        self._pushing = [i for i in instruments if i.template.pushed]
        self._baudrate, self._checksum_errors, self._period = baudrate, checksum_errors, period
        self._rng = random.Random(seed)  # noqa: S311 - simulation, not crypto
        self._buf = bytearray()
        self._asked: asyncio.Queue[TemplateInstrument] = asyncio.Queue(32)
        self._writers: list[Callable[[bytes], None]] = []

    def feed(self, data: bytes) -> None:
        """Bytes the client sent: queue the instruments whose requests are complete in them."""
        self._buf += data
        while True:
            hits = [(self._buf.find(req), req) for req in self._polled if req in self._buf]
            if not hits:
                break
            at, req = min(hits)
            del self._buf[: at + len(req)]
            if not self._asked.full():
                self._asked.put_nowait(self._polled[req])
        if len(self._buf) > _MAX_BUFFER:
            del self._buf[:-_MAX_BUFFER]

    def _send(self, data: bytes) -> None:
        for write in list(self._writers):
            write(data)

    async def _print(self, inst: TemplateInstrument) -> None:
        at = utc_now()
        effects = inst.effects(at)
        if effects.silent:
            return
        record = inst.record(at, effects)
        if not record:
            return
        if self._rng.random() < self._checksum_errors:
            record = garble(inst.template, record)
        await asyncio.sleep(TURNAROUND + effects.delay + len(record) * 10 / self._baudrate)
        self._send((noise(effects.garbage, self._rng) if effects.garbage else b"") + record)

    async def _answer(self) -> None:
        while True:
            await self._print(await self._asked.get())

    async def _push(self, inst: TemplateInstrument) -> None:
        while True:
            await asyncio.sleep(self._period * self._rng.uniform(0.97, 1.03))
            await self._print(inst)

    async def _speak(self) -> None:
        async with asyncio.TaskGroup() as tg:
            tg.create_task(self._answer())
            for inst in self._pushing:
                tg.create_task(self._push(inst))

    async def serve_pty(self, on_open: Callable[[str], None]) -> None:
        """Serve on a new pty (``on_open`` gets the path a client opens) until cancelled."""
        pty = Pty.open()
        self._writers.append(pty.write)
        on_open(pty.path)
        loop = asyncio.get_running_loop()
        loop.add_reader(pty.master, lambda: self.feed(pty.read()))
        try:
            await self._speak()
        finally:
            loop.remove_reader(pty.master)
            pty.close()

    async def serve_tcp(self, host: str, port: int) -> None:
        """Serve on ``host:port`` (each client hears the line) until cancelled."""
        server = await asyncio.start_server(self._client, host, port)
        async with server:
            await self._speak()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.append(writer.write)
        try:
            while data := await reader.read(4096):
                self.feed(data)
        except ConnectionError:
            pass
        finally:
            self._writers.remove(writer.write)
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()
