"""Modbus TCP driver: pymodbus client calls with timeouts, errors translated once to DeviceError."""

from __future__ import annotations

import asyncio

from pymodbus.client import AsyncModbusTcpClient
from pymodbus.exceptions import ModbusException

from station.errors import DeviceError, DeviceExceptionError, DeviceTimeoutError
from station.registermap import RegisterType


class ModbusTcpDriver:
    """One TCP connection to one endpoint; reads are serialised on it."""

    def __init__(self, host: str, port: int, timeout: float) -> None:
        self._host, self._port, self._timeout = host, port, timeout
        self._client = AsyncModbusTcpClient(host, port=port, timeout=timeout, retries=0, reconnect_delay=0)
        self._lock = asyncio.Lock()

    @property
    def endpoint(self) -> str:
        """host:port, for logs."""
        return f"{self._host}:{self._port}"

    async def _ensure_connected(self) -> None:
        if self._client.connected:
            return
        try:
            async with asyncio.timeout(self._timeout):
                ok = await self._client.connect()
        except TimeoutError:
            raise DeviceTimeoutError(f"{self.endpoint}: connect timed out") from None
        if not ok:
            raise DeviceError(f"{self.endpoint}: connection refused or unreachable")

    async def read(self, table: RegisterType, address: int, count: int, unit: int) -> list[int]:
        """Read ``count`` registers; ``DeviceError`` (timeout, exception response, I/O) otherwise."""
        async with self._lock:
            await self._ensure_connected()
            call = (
                self._client.read_holding_registers
                if table is RegisterType.HOLDING
                else self._client.read_input_registers
            )
            try:
                async with asyncio.timeout(self._timeout * 1.5):
                    resp = await call(address, count=count, device_id=unit)
            except TimeoutError:
                self._client.close()
                raise DeviceTimeoutError(f"{self.endpoint} unit {unit}: no answer") from None
            except ModbusException as exc:
                self._client.close()
                raise DeviceError(f"{self.endpoint} unit {unit}: {exc}") from exc
        if resp.isError():
            code = int(getattr(resp, "exception_code", 0))
            raise DeviceExceptionError(f"{self.endpoint} unit {unit}: exception code {code}", code=code)
        return list(resp.registers)

    def close(self) -> None:
        """Drop the connection."""
        self._client.close()
