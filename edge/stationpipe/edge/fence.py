"""The electronic fence of a monitoring section (监测断面电子围栏), checked at the edge.

A GNSS receiver (:mod:`stationpipe.edge.drivers.gnss`) reports where the station is. :class:`FenceState`
keeps the latest valid fix and the fixes of the last ``window`` seconds, and decides:

- **outside**: the great-circle distance from the registered position is above ``radius``;
- **moving**: the speed over ground (RMC) is above ``max_speed``, or the displacement between the oldest fix
  of the window and the latest is above ``max_displacement``.

While outside, every normal (``N``) reading of the station's other devices is flagged ``fence.flag`` (D by
default, see docs/fence.md), so it never counts in water-class, AQI or threshold evaluation; readings that
already carry a flag keep their own. The GNSS readings themselves keep ``N``: the position is a good
measurement, and the rules engine's ``fence`` rule needs it to raise 站点越界 / 站点移动. Without a fix
younger than ``max_age`` the position is unknown: the GNSS readings are ``B`` and nothing else is flagged.
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import replace
from datetime import datetime

from stationpipe.edge.config import GnssReceiver
from stationpipe.edge.nmea import Fix
from stationpipe.kernel.catalogue import parameter
from stationpipe.kernel.geo import haversine_m
from stationpipe.kernel.reading import Flag, Reading, utc_now

log = logging.getLogger(__name__)
_HISTORY = 20_000  # fixes kept at most (a 10 Hz receiver fills a 10-minute window with 12 000 sentences)
POSITION_PARAMETERS = ("gnss_lat", "gnss_lon", "gnss_speed", "fence_dist", "fence_move")


class FenceState:
    """The station's position, its distance from the registered one, and whether it is outside or moving."""

    def __init__(self, station: str, config: GnssReceiver) -> None:
        self.station, self.config, self.fence = station, config, config.fence
        self.centre = config.fence.centre(station)
        self.last: Fix | None = None
        self.speed: float | None = None
        self.window: deque[tuple[float, float, float]] = deque(maxlen=_HISTORY)
        self.was_outside = False
        self.was_moving = False

    def update(self, fix: Fix) -> None:
        """Take one fix (invalid ones are ignored: the last valid fix ages out instead)."""
        if not fix.valid or fix.lat is None or fix.lon is None:
            return
        self.last = fix
        if fix.speed is not None:
            self.speed = fix.speed
        t = fix.ts.timestamp()
        self.window.append((t, fix.lat, fix.lon))
        while self.window and t - self.window[0][0] > self.fence.window:
            self.window.popleft()
        self._log_changes()

    def fresh(self, now: datetime) -> Fix | None:
        """The latest valid fix if it is younger than ``max_age``."""
        if self.last is None or (now - self.last.ts).total_seconds() > self.config.max_age:
            return None
        return self.last

    def distance(self) -> float:
        """Metres from the registered position to the latest valid fix (0 before the first fix)."""
        if self.last is None or self.last.lat is None or self.last.lon is None:
            return 0.0
        return haversine_m(*self.centre, self.last.lat, self.last.lon)

    def displacement(self) -> float:
        """Metres between the oldest fix of the window and the latest."""
        if len(self.window) < 2:
            return 0.0
        (_, lat0, lon0), (_, lat1, lon1) = self.window[0], self.window[-1]
        return haversine_m(lat0, lon0, lat1, lon1)

    def outside(self, now: datetime) -> bool:
        """True when a fresh fix puts the station beyond ``radius``."""
        return self.fresh(now) is not None and self.distance() > self.fence.radius

    def moving(self, now: datetime) -> bool:
        """True when a fresh fix comes with a speed above ``max_speed`` or the window's displacement is
        above ``max_displacement``."""
        if self.fresh(now) is None:
            return False
        fast = self.speed is not None and self.speed > self.fence.max_speed
        return fast or self.displacement() > self.fence.max_displacement

    def _log_changes(self) -> None:
        now = utc_now()
        outside, moving = self.outside(now), self.moving(now)
        if outside != self.was_outside:
            self.was_outside = outside
            how = f"{self.distance():.0f} m from its registered position (radius {self.fence.radius:g} m)"
            if outside:
                log.warning("站点越界 station %s outside its fence: %s", self.station, how)
            else:
                log.info("station %s back inside its fence: %s", self.station, how)
        if moving != self.was_moving:
            self.was_moving = moving
            how = f"{self.speed or 0:.2f} m/s, {self.displacement():.0f} m within {self.fence.window:g} s"
            if moving:
                log.warning("站点移动 station %s moving: %s", self.station, how)
            else:
                log.info("station %s at rest again: %s", self.station, how)

    def readings(self, now: datetime) -> list[Reading]:
        """The position readings of one publication: values of the fresh fix, or ``B`` without one."""
        fix = self.fresh(now)
        if fix is None or fix.lat is None or fix.lon is None:
            return [self._reading(code, None, now, Flag.B) for code in POSITION_PARAMETERS]
        values = {
            "gnss_lat": fix.lat,
            "gnss_lon": fix.lon,
            "gnss_speed": self.speed,
            "fence_dist": self.distance(),
            "fence_move": self.displacement(),
        }
        return [self._reading(code, values[code], fix.ts, Flag.N) for code in POSITION_PARAMETERS]

    def _reading(self, code: str, value: float | None, ts: datetime, flag: Flag) -> Reading:
        return Reading(self.station, code, value, parameter(code).unit, ts, flag)

    def apply(self, readings: list[Reading], now: datetime) -> list[Reading]:
        """Flag the normal readings of another device while the station is outside its fence."""
        if not self.outside(now):
            return readings
        flag = Flag(self.fence.flag)
        return [replace(r, flag=flag) if r.flag is Flag.N else r for r in readings]
