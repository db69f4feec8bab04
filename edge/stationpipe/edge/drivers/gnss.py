"""A GNSS receiver (NMEA 0183) on a serial port: pushed, never polled.

:meth:`GnssDriver.run` reads the receiver's sentences as they come
(:class:`stationpipe.edge.nmea.NmeaReceiver`) into the station's
:class:`~stationpipe.edge.fence.FenceState`; its one reader publishes the position readings
(``gnss_lat``, ``gnss_lon``, ``gnss_speed``, ``fence_dist``, ``fence_move``) on the configured interval,
``B`` without a fresh fix. The fence step (:mod:`stationpipe.edge.steps.fence`) flags the other devices'
readings from the same state. For ``--test`` the reader waits up to ``max(interval, max_age)`` seconds for
a valid fix (:meth:`PositionReader.read_once`).
"""

from __future__ import annotations

import asyncio
import contextlib

from stationpipe.edge.config import EdgeConfig, GnssReceiver, Line
from stationpipe.edge.drivers.base import Poll, Reader
from stationpipe.edge.fence import POSITION_PARAMETERS, FenceState
from stationpipe.edge.nmea import Fix, NmeaReceiver
from stationpipe.kernel.catalogue import parameter
from stationpipe.kernel.errors import DeviceTimeoutError
from stationpipe.kernel.reading import Flag, Reading, utc_now


class GnssDriver:
    """The receiver and the station's position state."""

    def __init__(self, config: EdgeConfig, line: Line) -> None:  # noqa: ARG002 - the table's signature
        assert config.gnss is not None  # EdgeConfig.lines() makes an nmea line only for [gnss]
        self.config: GnssReceiver = config.gnss
        self.name = config.gnss.name
        self.state = FenceState(config.station, config.gnss)
        self.receiver = NmeaReceiver(config.gnss.name, config.gnss.port, config.gnss.baudrate)
        self.heard = asyncio.Event()  # a GGA/RMC sentence came in, with a fix or without
        self.fixed = asyncio.Event()  # a valid fix came in

    def _take(self, fix: Fix) -> None:
        self.state.update(fix)
        self.heard.set()
        if self.state.last is not None:
            self.fixed.set()

    def readers(self) -> list[Reader]:
        """The position publication."""
        return [PositionReader(self)]

    async def run(self) -> None:
        """Read the receiver until cancelled."""
        await self.receiver.run(self._take)

    def close(self) -> None:
        """Close the serial port."""
        self.receiver.close()


class PositionReader:
    """The latest fix, as readings: a poll never fails (no fix is B readings, not a silent device)."""

    def __init__(self, driver: GnssDriver) -> None:
        self.driver, self.state = driver, driver.state
        self.name, self.interval = driver.name, driver.config.interval

    async def poll(self) -> Poll:
        """The position readings now."""
        return Poll(self.state.readings(utc_now()))

    async def read_once(self) -> Poll:
        """The position once a valid fix came in, waiting up to ``max(interval, max_age)`` seconds for one;
        not ``answered`` when the receiver sent nothing at all (a sentence without a fix is an answer)."""
        wait = max(self.interval, self.driver.config.max_age)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(wait):
                await self.driver.fixed.wait()
        if self.driver.heard.is_set():
            return await self.poll()
        error = DeviceTimeoutError(f"{self.name}: no NMEA sentence within {wait:g} s")
        return Poll(self.unanswered(), (error,), answered=False)

    def unanswered(self) -> list[Reading]:
        """Never backed off; B position readings all the same."""
        now = utc_now()
        station = self.state.station
        return [
            Reading(station, code, None, parameter(code).unit, now, Flag.B) for code in POSITION_PARAMETERS
        ]
