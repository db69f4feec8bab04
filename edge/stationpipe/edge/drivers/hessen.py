"""Bavarian-Hessen air analysers (:mod:`stationpipe.edge.hessen`) on a serial port, over TCP through a
serial device server, or behind a 4G DTU: a :class:`~stationpipe.edge.drivers.stream.StreamLine` shared
by the analysers on it.

One DA request reads every channel of an analyser; the profile maps channel numbers to parameters.
"""

from __future__ import annotations

from datetime import datetime

from stationpipe.edge.config import Device, EdgeConfig, Line
from stationpipe.edge.connection import DtuLink, SerialLink, TcpLink
from stationpipe.edge.decode import apply_status, point_reading
from stationpipe.edge.drivers.base import Poll, PolledReader, Reader
from stationpipe.edge.drivers.stream import StreamLine
from stationpipe.edge.hessen import parse_reply, request
from stationpipe.kernel.errors import DeviceError
from stationpipe.kernel.hessen import ETX
from stationpipe.kernel.reading import Flag, Reading, utc_now


def _complete(data: bytes) -> bool:
    """Whether ``data`` holds a telegram through its BCC (two bytes after ETX)."""
    end = data.rfind(bytes([ETX]))
    return end >= 0 and len(data) >= end + 3


class HessenDriver:
    """One line of Bavarian-Hessen analysers (:class:`~stationpipe.edge.drivers.stream.StreamLine`)."""

    def __init__(self, config: EdgeConfig, line: Line) -> None:
        self.station, self.devices = config.station, line.devices
        self.name = line.connection.line
        link = line.connection.link
        assert isinstance(link, SerialLink | TcpLink | DtuLink)  # PROTOCOLS: hessen runs over these
        self._line = StreamLine(self.name, link, line.connection.gap)
        self.checksum_errors = 0

    @property
    def requests(self) -> int:
        """DA requests sent on the line."""
        return self._line.requests

    def readers(self) -> list[Reader]:
        """One reader per analyser on the line."""
        return [HessenReader(self, device) for device in self.devices]

    async def run(self) -> None:
        """Nothing to do unasked: an analyser speaks when asked for data."""

    async def read(self, address: int, response_timeout: float) -> bytes:
        """Ask analyser ``address`` for its channels: the reply's bytes through its BCC; ``DeviceError``
        when the line fails, ``DeviceTimeoutError`` when no whole reply came in time."""
        who = f"analyser {address:03d}"
        return await self._line.exchange(request(address), _complete, response_timeout, who)

    def close(self) -> None:
        """Close the port or the connection."""
        self._line.close()


class HessenReader(PolledReader):
    """One analyser: one DA request for all its channels, each flagged by its own status and error."""

    def __init__(self, driver: HessenDriver, device: Device) -> None:
        super().__init__(driver.station, device)
        self.driver = driver

    async def poll(self) -> Poll:
        """Ask the analyser; a channel it did not report is D. No reply (or a failed line) makes every
        channel B and backs the analyser off; a garbled reply (bad BCC, malformed) makes every channel
        B too, but the analyser did answer: no backoff."""
        ts = utc_now()
        try:
            data = await self.driver.read(self.device.connection.unit, self.device.timeout)
        except DeviceError as exc:
            return Poll(self._failed(ts), (exc,), answered=False)
        try:
            channels = parse_reply(data)
        except DeviceError as exc:
            return Poll(self._failed(ts), (exc,), answered=True)
        by_number = {c.number: c for c in channels}
        readings: list[Reading] = []
        for point in self.profile.points:
            channel = by_number.get(point.channel if point.channel is not None else -1)
            if channel is None:
                readings.append(Reading(self.station, point.parameter, None, point.unit, ts, Flag.D))
                continue
            reading = point_reading(point, channel.value * point.scale + point.offset, self.station, ts)
            readings.extend(apply_status([reading], {channel.flag(self.profile.channel_status)} - {Flag.N}))
        return Poll(readings)

    def unanswered(self) -> list[Reading]:
        """Every channel B, stamped now."""
        return self._failed(utc_now())

    def _failed(self, ts: datetime) -> list[Reading]:
        return [Reading(self.station, p.parameter, None, p.unit, ts, Flag.B) for p in self.profile.points]
