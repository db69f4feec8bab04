"""A byte-stream line shared by request/response instruments: a serial port, or TCP to a serial device
server (the link of the device's connection), read with blocking I/O in a worker thread; or a 4G DTU's
inbound connection (:mod:`stationpipe.edge.drivers.dtu`), read on the event loop.

All devices on one line share it: one exchange at a time, a gap of silence after each (RS-485 needs it),
each inside its timeout. A driver whose protocol is "send a request, read until the reply is complete"
(Bavarian-Hessen, template ASCII) gives :meth:`StreamLine.exchange` the request and a test of
completeness, and keeps only its framing, and so runs unchanged over every link; an instrument that speaks
unasked is read with :meth:`StreamLine.listen`. pyserial and socket errors become ``DeviceError`` here,
once; a DTU that is not connected (or drops during an exchange) gives ``DeviceOfflineError`` at once.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Callable
from typing import Protocol

import serial

from stationpipe.edge.connection import DtuLink, SerialLink, TcpLink
from stationpipe.edge.drivers import dtu
from stationpipe.kernel.errors import DeviceError, DeviceOfflineError, DeviceTimeoutError

TICK = 0.05  # seconds one blocking read waits at most (bounds how late a deadline is noticed)
MAX_REPLY = 4096  # bytes: a reply longer than this is noise, not an answer


class Port(Protocol):
    """An open byte stream."""

    def send(self, data: bytes) -> None:
        """Write all of ``data``."""

    def receive(self) -> bytes:
        """What arrived within :data:`TICK` (possibly nothing)."""

    def drain(self) -> None:
        """Drop what arrived unasked (a late reply, line noise)."""

    def close(self) -> None:
        """Close the port or the connection."""


class SerialPort:
    """A local serial port (pyserial)."""

    def __init__(self, link: SerialLink) -> None:
        self._port = serial.Serial(
            link.port,
            link.baudrate,
            bytesize=link.bytesize,
            parity=link.parity,
            stopbits=link.stopbits,
            timeout=TICK,
        )

    def send(self, data: bytes) -> None:
        """Write all of ``data``."""
        self._port.write(data)

    def receive(self) -> bytes:
        """What arrived within :data:`TICK`."""
        return bytes(self._port.read(max(1, self._port.in_waiting)))

    def drain(self) -> None:
        """Drop the input buffer."""
        self._port.reset_input_buffer()

    def close(self) -> None:
        """Close the port."""
        self._port.close()


class TcpPort:
    """A TCP connection to a serial device server in transparent mode."""

    def __init__(self, link: TcpLink, timeout: float) -> None:
        self._sock = socket.create_connection((link.host, link.port), timeout=timeout)
        self._sock.settimeout(TICK)

    def send(self, data: bytes) -> None:
        """Write all of ``data``."""
        self._sock.sendall(data)

    def receive(self) -> bytes:
        """What arrived within :data:`TICK`; ``ConnectionError`` when the server closed the connection."""
        try:
            data = self._sock.recv(MAX_REPLY)
        except TimeoutError:
            return b""
        if not data:
            raise ConnectionError("the serial device server closed the connection")
        return data

    def drain(self) -> None:
        """Drop what is waiting, without blocking."""
        self._sock.setblocking(False)  # noqa: FBT003 - the socket API
        try:
            while self._sock.recv(MAX_REPLY):
                pass
        except BlockingIOError:
            pass
        finally:
            self._sock.settimeout(TICK)

    def close(self) -> None:
        """Close the connection."""
        self._sock.close()


class StreamLine:
    """One line of request/response instruments; :meth:`exchange` is safe to call from many pollers."""

    def __init__(self, name: str, link: SerialLink | TcpLink | DtuLink, gap: float) -> None:
        self.name, self._link, self._gap = name, link, gap
        self._port: Port | None = None
        self._lock = asyncio.Lock()
        self._io = threading.Lock()
        self._quiet_until = 0.0
        self.requests = 0

    async def exchange(
        self, request: bytes, complete: Callable[[bytes], bool], response_timeout: float, who: str
    ) -> bytes:
        """Send ``request`` and read until ``complete(reply)``; ``DeviceTimeoutError`` naming ``who`` when
        no complete reply came within ``response_timeout`` s (measured in the worker thread, from when the
        line is this request's), ``DeviceError`` when the line itself failed."""
        async with self._lock:
            await asyncio.sleep(max(0.0, self._quiet_until - time.monotonic()))
            self.requests += 1
            try:
                if isinstance(self._link, DtuLink):
                    return await self._exchange_dtu(self._link, request, complete, response_timeout, who)
                return await asyncio.to_thread(self._exchange, request, complete, response_timeout, who)
            finally:
                self._quiet_until = time.monotonic() + self._gap

    async def _exchange_dtu(
        self,
        link: DtuLink,
        request: bytes,
        complete: Callable[[bytes], bool],
        response_timeout: float,
        who: str,
    ) -> bytes:
        """The exchange over the DTU's connection of the moment, on the event loop."""
        port = dtu.connection(link.id)
        deadline = time.monotonic() + response_timeout
        try:
            port.drain()
            port.send(request)
            data = b""
            while not complete(data):
                remaining = deadline - time.monotonic()
                if remaining <= 0 or len(data) > MAX_REPLY:
                    raise DeviceTimeoutError(f"{self.name} {who}: no answer")
                data += await port.receive(remaining)
        except ConnectionError as exc:
            raise DeviceOfflineError(f"{self.name} {who}: {exc}") from exc
        return data

    async def listen(self, wait: float) -> bytes:
        """What the line carries unasked: returns as soon as something arrived, or ``b''`` after ``wait``
        s of silence; ``DeviceError`` when the line itself failed (the next call reopens it)."""
        async with self._lock:
            if isinstance(self._link, DtuLink):
                return await self._listen_dtu(self._link, wait)
            return await asyncio.to_thread(self._listen, wait)

    async def _listen_dtu(self, link: DtuLink, wait: float) -> bytes:
        """What the DTU's connection of the moment carries unasked, on the event loop."""
        port = dtu.connection(link.id)
        try:
            return await port.receive(wait)
        except ConnectionError as exc:
            raise DeviceOfflineError(f"{self.name}: {exc}") from exc

    def _listen(self, timeout: float) -> bytes:
        with self._io:
            deadline = time.monotonic() + timeout
            port = self._open(timeout)
            data = b""
            try:
                while not data and time.monotonic() < deadline:
                    data = port.receive()
            except (serial.SerialException, OSError) as exc:
                self._close_port()
                raise DeviceError(f"{self.name}: {exc}") from exc
            return data

    def _open(self, timeout: float) -> Port:
        if self._port is None:
            try:
                if isinstance(self._link, TcpLink):
                    self._port = TcpPort(self._link, timeout)
                else:
                    assert isinstance(self._link, SerialLink)  # a DTU's exchanges run on the event loop
                    self._port = SerialPort(self._link)
            except (serial.SerialException, OSError) as exc:
                raise DeviceError(f"{self.name}: cannot open: {exc}") from exc
        return self._port

    def _exchange(self, request: bytes, complete: Callable[[bytes], bool], timeout: float, who: str) -> bytes:
        with self._io:
            deadline = time.monotonic() + timeout
            port = self._open(timeout)
            try:
                port.drain()
                port.send(request)
                data = b""
                while not complete(data):
                    if time.monotonic() > deadline or len(data) > MAX_REPLY:
                        raise DeviceTimeoutError(f"{self.name} {who}: no answer")
                    data += port.receive()
            except (serial.SerialException, OSError) as exc:
                self._close_port()
                raise DeviceError(f"{self.name}: {exc}") from exc
            return data

    def _close_port(self) -> None:
        if self._port is not None:
            self._port.close()
            self._port = None

    def close(self) -> None:
        """Close the port or the connection."""
        with self._io:
            self._close_port()
