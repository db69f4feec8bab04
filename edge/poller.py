"""Polls one device on its interval grid and turns every request into flagged Readings.

A failed request flags only its own points B; the other requests of the poll go on. The timestamp of a
reading is the instant its request was sent. Polls keep to the grid (k * interval), so they never drift.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable

from edge.config import Device
from edge.decode import decode_request, failed_request, plan_requests
from edge.drivers.modbus import ModbusTcpDriver
from station.errors import DeviceError
from station.reading import Reading, StationMessage, utc_now

log = logging.getLogger(__name__)
Emit = Callable[[str, list[Reading]], Awaitable[None]]


def next_tick(now: float, interval: float) -> float:
    """The next grid instant strictly after ``now`` (epoch seconds)."""
    return (math.floor(now / interval) + 1) * interval


class Poller:
    """One device: its driver, its request plan and its availability state (logged on change only)."""

    def __init__(self, station: str, device: Device, driver: ModbusTcpDriver) -> None:
        self.station, self.device, self.driver = station, device, driver
        self.profile = device.register_map
        self.requests = plan_requests(self.profile, device.max_gap)
        self.available = True

    async def poll_once(self) -> list[Reading]:
        """Read every request once; failures become B-flagged readings of that request's points."""
        readings: list[Reading] = []
        failures = 0
        for req in self.requests:
            ts = utc_now()
            try:
                regs = await self.driver.read(req.table, req.address, req.count, self.device.transport.unit)
            except DeviceError as exc:
                failures += 1
                readings.extend(failed_request(req, self.station, ts))
                self._set_available(available=False, why=str(exc))
                continue
            readings.extend(decode_request(self.profile, req, regs, self.station, ts))
        if failures == 0:
            self._set_available(available=True, why="answering again")
        return readings

    def _set_available(self, *, available: bool, why: str) -> None:
        if available != self.available:
            self.available = available
            level = logging.INFO if available else logging.WARNING
            log.log(
                level, "device %s %s: %s", self.device.name, "available" if available else "unavailable", why
            )

    async def run(self, emit: Emit) -> None:
        """Poll on the grid forever; a poll that overruns skips the missed ticks (never bursts)."""
        while True:
            wake = next_tick(time.time(), self.device.interval)
            await asyncio.sleep(max(0.0, wake - time.time()))
            await emit(self.device.name, await self.poll_once())


def build_message(station: str, device: str, seq: int, readings: list[Reading]) -> StationMessage:
    """One readings message; its ``ts`` is the first request's instant."""
    ts = min((r.ts for r in readings), default=utc_now())
    return StationMessage(station, device, seq, ts, tuple(readings))
