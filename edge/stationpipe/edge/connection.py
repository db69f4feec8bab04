"""How a device is reached: a *protocol* spoken over a *link*, in either of two spellings.

A link is the physical connection (a TCP client connection, a local serial port, or the inbound
connection of a 4G DTU that dialled in to the edge's ``[dtu]`` listener, :mod:`stationpipe.edge.dtu`);
a protocol is what is spoken over it (Modbus TCP, Modbus RTU, Bavarian-Hessen, HJ 212 from analysers, an
instrument's own ASCII records read through a template).
They combine freely where it makes sense (:data:`PROTOCOLS`): Modbus RTU over a serial port or over TCP
(a serial device server) is one protocol on two links. A device says::

    protocol = "modbus_rtu"
    link = {type = "tcp", host = "192.0.2.10", port = 4001}     # or {type = "serial", port = "/dev/ttyUSB0"}
    unit = 1

or, as before, one ``[devices.transport]`` table whose ``type`` names both (tcp, rtu_over_tcp, rtu). The
retired SPL/1 spelling (``protocol = "ascii"``, ``type = "ascii"``) is refused with the replacement named:
``protocol = "ascii_template"`` with ``template = "spl1-water-five"``.
Both normalise to one :class:`Connection`; devices with the same protocol on the same link share a *line*
(one driver, one request at a time).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import Discriminator, Field, Tag, model_validator

from stationpipe.kernel.config import Model

_Unit = Annotated[int, Field(default=1, ge=0, le=255, description="Modbus unit (slave) id")]

#: The protocols a device may name, the links each runs over, and its default gap (seconds of silence
#: between requests on the line) on each. Each has a driver in ``stationpipe.edge.drivers.DRIVERS``.
PROTOCOLS: dict[str, dict[str, float]] = {
    "modbus_tcp": {"tcp": 0.0},
    "modbus_rtu": {"tcp": 0.01, "serial": 0.02, "dtu": 0.05},
    "hessen": {"serial": 0.05, "tcp": 0.05, "dtu": 0.05},
    "ascii_template": {"serial": 0.02, "tcp": 0.02, "dtu": 0.05},
    "hj212": {"serial": 0.0, "tcp": 0.0},
}
ProtocolName = Literal["modbus_tcp", "modbus_rtu", "hessen", "ascii_template", "hj212"]

#: What replaces the retired SPL/1 ``ascii`` protocol, said wherever a configuration still names it.
SPL1_RETIRED = (
    'protocol "ascii" (SPL/1) is retired: use protocol = "ascii_template" with template = "spl1-water-five" '
    "(the SPL/1 example template), or the template of your instrument (docs/design.md, template ASCII)"
)


class TcpLink(Model):
    """A TCP client connection: a Modbus TCP analyser or gateway, or a serial device server."""

    type: Literal["tcp"] = "tcp"
    host: str
    port: int = Field(ge=1, le=65535)

    @property
    def key(self) -> str:
        """Where it goes: ``tcp://host:port``."""
        return f"tcp://{self.host}:{self.port}"


class SerialLink(Model):
    """A local serial port (RS-232/RS-485)."""

    type: Literal["serial"]
    port: str = Field(description="serial device, e.g. /dev/ttyUSB0")
    baudrate: int = Field(default=9600, gt=0)
    parity: Literal["N", "E", "O"] = "N"
    stopbits: Literal[1, 2] = 1
    bytesize: Literal[7, 8] = 8

    @property
    def key(self) -> str:
        """Which port: ``serial:///dev/ttyUSB0``."""
        return f"serial://{self.port}"


class DtuLink(Model):
    """A 4G DTU that dials in to the edge's ``[dtu]`` listener and tunnels its RS-485 bus; ``id`` is what its
    registration packet names (see :class:`stationpipe.edge.dtu.DtuListener`). One protocol per DTU."""

    type: Literal["dtu"]
    id: str = Field(min_length=1, max_length=128, description="the DTU's id (IMEI, serial, configured text)")

    @property
    def key(self) -> str:
        """Which DTU: ``dtu://865...``."""
        return f"dtu://{self.id}"


def _link_type(value: object) -> str:
    if isinstance(value, dict):
        return f"type={value.get('type', 'tcp')}"
    return f"type={getattr(value, 'type', 'tcp')}"


#: A device's link; ``type`` defaults to ``"tcp"`` (the ``type=`` tags stay out of error paths).
Link = Annotated[
    Annotated[TcpLink, Tag("type=tcp")]
    | Annotated[SerialLink, Tag("type=serial")]
    | Annotated[DtuLink, Tag("type=dtu")],
    Discriminator(_link_type),
]


@dataclass(frozen=True, slots=True)
class Connection:
    """A device's protocol, link, unit id and line gap, whichever spelling configured them."""

    protocol: str
    link: TcpLink | SerialLink | DtuLink
    unit: int
    gap: float

    @property
    def line(self) -> str:
        """Devices with the same line share one driver: ``modbus_rtu+tcp://192.0.2.10:4001``."""
        return f"{self.protocol}+{self.link.key}"


class ModbusTcp(Model):
    """Modbus TCP (MBAP framing): an analyser or a Modbus TCP gateway."""

    type: Literal["tcp"] = "tcp"
    host: str
    port: int = Field(default=502, ge=1, le=65535)
    unit: _Unit = 1

    def connection(self) -> Connection:
        """``modbus_tcp`` over a TCP link."""
        return Connection("modbus_tcp", TcpLink(host=self.host, port=self.port), self.unit, 0.0)


class RtuOverTcp(Model):
    """Modbus RTU frames over a TCP socket (serial device servers in transparent mode)."""

    type: Literal["rtu_over_tcp"]
    host: str
    port: int = Field(ge=1, le=65535)
    unit: _Unit = 1
    gap: float = Field(default=0.01, ge=0, description="seconds of silence between requests on the line")

    def connection(self) -> Connection:
        """``modbus_rtu`` over a TCP link."""
        return Connection("modbus_rtu", TcpLink(host=self.host, port=self.port), self.unit, self.gap)


class ModbusRtu(Model):
    """Modbus RTU on a local serial port (RS-485), several unit ids per line."""

    type: Literal["rtu"]
    port: str = Field(description="serial device, e.g. /dev/ttyUSB0")
    baudrate: int = Field(default=9600, gt=0)
    parity: Literal["N", "E", "O"] = "N"
    stopbits: Literal[1, 2] = 1
    bytesize: Literal[7, 8] = 8
    unit: _Unit = 1
    gap: float = Field(default=0.02, ge=0, description="seconds of silence between requests on the line")

    def connection(self) -> Connection:
        """``modbus_rtu`` over a serial link."""
        link = SerialLink(
            type="serial",
            port=self.port,
            baudrate=self.baudrate,
            parity=self.parity,
            stopbits=self.stopbits,
            bytesize=self.bytesize,
        )
        return Connection("modbus_rtu", link, self.unit, self.gap)


class AsciiSerial(Model):
    """The retired SPL/1 spelling (``type = "ascii"``): refused with the replacement named."""

    type: Literal["ascii"]
    port: str = ""
    baudrate: int = 9600
    unit: int = 1
    gap: float = 0.02

    @model_validator(mode="after")
    def _retired(self) -> AsciiSerial:
        raise ValueError(SPL1_RETIRED)

    def connection(self) -> Connection:
        """Never reached: the validator refuses the spelling."""
        raise AssertionError(SPL1_RETIRED)


#: The older spelling: one table whose ``type`` names protocol and link together; defaults to ``"tcp"``.
Transport = Annotated[
    Annotated[ModbusTcp, Tag("type=tcp")]
    | Annotated[RtuOverTcp, Tag("type=rtu_over_tcp")]
    | Annotated[ModbusRtu, Tag("type=rtu")]
    | Annotated[AsciiSerial, Tag("type=ascii")],
    Discriminator(_link_type),
]
