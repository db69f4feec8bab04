"""Polls one device on its interval grid and turns every request into flagged Readings.

A failed request flags only its own points B; the other requests of the poll go on. A device whose
every request fails is backed off on its own (its polls yield B readings without touching the line),
so a dead unit never stalls its neighbours on a shared line. Timestamps are the instant each request
was sent; polls keep to the grid (k * interval) and never drift.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable

from stationpipe.edge.config import Device
from stationpipe.edge.decode import (
    apply_status,
    decode_request,
    failed_request,
    plan_requests,
    point_reading,
    status_flags,
)
from stationpipe.edge.drivers.modbus import ModbusLine
from stationpipe.edge.drivers.serial_line import AsciiLine
from stationpipe.edge.metrics import EdgeMetrics
from stationpipe.kernel.backoff import Backoff
from stationpipe.kernel.errors import DeviceError, DeviceExceptionError
from stationpipe.kernel.reading import Flag, Reading, utc_now

log = logging.getLogger(__name__)
Emit = Callable[[str, list[Reading]], Awaitable[None]]


def next_tick(now: float, interval: float) -> float:
    """The next grid instant strictly after ``now`` (epoch seconds)."""
    return (math.floor(now / interval) + 1) * interval


class Poller:
    """One device: its line, its request plan, its availability and its own backoff."""

    def __init__(
        self, station: str, device: Device, line: ModbusLine | AsciiLine, metrics: EdgeMetrics
    ) -> None:
        self.station, self.device, self.line, self.metrics = station, device, line, metrics
        self.profile = device.register_map
        self.requests = plan_requests(
            self.profile, device.max_gap, one_per_point=device.one_request_per_point
        )
        self.available = True
        self._backoff = Backoff(initial=device.interval, cap=max(300.0, device.interval))
        self._retry_at = 0.0

    async def poll_once(self) -> list[Reading]:
        """Read the device once; failures become B-flagged readings of the points they cover."""
        if time.monotonic() < self._retry_at:
            ts = utc_now()
            return [r for req in self.requests for r in failed_request(req, self.station, ts)]
        if isinstance(self.line, AsciiLine):
            readings, failed, error = await self._read_ascii(self.line)
        else:
            readings, failed, error = await self._read_modbus(self.line)
        if failed:
            self._retry_at = time.monotonic() + self._backoff.next_delay()
            self._set_available(available=False, why=error)
        else:
            self._backoff.reset()
            self._set_available(available=True, why="answering again")
        return readings

    def _count_error(self, exc: DeviceError) -> str:
        kind = "exception" if isinstance(exc, DeviceExceptionError) else "no_answer"
        self.metrics.errors.labels(self.device.name, kind).inc()
        return str(exc)

    async def _read_modbus(self, line: ModbusLine) -> tuple[list[Reading], bool, str]:
        """Every request in turn; returns the readings, whether all failed, and the last error."""
        readings: list[Reading] = []
        flags: set[Flag] = set()
        failures, error = 0, ""
        for req in self.requests:
            ts = utc_now()
            try:
                regs = await line.read(
                    req.table, req.address, req.count, self.device.transport.unit, self.device.timeout
                )
            except DeviceError as exc:
                failures += 1
                error = self._count_error(exc)
                readings.extend(failed_request(req, self.station, ts))
                continue
            readings.extend(decode_request(self.profile, req, regs, self.station, ts))
            flags |= status_flags(self.profile, req, regs)
        return apply_status(readings, flags), failures == len(self.requests), error

    async def _read_ascii(self, line: AsciiLine) -> tuple[list[Reading], bool, str]:
        """One SPL/1 request for all points; values are already in the profile's units."""
        ts = utc_now()
        try:
            reply = await line.read(self.device.transport.unit, self.device.timeout)
        except DeviceError as exc:
            error = self._count_error(exc)
            return [r for req in self.requests for r in failed_request(req, self.station, ts)], True, error
        readings = []
        for point in self.profile.points:
            value = reply.values.get(point.parameter)
            readings.append(point_reading(point, math.nan if value is None else value, self.station, ts))
        return apply_status(readings, {reply.flag} - {Flag.N}), False, ""

    def _set_available(self, *, available: bool, why: str) -> None:
        if available != self.available:
            self.available = available
            level = logging.INFO if available else logging.WARNING
            state = "available" if available else "unavailable (backing off)"
            log.log(level, "device %s %s: %s", self.device.name, state, why)

    async def run(self, emit: Emit) -> None:
        """Poll on the grid forever; a poll that overruns skips the missed ticks (never bursts)."""
        while True:
            wake = next_tick(time.time(), self.device.interval)
            await asyncio.sleep(max(0.0, wake - time.time()))
            readings = await self.poll_once()
            self.metrics.polls.labels(self.device.name).inc()
            for r in readings:
                self.metrics.points.labels(self.device.name, r.flag.value).inc()
            await emit(self.device.name, readings)
