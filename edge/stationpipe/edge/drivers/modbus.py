"""Modbus, TCP or RTU, on one line: one pymodbus client per line (a TCP socket or a serial port).

``modbus_tcp`` runs over a TCP link; ``modbus_rtu`` over a serial port or over a TCP link (a serial
device server in transparent mode): one protocol, two links. All devices on a line share its client;
requests are serialised with a gap of silence between them (RS-485 needs it), each inside a timeout.
pymodbus errors are translated here, once, into ``DeviceError`` subclasses.
"""

from __future__ import annotations

import asyncio
import time
from typing import Protocol

from pymodbus import FramerType
from pymodbus.client import AsyncModbusSerialClient, AsyncModbusTcpClient
from pymodbus.exceptions import ConnectionException, ModbusException

from stationpipe.edge.config import Device, EdgeConfig, Line
from stationpipe.edge.connection import Connection, SerialLink, TcpLink
from stationpipe.edge.decode import apply_status, decode_request, failed_request, plan_requests, status_flags
from stationpipe.edge.drivers.base import Poll, PolledReader, Reader
from stationpipe.kernel.errors import DeviceError, DeviceExceptionError, DeviceTimeoutError
from stationpipe.kernel.reading import Flag, Reading, utc_now
from stationpipe.kernel.registermap import RegisterType

Client = AsyncModbusTcpClient | AsyncModbusSerialClient


def make_client(connection: Connection, response_timeout: float) -> Client:
    """The pymodbus client for a line; retries are ours (backoff per device), not pymodbus'."""
    link = connection.link
    framer = FramerType.SOCKET if connection.protocol == "modbus_tcp" else FramerType.RTU
    if isinstance(link, TcpLink):
        return AsyncModbusTcpClient(
            link.host, port=link.port, framer=framer, timeout=response_timeout, retries=0, reconnect_delay=0
        )
    assert isinstance(link, SerialLink)  # over a DTU, modbus_stream's driver (drivers.modbus_rtu)
    return AsyncModbusSerialClient(
        link.port,
        framer=framer,
        baudrate=link.baudrate,
        bytesize=link.bytesize,
        parity=link.parity,
        stopbits=link.stopbits,
        timeout=response_timeout,
        retries=0,
        reconnect_delay=0,
    )


class ModbusDriver:
    """One Modbus line; ``read`` is safe to call from many pollers at once."""

    def __init__(self, config: EdgeConfig, line: Line) -> None:
        self.station, self.devices = config.station, line.devices
        self.name = line.connection.line
        self._gap = line.connection.gap
        self._client = make_client(line.connection, max(d.timeout for d in line.devices))
        self._lock = asyncio.Lock()
        self._quiet_until = 0.0
        self.requests = 0

    def readers(self) -> list[Reader]:
        """One reader per device (unit id) on the line."""
        return [ModbusReader(self, device) for device in self.devices]

    async def run(self) -> None:
        """Nothing to do unasked: a Modbus device speaks when polled."""

    async def _connect(self, response_timeout: float) -> None:
        if self._client.connected:
            return
        try:
            async with asyncio.timeout(response_timeout):
                ok = await self._client.connect()
        except TimeoutError:
            raise DeviceTimeoutError(f"{self.name}: connect timed out") from None
        if not ok:
            raise DeviceError(f"{self.name}: cannot connect")

    async def read(
        self, table: RegisterType, address: int, count: int, unit: int, response_timeout: float
    ) -> list[int]:
        """Read ``count`` registers (or bits, as 0/1) of ``table``; ``DeviceError`` otherwise."""
        async with self._lock:
            await asyncio.sleep(max(0.0, self._quiet_until - time.monotonic()))
            try:
                await self._connect(response_timeout)
                return await self._request(table, address, count, unit, response_timeout)
            finally:
                self._quiet_until = time.monotonic() + self._gap

    async def _request(
        self, table: RegisterType, address: int, count: int, unit: int, response_timeout: float
    ) -> list[int]:
        call = {
            RegisterType.HOLDING: self._client.read_holding_registers,
            RegisterType.INPUT: self._client.read_input_registers,
            RegisterType.COIL: self._client.read_coils,
            RegisterType.DISCRETE: self._client.read_discrete_inputs,
        }[table]
        self.requests += 1
        try:
            async with asyncio.timeout(response_timeout + 0.5):  # pymodbus has its own; this is the backstop
                resp = await call(address, count=count, device_id=unit)
        except TimeoutError:
            raise DeviceTimeoutError(
                f"{self.name} unit {unit}: no answer within {response_timeout} s"
            ) from None
        except ConnectionException as exc:
            self._client.close()
            raise DeviceError(f"{self.name}: connection lost ({exc})") from exc
        except ModbusException as exc:
            raise DeviceTimeoutError(f"{self.name} unit {unit}: {exc}") from exc
        if resp.isError():
            code = int(getattr(resp, "exception_code", 0))
            raise DeviceExceptionError(f"{self.name} unit {unit}: exception code {code}", code=code)
        if table in (RegisterType.COIL, RegisterType.DISCRETE):
            return [int(bit) for bit in resp.bits[:count]]
        return list(resp.registers)

    def close(self) -> None:
        """Drop the connection or port."""
        self._client.close()


class RegisterLine(Protocol):
    """What a :class:`ModbusReader` reads through: pymodbus' client (:class:`ModbusDriver`), or RTU frames
    over a DTU (:class:`~stationpipe.edge.drivers.modbus_stream.ModbusStreamDriver`)."""

    @property
    def station(self) -> str:
        """The station the readings belong to."""

    async def read(
        self, table: RegisterType, address: int, count: int, unit: int, response_timeout: float
    ) -> list[int]:
        """``count`` registers (or bits, as 0/1) of ``table``; ``DeviceError`` otherwise."""


class ModbusReader(PolledReader):
    """One unit id on a Modbus line: its coalesced requests, decoded into flagged readings."""

    def __init__(self, driver: RegisterLine, device: Device) -> None:
        super().__init__(driver.station, device)
        self.driver = driver
        one = device.one_request_per_point
        self.requests = plan_requests(self.profile, device.max_gap, one_per_point=one)

    async def poll(self) -> Poll:
        """Every request in turn; a failed one flags only its own points B."""
        readings: list[Reading] = []
        flags: set[Flag] = set()
        errors: list[DeviceError] = []
        unit, timeout = self.device.connection.unit, self.device.timeout
        for req in self.requests:
            ts = utc_now()
            try:
                regs = await self.driver.read(req.table, req.address, req.count, unit, timeout)
            except DeviceError as exc:
                errors.append(exc)
                readings.extend(failed_request(req, self.station, ts))
                continue
            readings.extend(decode_request(self.profile, req, regs, self.station, ts))
            flags |= status_flags(self.profile, req, regs)
        return Poll(apply_status(readings, flags), tuple(errors), answered=len(errors) != len(self.requests))

    def unanswered(self) -> list[Reading]:
        """Every point B, stamped now."""
        ts = utc_now()
        return [r for req in self.requests for r in failed_request(req, self.station, ts)]
