"""Modbus lines: one pymodbus client per physical line (TCP socket, RTU over TCP, or serial port).

All devices on a line share its client; requests are serialised with a gap of silence between them
(RS-485 needs it), each inside a timeout. pymodbus errors are translated here, once, into
``DeviceError`` subclasses.
"""

from __future__ import annotations

import asyncio
import time

from pymodbus import FramerType
from pymodbus.client import AsyncModbusSerialClient, AsyncModbusTcpClient
from pymodbus.exceptions import ConnectionException, ModbusException

from stationpipe.edge.config import ModbusRtu, ModbusTcp, RtuOverTcp
from stationpipe.kernel.errors import DeviceError, DeviceExceptionError, DeviceTimeoutError
from stationpipe.kernel.registermap import RegisterType

Client = AsyncModbusTcpClient | AsyncModbusSerialClient


def make_client(transport: ModbusTcp | RtuOverTcp | ModbusRtu, response_timeout: float) -> Client:
    """The pymodbus client for a line; retries are ours (backoff per device), not pymodbus'."""
    if isinstance(transport, ModbusTcp):
        return AsyncModbusTcpClient(
            transport.host, port=transport.port, timeout=response_timeout, retries=0, reconnect_delay=0
        )
    if isinstance(transport, RtuOverTcp):
        return AsyncModbusTcpClient(
            transport.host,
            port=transport.port,
            framer=FramerType.RTU,
            timeout=response_timeout,
            retries=0,
            reconnect_delay=0,
        )
    return AsyncModbusSerialClient(
        transport.port,
        framer=FramerType.RTU,
        baudrate=transport.baudrate,
        bytesize=transport.bytesize,
        parity=transport.parity,
        stopbits=transport.stopbits,
        timeout=response_timeout,
        retries=0,
        reconnect_delay=0,
    )


class ModbusLine:
    """One physical line; ``read`` is safe to call from many pollers at once."""

    def __init__(self, transport: ModbusTcp | RtuOverTcp | ModbusRtu, response_timeout: float) -> None:
        self.name = transport.line
        self._gap = getattr(transport, "gap", 0.0)
        self._client = make_client(transport, response_timeout)
        self._lock = asyncio.Lock()
        self._quiet_until = 0.0
        self.requests = 0

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
            async with asyncio.timeout(
                response_timeout + 0.5
            ):  # pymodbus has its own; this one is the backstop
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
