"""Instruments that print their own ASCII records, read through a record template
(:mod:`stationpipe.kernel.ascii_template`) on a :class:`~stationpipe.edge.drivers.stream.StreamLine`: a
serial port, TCP to a serial device server, or whatever link the line runs over.

*Poll mode* (the template has a ``request``): each poll sends the request for the device's unit and reads
until a whole record (or a refusal) is in; instruments with different templates may share a line. No
answer makes every field ``B`` and backs the instrument off; a record with a bad checksum, from another
address, or a refusal makes them ``B`` for that poll only (the instrument did answer) and is counted.

*Push mode* (no ``request``): the instrument prints records by itself, alone on its line.
:meth:`TemplateDriver.run` reads them as they come; the device's reader reports, on its grid, the latest
record that came since its previous poll, and ``B`` when none did (counted as ``no_answer``, or as the
checksum errors of what came). A pushed device is never backed off: reading costs the line nothing.

Each field's value is ``raw * scale + offset`` in its unit, published in the catalogue's unit; text that is
not a number, a sentinel, or a value marked invalid is ``D``; outside the range ``T``; the status field's
flag overlays the record's readings.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime

from stationpipe.edge.config import Device, EdgeConfig, Line
from stationpipe.edge.connection import DtuLink, SerialLink, TcpLink
from stationpipe.edge.decode import apply_status, decode_point
from stationpipe.edge.drivers.base import Poll, Reader
from stationpipe.edge.drivers.stream import StreamLine
from stationpipe.kernel.ascii_template import ENCODING, Record, Template, has_record, parse
from stationpipe.kernel.errors import DeviceError, DeviceSilentError, DeviceTimeoutError
from stationpipe.kernel.reading import Flag, Reading, utc_now

LISTEN = 1.0  # seconds one read of a pushing instrument's line waits at most
REOPEN = 1.0  # seconds before a failed line is opened again
MAX_PENDING = 4096  # bytes without a terminator: more is noise, dropped
MAX_ERRORS = 100  # errors kept between two polls of a pushed device


def _template(device: Device) -> Template:
    assert device.template is not None  # Device: an ascii_template device names its template
    return device.template


class TemplateDriver:
    """One line of instruments read through their templates."""

    def __init__(self, config: EdgeConfig, line: Line) -> None:
        self.station, self.devices = config.station, line.devices
        self.name = line.connection.line
        link = line.connection.link
        assert isinstance(link, SerialLink | TcpLink | DtuLink)  # PROTOCOLS: ascii_template runs over these
        self._line = StreamLine(self.name, link, line.connection.gap)
        self._readers: list[PolledTemplateReader | PushedTemplateReader] = [
            PushedTemplateReader(self, d) if _template(d).pushed else PolledTemplateReader(self, d)
            for d in self.devices
        ]

    @property
    def requests(self) -> int:
        """Requests sent on the line."""
        return self._line.requests

    def readers(self) -> list[Reader]:
        """One reader per instrument on the line."""
        return list(self._readers)

    async def exchange(self, request: bytes, template: Template, response_timeout: float, who: str) -> bytes:
        """Send ``request`` and read until a whole record of ``template`` is in."""
        complete = lambda data: has_record(template, data)  # noqa: E731 - one test, named
        return await self._line.exchange(request, complete, response_timeout, who)

    async def run(self) -> None:
        """Read a pushing instrument's records as they come (until cancelled); polled lines return."""
        pushed = [r for r in self._readers if isinstance(r, PushedTemplateReader)]
        if not pushed:
            return
        reader = pushed[0]  # EdgeConfig: a pushing instrument has its line to itself
        terminator = reader.template.terminator.encode(ENCODING)
        pending = b""
        while True:
            try:
                pending += await self._line.listen(LISTEN)
            except DeviceError as exc:
                reader.failed_record(exc)
                await asyncio.sleep(REOPEN)
                continue
            *complete, pending = pending.split(terminator)
            for record in complete:
                if record.strip():
                    reader.take(record)
            if len(pending) > MAX_PENDING:
                pending = b""

    def close(self) -> None:
        """Close the port or the connection."""
        self._line.close()


class _TemplateReader:
    """What both modes share: the device, its template, and its readings."""

    def __init__(self, driver: TemplateDriver, device: Device) -> None:
        self.driver, self.device, self.station = driver, device, driver.station
        self.name, self.interval = device.name, device.interval
        self.template = _template(device)

    def readings(self, record: Record, ts: datetime) -> list[Reading]:
        """The record's fields as readings, the status flag overlaid."""
        fields = self.template.fields
        readings = [decode_point(f.point, record.raw[f.group], self.station, ts) for f in fields]
        return apply_status(readings, {record.flag} - {Flag.N})

    def failed(self, ts: datetime) -> list[Reading]:
        """Every field B (nothing usable came)."""
        return [Reading(self.station, f.parameter, None, f.unit, ts, Flag.B) for f in self.template.fields]

    def unanswered(self) -> list[Reading]:
        """Every field B, stamped now."""
        return self.failed(utc_now())


class PolledTemplateReader(_TemplateReader):
    """An instrument that answers a request with one record."""

    async def poll(self) -> Poll:
        """Ask the instrument for a record (see the module docstring for what failures do)."""
        ts = utc_now()
        unit = self.device.connection.unit
        request = self.template.request_bytes(unit)
        try:
            who = f"instrument {unit}"
            data = await self.driver.exchange(request, self.template, self.device.timeout, who)
        except DeviceError as exc:
            return Poll(self.failed(ts), (exc,), answered=False)
        try:
            record = parse(self.template, data, unit if self.template.address else None)
        except DeviceError as exc:
            return Poll(self.failed(ts), (exc,), answered=True)
        return Poll(self.readings(record, ts))

    async def read_once(self) -> Poll:
        """One poll."""
        return await self.poll()


class PushedTemplateReader(_TemplateReader):
    """An instrument that prints its records by itself: the latest since the previous poll."""

    def __init__(self, driver: TemplateDriver, device: Device) -> None:
        super().__init__(driver, device)
        self._latest: Record | None = None
        self._errors: list[DeviceError] = []
        self.heard = asyncio.Event()

    def take(self, data: bytes) -> None:
        """One record as it came off the line (terminator removed)."""
        unit = self.device.connection.unit if self.template.address else None
        try:
            self._latest = parse(self.template, data, unit)
        except DeviceError as exc:
            self.failed_record(exc)
            return
        self.heard.set()

    def failed_record(self, exc: DeviceError) -> None:
        """A record that could not be read, or the line failing (counted at the next poll)."""
        if len(self._errors) < MAX_ERRORS:
            self._errors.append(exc)

    async def poll(self) -> Poll:
        """The latest record since the previous poll, or every field B."""
        ts = utc_now()
        errors, self._errors = tuple(self._errors), []
        record, self._latest = self._latest, None
        if record is not None:
            return Poll(self.readings(record, ts), errors)
        if errors:  # records came but could not be read: the instrument answered
            return Poll(self.failed(ts), errors)
        silent = DeviceSilentError(f"{self.name}: no record since the last poll")
        return Poll(self.failed(ts), (silent,), answered=False)

    async def read_once(self) -> Poll:
        """The first record, waiting up to ``max(interval, timeout)`` s for it; not ``answered`` when
        nothing readable came."""
        wait = max(self.interval, self.device.timeout)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(wait):
                await self.heard.wait()
        if self.heard.is_set():
            return await self.poll()
        errors = (*self._errors, DeviceTimeoutError(f"{self.name}: no record within {wait:g} s"))
        self._errors = []
        return Poll(self.unanswered(), errors, answered=False)
