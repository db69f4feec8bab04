"""Modbus RTU over a byte stream the edge does not dial itself: a 4G DTU's inbound connection.

pymodbus' own pieces do the protocol: its request PDUs encode the read, its RTU framer adds the unit id and
the CRC and finds the reply's frame (its length from the function code and byte count, the CRC checked),
and its PDU decoder reads the reply. The exchange runs on a
:class:`~stationpipe.edge.drivers.stream.StreamLine` (one request at a time, the line's gap after each, the
timeout), and the registers go through the same :class:`~stationpipe.edge.drivers.modbus.ModbusReader` and
:mod:`stationpipe.edge.decode` as on a serial port. A reply with a wrong CRC is ``DeviceChecksumError`` (its
request's points B, the unit not backed off); no reply is ``DeviceTimeoutError`` (backed off as a dead unit);
a DTU not connected is ``DeviceOfflineError`` (B at once).
"""

from __future__ import annotations

from pymodbus.exceptions import ModbusException
from pymodbus.framer import FramerRTU
from pymodbus.pdu import DecodePDU, ModbusPDU
from pymodbus.pdu.bit_message import ReadCoilsRequest, ReadDiscreteInputsRequest
from pymodbus.pdu.register_message import ReadHoldingRegistersRequest, ReadInputRegistersRequest

from stationpipe.edge.config import EdgeConfig, Line
from stationpipe.edge.connection import DtuLink
from stationpipe.edge.drivers.base import Driver, Reader
from stationpipe.edge.drivers.modbus import ModbusDriver, ModbusReader
from stationpipe.edge.drivers.stream import StreamLine
from stationpipe.kernel.errors import DeviceChecksumError, DeviceError, DeviceExceptionError
from stationpipe.kernel.registermap import RegisterType

_REQUEST: dict[RegisterType, type[ModbusPDU]] = {
    RegisterType.HOLDING: ReadHoldingRegistersRequest,
    RegisterType.INPUT: ReadInputRegistersRequest,
    RegisterType.COIL: ReadCoilsRequest,
    RegisterType.DISCRETE: ReadDiscreteInputsRequest,
}


def modbus_rtu(config: EdgeConfig, line: Line) -> Driver:
    """The driver of a ``modbus_rtu`` line: over a DTU, this module's; otherwise pymodbus' client."""
    if isinstance(line.connection.link, DtuLink):
        return ModbusStreamDriver(config, line)
    return ModbusDriver(config, line)


class ModbusStreamDriver:
    """Modbus RTU units behind one DTU; ``read`` is safe to call from many pollers at once."""

    def __init__(self, config: EdgeConfig, line: Line) -> None:
        self.station, self.devices = config.station, line.devices
        self.name = line.connection.line
        self._line = StreamLine(self.name, line.connection.link, line.connection.gap)
        self._framer = FramerRTU(DecodePDU(is_server=False))

    @property
    def requests(self) -> int:
        """Requests sent on the line."""
        return self._line.requests

    def readers(self) -> list[Reader]:
        """One reader per unit id behind the DTU."""
        return [ModbusReader(self, device) for device in self.devices]

    async def run(self) -> None:
        """Nothing to do unasked: a Modbus unit speaks when polled."""

    def _complete(self, data: bytes) -> bool:
        """Whether the framer has found a whole frame in ``data`` (good or bad CRC)."""
        return self._framer.decode(data)[0] > 0

    async def read(
        self, table: RegisterType, address: int, count: int, unit: int, response_timeout: float
    ) -> list[int]:
        """Read ``count`` registers (or bits, as 0/1) of ``table``; ``DeviceError`` otherwise."""
        request = _REQUEST[table](address=address, count=count, dev_id=unit)
        who = f"unit {unit}"
        frame = self._framer.buildFrame(request)
        data = await self._line.exchange(frame, self._complete, response_timeout, who)
        _, dev_id, _, pdu = self._framer.decode(data)
        if not pdu:
            raise DeviceChecksumError(f"{self.name} {who}: reply with a wrong CRC ({data.hex()})")
        if dev_id != unit:
            raise DeviceError(f"{self.name} {who}: the reply came from unit {dev_id}")
        try:
            resp = self._framer.decoder.decode(pdu)
        except (ModbusException, ValueError, IndexError) as exc:
            raise DeviceError(f"{self.name} {who}: undecodable reply ({exc})") from exc
        if resp is None:
            raise DeviceError(f"{self.name} {who}: undecodable reply ({pdu.hex()})")
        if resp.isError():
            code = int(resp.exception_code)
            raise DeviceExceptionError(f"{self.name} {who}: exception code {code}", code=code)
        if resp.function_code != request.function_code:
            raise DeviceError(f"{self.name} {who}: reply to function {resp.function_code}")
        if table in (RegisterType.COIL, RegisterType.DISCRETE):
            return [int(bit) for bit in resp.bits[:count]]
        if len(resp.registers) != count:
            raise DeviceError(f"{self.name} {who}: {len(resp.registers)} registers for {count}")
        return list(resp.registers)

    def close(self) -> None:
        """Nothing of its own to close: the DTU's connection belongs to the listener."""
        self._line.close()
