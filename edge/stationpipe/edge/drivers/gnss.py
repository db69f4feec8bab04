"""A GNSS receiver (NMEA 0183) on a serial port: pushed, never polled.

:meth:`GnssDriver.run` reads the receiver's sentences as they come
(:class:`stationpipe.edge.nmea.NmeaReceiver`) into the station's
:class:`~stationpipe.edge.fence.FenceState`; its one reader publishes the position readings
(``gnss_lat``, ``gnss_lon``, ``gnss_speed``, ``fence_dist``, ``fence_move``) on the configured interval,
``B`` without a fresh fix. The fence step (:mod:`stationpipe.edge.steps.fence`) flags the other devices'
readings from the same state.
"""

from __future__ import annotations

from stationpipe.edge.config import EdgeConfig, GnssReceiver, Line
from stationpipe.edge.drivers.base import Poll, Reader
from stationpipe.edge.fence import POSITION_PARAMETERS, FenceState
from stationpipe.edge.nmea import NmeaReceiver
from stationpipe.kernel.catalogue import parameter
from stationpipe.kernel.reading import Flag, Reading, utc_now


class GnssDriver:
    """The receiver and the station's position state."""

    def __init__(self, config: EdgeConfig, line: Line) -> None:  # noqa: ARG002 - the table's signature
        assert config.gnss is not None  # EdgeConfig.lines() makes an nmea line only for [gnss]
        self.config: GnssReceiver = config.gnss
        self.name = config.gnss.name
        self.state = FenceState(config.station, config.gnss)
        self.receiver = NmeaReceiver(config.gnss.name, config.gnss.port, config.gnss.baudrate)

    def readers(self) -> list[Reader]:
        """The position publication."""
        return [PositionReader(self)]

    async def run(self) -> None:
        """Read the receiver until cancelled."""
        await self.receiver.run(self.state.update)

    def close(self) -> None:
        """Close the serial port."""
        self.receiver.close()


class PositionReader:
    """The latest fix, as readings: a poll never fails (no fix is B readings, not a silent device)."""

    def __init__(self, driver: GnssDriver) -> None:
        self.state = driver.state
        self.name, self.interval = driver.name, driver.config.interval

    async def poll(self) -> Poll:
        """The position readings now."""
        return Poll(self.state.readings(utc_now()))

    def unanswered(self) -> list[Reading]:
        """Never backed off; B position readings all the same."""
        now = utc_now()
        station = self.state.station
        return [
            Reading(station, code, None, parameter(code).unit, now, Flag.B) for code in POSITION_PARAMETERS
        ]
