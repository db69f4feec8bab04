"""A GNSS receiver on a pty: NMEA 0183 sentences at the station's registered position, moved by scenarios.

Every ``period`` seconds it writes two sentences, as a receiver does once a second (ASCII, CR LF, checksum
the XOR of the bytes between ``$`` and ``*`` as two hex digits)::

    $GNGGA,hhmmss.ss,ddmm.mmmmm,N,dddmm.mmmmm,E,1,10,0.9,12.0,M,7.0,M,,*hh    fix quality 1 (0: no fix)
    $GNRMC,hhmmss.ss,A,ddmm.mmmmm,N,dddmm.mmmmm,E,0.05,123.4,ddmmyy,,,A*hh    status A (V: no fix), knots

Scenarios (simulators/scenarios.py) act on it by the catalogue codes ``gnss_lat`` and ``gnss_lon``, in
degrees: ``drift`` moves the position at ``rate`` degrees per hour (0.009 °/h of latitude is about 0.28 m/s,
see docs/fence.md); ``fault`` takes the fix away; ``silent`` stops the output; ``garbage`` puts noise
before it. ``jitter`` adds Gaussian noise (metres per axis) to the reported position, as a real receiver
wanders; the reported speed over ground is that of the scenario's true track (receivers measure it from
Doppler, far less noisy than differencing positions) plus 0.02 m/s of noise.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
from datetime import datetime, timedelta

from stationpipe.kernel.geo import KNOT_M_S, MEAN_EARTH_RADIUS_M, haversine_m, offset
from stationpipe.kernel.nmea0183 import frame
from stationpipe.kernel.reading import Flag, utc_now
from stationpipe.simulators.board import Board, Effects
from stationpipe.simulators.config import GnssSim
from stationpipe.simulators.pty_line import Pty, noise, publish_link, remove_link
from stationpipe.simulators.scenarios import apply_value, elapsed_since

log = logging.getLogger(__name__)
Position = tuple[float, float]
_SPEED_NOISE = 0.02  # m/s, one standard deviation


def nmea_angle(value: float, *, lat: bool) -> tuple[str, str]:
    """Decimal degrees as NMEA ``ddmm.mmmmm`` (``dddmm.mmmmm`` for longitude) and its hemisphere letter."""
    hemi = ("N" if value >= 0 else "S") if lat else ("E" if value >= 0 else "W")
    degrees = abs(value)
    whole = int(degrees)
    minutes = (degrees - whole) * 60
    if round(minutes, 5) >= 60:  # 59.999996' would print as 60.00000'
        whole, minutes = whole + 1, 0.0
    return f"{whole:0{2 if lat else 3}d}{minutes:08.5f}", hemi


def gga(talker: str, at: datetime, position: Position | None) -> bytes:
    """A GGA sentence: fix quality 1 with 10 satellites at ``position``, or quality 0 without one."""
    hms = at.strftime("%H%M%S.") + f"{at.microsecond // 10000:02d}"
    if position is None:
        return frame(f"{talker}GGA,{hms},,,,,0,00,99.9,,M,,M,,")
    (la, ns), (lo, ew) = nmea_angle(position[0], lat=True), nmea_angle(position[1], lat=False)
    return frame(f"{talker}GGA,{hms},{la},{ns},{lo},{ew},1,10,0.9,12.0,M,7.0,M,,")


def rmc(
    talker: str, at: datetime, position: tuple[float, float] | None, speed: float, course: float
) -> bytes:
    """An RMC sentence: status A with speed over ground (``speed`` m/s, sent in knots), or status V."""
    hms = at.strftime("%H%M%S.") + f"{at.microsecond // 10000:02d}"
    dmy = at.strftime("%d%m%y")
    if position is None:
        return frame(f"{talker}RMC,{hms},V,,,,,,,{dmy},,,N")
    (la, ns), (lo, ew) = nmea_angle(position[0], lat=True), nmea_angle(position[1], lat=False)
    return frame(f"{talker}RMC,{hms},A,{la},{ns},{lo},{ew},{speed / KNOT_M_S:.3f},{course:.1f},{dmy},,,A")


class GnssReceiver:
    """One simulated receiver on its own pty (``path`` is what a client opens)."""

    def __init__(self, config: GnssSim, board: Board) -> None:
        self.config, self.board = config, board
        self.pty = Pty.open()
        self.path = self.pty.path
        self._rng = random.Random(config.seed)  # noqa: S311 - simulation, not crypto

    def true_position(self, at: datetime, effects: Effects) -> tuple[float, float] | None:
        """The position the scenarios put the station at (``None``: no fix)."""
        if Flag.D in effects.flags:
            return None
        out = []
        for code, base in (("gnss_lat", self.config.lat), ("gnss_lon", self.config.lon)):
            value = base
            for scenario, started in effects.changes:
                if scenario.touches(code):
                    value = apply_value(scenario, value, base, elapsed_since(started, at))
            out.append(value)
        if not all(math.isfinite(v) for v in out):
            return None
        return out[0], out[1]

    def velocity(self, at: datetime) -> tuple[float, float]:
        """Speed (m/s) and course (degrees true) of the true track over the last second."""
        before = at - timedelta(seconds=1)
        now_pos = self.true_position(at, self.board.effects(self.config.name, at))
        then_pos = self.true_position(before, self.board.effects(self.config.name, before))
        if now_pos is None or then_pos is None:
            return 0.0, 0.0
        north = math.radians(now_pos[0] - then_pos[0]) * MEAN_EARTH_RADIUS_M
        east = (
            math.radians(now_pos[1] - then_pos[1]) * MEAN_EARTH_RADIUS_M * math.cos(math.radians(now_pos[0]))
        )
        speed = haversine_m(*then_pos, *now_pos)
        return speed, math.degrees(math.atan2(east, north)) % 360

    def sentences(self, at: datetime) -> bytes:
        """What the receiver sends at ``at`` (empty while ``silent``)."""
        effects = self.board.effects(self.config.name, at)
        if effects.silent:
            return b""
        position = self.true_position(at, effects)
        if position is not None and self.config.jitter:
            j = self.config.jitter
            position = offset(*position, self._rng.gauss(0, j), self._rng.gauss(0, j))
        speed, course = self.velocity(at)
        speed = abs(speed + self._rng.gauss(0, _SPEED_NOISE))
        prefix = noise(effects.garbage, self._rng) if effects.garbage else b""
        talker = self.config.talker
        return prefix + gga(talker, at, position) + rmc(talker, at, position, speed, course)

    async def run(self) -> None:
        """Send every ``period`` seconds until cancelled; close the pty on the way out."""
        try:
            while True:
                data = self.sentences(utc_now())
                if data:
                    self.pty.write(data)
                await asyncio.sleep(self.config.period)
        finally:
            self.pty.close()


async def serve_gnss(config: GnssSim, board: Board) -> None:
    """Run one receiver, its path published as ``link`` when configured."""
    receiver = GnssReceiver(config, board)
    publish_link(receiver.path, config.link)
    log.info(
        "GNSS receiver %s (station %s, %.6f, %.6f): open %s%s",
        config.name,
        config.station,
        config.lat,
        config.lon,
        receiver.path,
        f" (link {config.link})" if config.link else "",
    )
    try:
        await receiver.run()
    finally:
        remove_link(config.link)
