"""Plain-ASCII serial sensors (SPL/1, :mod:`stationpipe.edge.ascii_protocol`) on a serial port, through
pyserial in a worker thread.

All sensors on one port share it; requests are serialised with a gap of silence, each inside a timeout.
One request reads all of a sensor's points, already in the profile's units.
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
from datetime import datetime

import serial

from stationpipe.edge.ascii_protocol import AsciiReply, parse_reply, request
from stationpipe.edge.config import Device, EdgeConfig, Line
from stationpipe.edge.connection import SerialLink
from stationpipe.edge.decode import apply_status, failed_request, plan_requests, point_reading
from stationpipe.edge.drivers.base import Poll, Reader
from stationpipe.kernel.errors import DeviceError, DeviceTimeoutError
from stationpipe.kernel.reading import Flag, Reading, utc_now


class AsciiDriver:
    """One serial port with SPL/1 sensors; ``read`` is safe to call from many pollers at once."""

    def __init__(self, config: EdgeConfig, line: Line) -> None:
        assert isinstance(line.connection.link, SerialLink)  # PROTOCOLS: ascii runs over serial only
        self.station, self.devices = config.station, line.devices
        self.name = line.connection.line
        self._link = line.connection.link
        self._gap = line.connection.gap
        self._port: serial.Serial | None = None
        self._lock = asyncio.Lock()
        self._io = threading.Lock()
        self._quiet_until = 0.0
        self.requests = 0

    def readers(self) -> list[Reader]:
        """One reader per sensor on the port."""
        return [AsciiReader(self, device) for device in self.devices]

    async def run(self) -> None:
        """Nothing to do unasked: an SPL/1 sensor speaks when polled."""

    def _open(self) -> serial.Serial:
        if self._port is None:
            try:
                self._port = serial.Serial(
                    self._link.port,
                    self._link.baudrate,
                    bytesize=self._link.bytesize,
                    parity=self._link.parity,
                    stopbits=self._link.stopbits,
                    timeout=0.05,
                )
            except (serial.SerialException, OSError) as exc:
                raise DeviceError(f"{self.name}: cannot open: {exc}") from exc
        return self._port

    def _exchange(self, unit: int, deadline: float) -> bytes:
        with self._io:
            port = self._open()
            try:
                port.reset_input_buffer()
                port.write(request(unit))
                line = b""
                while not line.endswith(b"\n"):
                    if time.monotonic() > deadline:
                        raise DeviceTimeoutError(f"{self.name} sensor {unit}: no answer")
                    line += port.readline()
            except (serial.SerialException, OSError) as exc:
                self._close_port()
                raise DeviceError(f"{self.name}: {exc}") from exc
            return line

    async def read(self, unit: int, response_timeout: float) -> AsciiReply:
        """Ask sensor ``unit`` for its values; ``DeviceError`` when it does not answer properly."""
        async with self._lock:
            await asyncio.sleep(max(0.0, self._quiet_until - time.monotonic()))
            self.requests += 1
            try:
                line = await asyncio.to_thread(self._exchange, unit, time.monotonic() + response_timeout)
            finally:
                self._quiet_until = time.monotonic() + self._gap
        return parse_reply(line, unit)

    def _close_port(self) -> None:
        if self._port is not None:
            self._port.close()
            self._port = None

    def close(self) -> None:
        """Close the port."""
        with self._io:
            self._close_port()


class AsciiReader:
    """One SPL/1 sensor: one request for all its points."""

    def __init__(self, driver: AsciiDriver, device: Device) -> None:
        self.driver, self.device, self.station = driver, device, driver.station
        self.name, self.interval = device.name, device.interval
        self.profile = device.register_map
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

    async def read_once(self) -> Poll:
        """A polled device: one poll."""
        return await self.poll()

    def unanswered(self) -> list[Reading]:
        """Every point B, stamped now."""
        return self._failed(utc_now())

    def _failed(self, ts: datetime) -> list[Reading]:
        return [r for req in self.requests for r in failed_request(req, self.station, ts)]
