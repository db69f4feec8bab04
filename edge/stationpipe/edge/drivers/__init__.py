"""Drivers: one protocol on one link each (see :mod:`stationpipe.edge.drivers.base`), keyed by the protocol a
device configures (:data:`stationpipe.edge.connection.PROTOCOLS`).

============ ======================================================================================
modbus_tcp   Modbus TCP (MBAP) over a TCP link                    (:mod:`.modbus`)
modbus_rtu   Modbus RTU over a serial port, or over TCP (a serial device server)  (:mod:`.modbus`); over a
             DTU, pymodbus' framer over a StreamLine (:mod:`.modbus_stream`)
hessen       Bavarian-Hessen air analysers over a serial port, over TCP (a serial device server) or over
             a DTU  (:mod:`.hessen`)
ascii_template  instruments that print their own ASCII records, polled or pushing, read through a record
             template (stationpipe.kernel.ascii_template), over a serial port, TCP or a DTU
             (:mod:`.template`)
nmea         a GNSS receiver (NMEA 0183) over a serial port; pushed, never polled  (:mod:`.gnss`)
hj212        HJ 212-2017/-2025 analysers over a serial port or TCP; they push CN 2011 frames (or send
             them when asked), the edge is their data logger  (:mod:`.hj212`)
============ ======================================================================================

To add a protocol: one file here with a class that satisfies :class:`~.base.Driver` (translate the
library's errors into ``DeviceError`` once, inside it), one row in :data:`DRIVERS`, and its name with
the links it runs over in ``PROTOCOLS`` (stationpipe/edge/connection.py), so configurations may name it.
Its readers also give :meth:`~.base.Reader.read_once`, what ``stationpipe edge --test`` calls (a polled
device's reader derives from :class:`~.base.PolledReader`, which makes it one poll; a pushed one waits,
bounded, for its first input).
The poller, the steps and the outputs stay as they are. The ``[dtu]`` listener
(:class:`~.dtu.DtuListenerDriver`, no devices of its own: it accepts the DTUs that dial in and lends each
connection to its DTU's line) is not a protocol: the agent adds it to the drivers when ``[dtu]`` is set.
"""

from __future__ import annotations

from stationpipe.edge.drivers.base import Driver, Factory, Poll, Reader
from stationpipe.edge.drivers.gnss import GnssDriver
from stationpipe.edge.drivers.hessen import HessenDriver
from stationpipe.edge.drivers.hj212 import Hj212Driver
from stationpipe.edge.drivers.modbus import ModbusDriver
from stationpipe.edge.drivers.modbus_stream import modbus_rtu
from stationpipe.edge.drivers.template import TemplateDriver

__all__ = ["DRIVERS", "Driver", "Poll", "Reader"]

#: The driver of each protocol.
DRIVERS: dict[str, Factory] = {
    "modbus_tcp": ModbusDriver,
    "modbus_rtu": modbus_rtu,
    "hessen": HessenDriver,
    "ascii_template": TemplateDriver,
    "nmea": GnssDriver,
    "hj212": Hj212Driver,
}
