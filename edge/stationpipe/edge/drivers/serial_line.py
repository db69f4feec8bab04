"""Plain-ASCII serial sensors (SPL/1) on a serial port, through pyserial in a worker thread.

All sensors on one port share it; requests are serialised with a gap of silence, each inside a timeout.
"""

from __future__ import annotations

import asyncio
import threading
import time

import serial

from stationpipe.edge.ascii_protocol import AsciiReply, parse_reply, request
from stationpipe.edge.config import AsciiSerial
from stationpipe.kernel.errors import DeviceError, DeviceTimeoutError


class AsciiLine:
    """One serial port with SPL/1 sensors; ``read`` is safe to call from many pollers at once."""

    def __init__(self, transport: AsciiSerial) -> None:
        self.name = transport.line
        self._transport = transport
        self._port: serial.Serial | None = None
        self._lock = asyncio.Lock()
        self._io = threading.Lock()
        self._quiet_until = 0.0
        self.requests = 0

    def _open(self) -> serial.Serial:
        if self._port is None:
            try:
                self._port = serial.Serial(self._transport.port, self._transport.baudrate, timeout=0.05)
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
                self._quiet_until = time.monotonic() + self._transport.gap
        return parse_reply(line, unit)

    def _close_port(self) -> None:
        if self._port is not None:
            self._port.close()
            self._port = None

    def close(self) -> None:
        """Close the port."""
        with self._io:
            self._close_port()
