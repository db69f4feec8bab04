"""Positions on the Earth for the electronic fence (监测断面电子围栏): distances, offsets, speed units.

Pure functions, shared by the edge (the fence check) and the GNSS simulator. Sources are in docs/fence.md:

- :data:`MEAN_EARTH_RADIUS_M`: the mean radius R1 = (2a + b) / 3 of the GRS 80 ellipsoid (WGS 84 agrees
  to 0.1 mm), 6 371 008.8 m — Moritz, H. (2000), *Geodetic Reference System 1980*, J. Geodesy 74,
  128-133, p. 131;
- :data:`KNOT_M_S`: 1 knot = 1 international nautical mile (1852 m, exact) per hour — NIST SP 811, B.8.

The sphere of radius R1 is within 0.5 % of the ellipsoid's distances, which is far below what a fence
radius of tens or hundreds of metres needs.
"""

from __future__ import annotations

import math

#: IUGG mean Earth radius R1 of GRS 80 / WGS 84, metres.
MEAN_EARTH_RADIUS_M = 6_371_008.8
#: Metres per second in one knot (NMEA RMC speed over ground is in knots).
KNOT_M_S = 1852.0 / 3600.0


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres between two points given in decimal degrees (WGS 84).

    ``d = 2 R asin(sqrt(sin²(Δφ/2) + cos φ1 cos φ2 sin²(Δλ/2)))``; well conditioned for short distances.
    """
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi = phi2 - phi1
    dlam = math.radians(lon2 - lon1)
    h = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlam / 2) ** 2
    return 2 * MEAN_EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def offset(lat: float, lon: float, north_m: float, east_m: float) -> tuple[float, float]:
    """The point ``north_m`` metres north and ``east_m`` metres east of (lat, lon), in decimal degrees.

    A local flat-Earth step on the sphere of :data:`MEAN_EARTH_RADIUS_M` (exact enough within a few km).
    """
    dlat = math.degrees(north_m / MEAN_EARTH_RADIUS_M)
    dlon = math.degrees(east_m / (MEAN_EARTH_RADIUS_M * math.cos(math.radians(lat))))
    return lat + dlat, lon + dlon


# Fence policy defaults (*policy*, not a standard's numbers: each is configurable, see docs/fence.md). The
# edge's ``[gnss.fence]`` and the rules engine's ``kind = "fence"`` rule both default to these, so that the
# readings the edge flags and the warnings the engine raises agree unless an operator sets them apart.

#: Metres from the registered position beyond which a station is outside its fence.
DEFAULT_FENCE_RADIUS_M = 100.0
#: Speed over ground (m/s) above which a station counts as moving.
DEFAULT_MAX_SPEED_M_S = 1.0
#: Seconds of the window over which displacement is measured.
DEFAULT_MOVE_WINDOW_S = 600.0
#: Metres of displacement within the window above which a station counts as moving.
DEFAULT_MAX_DISPLACEMENT_M = 30.0
