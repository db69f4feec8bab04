"""Plain-ASCII serial sensors (SPL/1, :mod:`stationpipe.edge.ascii_protocol`) on a serial port: a
:class:`~stationpipe.edge.drivers.stream.StreamLine` shared by the sensors on it.

All sensors on one port share it; requests are serialised with a gap of silence, each inside a timeout.
One request reads all of a sensor's points, already in the profile's units.
"""

from __future__ import annotations

import math
from datetime import datetime

from stationpipe.edge.ascii_protocol import AsciiReply, parse_reply, request
from stationpipe.edge.config import Device, EdgeConfig, Line
from stationpipe.edge.connection import SerialLink
from stationpipe.edge.decode import apply_status, failed_request, plan_requests, point_reading
from stationpipe.edge.drivers.base import Poll, PolledReader, Reader
from stationpipe.edge.drivers.stream import StreamLine
from stationpipe.kernel.errors import DeviceError
from stationpipe.kernel.reading import Flag, Reading, utc_now


def _complete(data: bytes) -> bool:
    """An SPL/1 reply is one line."""
    return b"\n" in data


class AsciiDriver:
    """One serial port with SPL/1 sensors (:class:`~stationpipe.edge.drivers.stream.StreamLine`)."""

    def __init__(self, config: EdgeConfig, line: Line) -> None:
        assert isinstance(line.connection.link, SerialLink)  # PROTOCOLS: ascii runs over serial only
        self.station, self.devices = config.station, line.devices
        self.name = line.connection.line
        self._line = StreamLine(self.name, line.connection.link, line.connection.gap)

    @property
    def requests(self) -> int:
        """Requests sent on the port."""
        return self._line.requests

    def readers(self) -> list[Reader]:
        """One reader per sensor on the port."""
        return [AsciiReader(self, device) for device in self.devices]

    async def run(self) -> None:
        """Nothing to do unasked: an SPL/1 sensor speaks when polled."""

    async def read(self, unit: int, response_timeout: float) -> AsciiReply:
        """Ask sensor ``unit`` for its values; ``DeviceError`` when it does not answer properly."""
        data = await self._line.exchange(request(unit), _complete, response_timeout, f"sensor {unit}")
        return parse_reply(data[: data.index(b"\n") + 1], unit)

    def close(self) -> None:
        """Close the port."""
        self._line.close()


class AsciiReader(PolledReader):
    """One SPL/1 sensor: one request for all its points."""

    def __init__(self, driver: AsciiDriver, device: Device) -> None:
        super().__init__(driver.station, device)
        self.driver = driver
        one = device.one_request_per_point
        self.requests = plan_requests(self.profile, device.max_gap, one_per_point=one)

    async def poll(self) -> Poll:
        """Ask the sensor; a missing value is D, the sensor's own flag overlays the rest."""
        ts = utc_now()
        try:
            reply = await self.driver.read(self.device.connection.unit, self.device.timeout)
        except DeviceError as exc:
            return Poll(self._failed(ts), (exc,), answered=False)
        readings = []
        for point in self.profile.points:
            value = reply.values.get(point.parameter)
            readings.append(point_reading(point, math.nan if value is None else value, self.station, ts))
        return Poll(apply_status(readings, {reply.flag} - {Flag.N}))


    def unanswered(self) -> list[Reading]:
        """Every point B, stamped now."""
        return self._failed(utc_now())

    def _failed(self, ts: datetime) -> list[Reading]:
        return [r for req in self.requests for r in failed_request(req, self.station, ts)]
