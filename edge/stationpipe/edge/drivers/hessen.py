"""Bavarian-Hessen air analysers (:mod:`stationpipe.edge.hessen`) on a serial port, or over TCP through a
serial device server, through blocking I/O in a worker thread (as the SPL/1 driver).

All analysers on one line share it; requests are serialised with a gap of silence, each inside a timeout.
One DA request reads every channel of an analyser; the profile maps channel numbers to parameters.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from datetime import datetime
from typing import Protocol

import serial

from stationpipe.edge.config import Device, EdgeConfig, Line
from stationpipe.edge.connection import SerialLink, TcpLink
from stationpipe.edge.decode import apply_status, point_reading
from stationpipe.edge.drivers.base import Poll, Reader
from stationpipe.edge.hessen import parse_reply, request
from stationpipe.kernel.errors import DeviceError, DeviceTimeoutError
from stationpipe.kernel.hessen import ETX
from stationpipe.kernel.reading import Flag, Reading, utc_now

_TICK = 0.05  # seconds one blocking read waits at most
_MAX_REPLY = 4096


class _Port(Protocol):
    def send(self, data: bytes) -> None: ...
    def receive(self) -> bytes: ...
    def drain(self) -> None: ...
    def close(self) -> None: ...


class _SerialPort:
    def __init__(self, link: SerialLink) -> None:
        self._port = serial.Serial(
            link.port,
            link.baudrate,
            bytesize=link.bytesize,
            parity=link.parity,
            stopbits=link.stopbits,
            timeout=_TICK,
        )

    def send(self, data: bytes) -> None:
        self._port.write(data)

    def receive(self) -> bytes:
        return bytes(self._port.read(max(1, self._port.in_waiting)))

    def drain(self) -> None:
        self._port.reset_input_buffer()

    def close(self) -> None:
        self._port.close()


class _TcpPort:
    def __init__(self, link: TcpLink, timeout: float) -> None:
        self._sock = socket.create_connection((link.host, link.port), timeout=timeout)
        self._sock.settimeout(_TICK)

    def send(self, data: bytes) -> None:
        self._sock.sendall(data)

    def receive(self) -> bytes:
        try:
            data = self._sock.recv(_MAX_REPLY)
        except TimeoutError:
            return b""
        if not data:
            raise ConnectionError("the serial device server closed the connection")
        return data

    def drain(self) -> None:
        self._sock.setblocking(False)  # noqa: FBT003 - the socket API
        try:
            while self._sock.recv(_MAX_REPLY):
                pass
        except BlockingIOError:
            pass
        finally:
            self._sock.settimeout(_TICK)

    def close(self) -> None:
        self._sock.close()


def _complete(data: bytes) -> bool:
    """Whether ``data`` holds a telegram through its BCC (two bytes after ETX)."""
    end = data.rfind(bytes([ETX]))
    return end >= 0 and len(data) >= end + 3


class HessenDriver:
    """One line of Bavarian-Hessen analysers; ``read`` is safe to call from many pollers at once."""

    def __init__(self, config: EdgeConfig, line: Line) -> None:
        self.station, self.devices = config.station, line.devices
        self.name = line.connection.line
        self._link = line.connection.link
        self._gap = line.connection.gap
        self._port: _Port | None = None
        self._lock = asyncio.Lock()
        self._io = threading.Lock()
        self._quiet_until = 0.0
        self.requests = 0
        self.checksum_errors = 0

    def readers(self) -> list[Reader]:
        """One reader per analyser on the line."""
        return [HessenReader(self, device) for device in self.devices]

    async def run(self) -> None:
        """Nothing to do unasked: an analyser speaks when asked for data."""

    def _open(self, timeout: float) -> _Port:
        if self._port is None:
            try:
                if isinstance(self._link, TcpLink):
                    self._port = _TcpPort(self._link, timeout)
                else:
                    self._port = _SerialPort(self._link)
            except (serial.SerialException, OSError) as exc:
                raise DeviceError(f"{self.name}: cannot open: {exc}") from exc
        return self._port

    def _exchange(self, address: int, timeout: float) -> bytes:
        with self._io:
            deadline = time.monotonic() + timeout
            port = self._open(timeout)
            try:
                port.drain()
                port.send(request(address))
                data = b""
                while not _complete(data):
                    if time.monotonic() > deadline or len(data) > _MAX_REPLY:
                        raise DeviceTimeoutError(f"{self.name} analyser {address:03d}: no answer")
                    data += port.receive()
            except (serial.SerialException, OSError) as exc:
                self._close_port()
                raise DeviceError(f"{self.name}: {exc}") from exc
            return data

    async def read(self, address: int, response_timeout: float) -> bytes:
        """Ask analyser ``address`` for its channels: the reply's bytes through its BCC; ``DeviceError``
        when the line fails, ``DeviceTimeoutError`` when no whole reply came in time."""
        async with self._lock:
            await asyncio.sleep(max(0.0, self._quiet_until - time.monotonic()))
            self.requests += 1
            try:
                data = await asyncio.to_thread(self._exchange, address, response_timeout)
            finally:
                self._quiet_until = time.monotonic() + self._gap
        return data

    def _close_port(self) -> None:
        if self._port is not None:
            self._port.close()
            self._port = None

    def close(self) -> None:
        """Close the port or the connection."""
        with self._io:
            self._close_port()


class HessenReader:
    """One analyser: one DA request for all its channels, each flagged by its own status and error."""

    def __init__(self, driver: HessenDriver, device: Device) -> None:
        self.driver, self.device, self.station = driver, device, driver.station
        self.name, self.interval = device.name, device.interval
        self.profile = device.register_map

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

    async def read_once(self) -> Poll:
        """One poll for a one-shot check (``stationpipe edge --test`` on main): a polled analyser's poll."""
        return await self.poll()

    def unanswered(self) -> list[Reading]:
        """Every channel B, stamped now."""
        return self._failed(utc_now())

    def _failed(self, ts: datetime) -> list[Reading]:
        return [Reading(self.station, p.parameter, None, p.unit, ts, Flag.B) for p in self.profile.points]
