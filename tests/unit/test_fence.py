"""The electronic fence (docs/fence.md): geometry, NMEA parsing (the simulator's sentences through the edge's
parser), the edge's fence state and flagging, its configuration, and the rules engine's ``fence`` kind."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from stationpipe.edge.config import EdgeConfig, GnssReceiver
from stationpipe.edge.fence import POSITION_PARAMETERS, FenceState
from stationpipe.edge.nmea import Fix, parse_fix
from stationpipe.kernel.errors import ConfigError, DeviceError
from stationpipe.kernel.geo import KNOT_M_S, MEAN_EARTH_RADIUS_M, haversine_m, offset
from stationpipe.kernel.nmea0183 import frame
from stationpipe.kernel.reading import Flag, Reading
from stationpipe.rules.kinds import build
from stationpipe.rules.kinds.fence import FenceKind
from stationpipe.rules.rule_models import Rule
from stationpipe.simulators.gnss_sensor import gga, nmea_angle, rmc
from tests.unit.rules_helpers import WATER

T0 = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)
LAT, LON = 30.25, 120.16
ONE_DEGREE = math.pi * MEAN_EARTH_RADIUS_M / 180  # 111 195.08 m of great circle


# --- geometry -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b", "metres"),
    [
        ((0.0, 0.0), (1.0, 0.0), ONE_DEGREE),  # a degree of latitude
        ((0.0, 0.0), (0.0, 1.0), ONE_DEGREE),  # a degree of longitude on the equator
        ((60.0, 10.0), (60.0, 11.0), 55_597.01),  # spherical law of cosines: acos(.75 + .25 cos 1°) R
        ((0.0, 0.0), (0.0, 180.0), math.pi * MEAN_EARTH_RADIUS_M),  # half the great circle
        ((LAT, LON), (LAT, LON), 0.0),
    ],
)
def test_haversine(a: tuple[float, float], b: tuple[float, float], metres: float) -> None:
    if a[0] == 60.0:  # the hand value, from a second formula
        assert math.acos(0.75 + 0.25 * math.cos(math.radians(1))) * MEAN_EARTH_RADIUS_M == pytest.approx(
            metres, abs=0.01
        )
    assert haversine_m(*a, *b) == pytest.approx(metres, rel=1e-6)
    assert haversine_m(*b, *a) == pytest.approx(metres, rel=1e-6)


@pytest.mark.parametrize(("north", "east"), [(100.0, 0.0), (0.0, 100.0), (-30.0, 40.0), (500.0, -500.0)])
def test_offset_then_distance(north: float, east: float) -> None:
    lat, lon = offset(LAT, LON, north, east)
    assert haversine_m(LAT, LON, lat, lon) == pytest.approx(math.hypot(north, east), rel=1e-4)


def test_knot() -> None:
    assert pytest.approx(5.144444, abs=1e-6) == 10 * KNOT_M_S  # NIST SP 811: 1 kn = 0.514 444 m/s


# --- NMEA -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        # the classic GGA example: 48°07.038' N, 11°31.000' E, fix quality 1
        (
            b"$GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,*47\r\n",
            (48.1173, 11.5166667, None),
        ),
        (
            b"noise\x00$GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,*47",
            (48.1173, 11.5166667, None),
        ),
        # RMC with 10 knots over ground, southern and western hemispheres
        (
            frame("GPRMC,081836,A,3751.65,S,14507.36,W,010.0,360.0,130998,011.3,E"),
            (-37.860833, -145.122667, 5.144444),
        ),
        (
            b"$GPRMC,081836,A,3751.65,S,14507.36,E,000.0,360.0,130998,011.3,E*62",
            (-37.860833, 145.122667, 0.0),
        ),
        (frame("GPGGA,123519,,,,,0,00,99.9,,M,,M,,"), None),  # quality 0: no fix
        (frame("GPRMC,123519,V,,,,,,,230394,,,N"), None),  # status V
    ],
)
def test_parse_fix(line: bytes, expected: tuple[float, float, float | None] | None) -> None:
    fix = parse_fix(line, T0)
    assert fix is not None
    assert fix.ts == T0
    if expected is None:
        assert not fix.valid
        return
    assert fix.valid
    assert fix.lat == pytest.approx(expected[0], abs=1e-6)
    assert fix.lon == pytest.approx(expected[1], abs=1e-6)
    assert fix.speed == (None if expected[2] is None else pytest.approx(expected[2], abs=1e-6))


@pytest.mark.parametrize(
    "line",
    [
        b"$GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,*48",  # wrong checksum
        b"$GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,",  # none at all
        b"\xff\xfe garbage without a dollar",
        b"$GPGGA",
    ],
)
def test_bad_lines_are_errors_not_fixes(line: bytes) -> None:
    with pytest.raises(DeviceError):
        parse_fix(line, T0)


def test_other_sentences_are_skipped() -> None:
    assert parse_fix(b"$GPGSV,3,1,11,03,03,111,00,04,15,270,00,06,01,010,00,13,06,292,00*74", T0) is None


@pytest.mark.parametrize(
    ("value", "lat", "text"),
    [
        (30.25, True, ("3015.00000", "N")),
        (-37.860833, True, ("3751.64998", "S")),
        (120.16, False, ("12009.60000", "E")),
        (-5.5, False, ("00530.00000", "W")),
        (29.9999999999, True, ("3000.00000", "N")),  # 59.9999999' is not written as 60'
    ],
)
def test_nmea_angle(value: float, lat: bool, text: tuple[str, str]) -> None:
    assert nmea_angle(value, lat=lat) == text


@pytest.mark.parametrize("position", [(LAT, LON), (-33.8688, 151.2093), (51.4778, -0.0015), (0.0, 0.0)])
def test_simulated_sentences_parse_back(position: tuple[float, float]) -> None:
    for line in (gga("GN", T0, position), rmc("GN", T0, position, 2.5, 90.0)):
        fix = parse_fix(line, T0)
        assert fix is not None
        assert fix.valid
        assert haversine_m(*position, fix.lat or 0, fix.lon or 0) < 0.05  # 1e-5 minute is 1.9 cm
    fix = parse_fix(rmc("GN", T0, position, 2.5, 90.0), T0)
    assert fix is not None
    assert fix.speed == pytest.approx(2.5, abs=1e-3)
    for line in (gga("GN", T0, None), rmc("GN", T0, None, 0, 0)):
        fix = parse_fix(line, T0)
        assert fix is not None
        assert not fix.valid


# --- the edge's fence state -----------------------------------------------------------------------------


def receiver(**fence: Any) -> GnssReceiver:
    return GnssReceiver.model_validate(
        {"port": "/dev/null", "max_age": 5, "fence": {"lat": LAT, "lon": LON, "radius": 100, **fence}}
    )


def fix_at(seconds: float, north: float, east: float = 0.0, speed: float | None = 0.0) -> Fix:
    lat, lon = offset(LAT, LON, north, east)
    return Fix(lat, lon, speed, valid=True, ts=T0 + timedelta(seconds=seconds))


def water(flag: Flag = Flag.N, seconds: float = 0) -> Reading:
    return Reading("s1", "nh3n", 0.5, "mg/L", T0 + timedelta(seconds=seconds), flag)


def test_inside_at_rest_flags_nothing() -> None:
    state = FenceState("s1", receiver())
    for t in range(10):
        state.update(fix_at(t, north=3.0))
    now = T0 + timedelta(seconds=9)
    assert not state.outside(now)
    assert not state.moving(now)
    assert state.apply([water()], now) == [water()]
    values = {r.parameter: r for r in state.readings(now)}
    assert set(values) == set(POSITION_PARAMETERS)
    assert values["fence_dist"].value == pytest.approx(3.0, rel=1e-3)
    assert values["fence_dist"].unit == "m"
    assert values["gnss_lat"].unit == "deg"
    assert {r.flag for r in values.values()} == {Flag.N}


def test_outside_flags_normal_readings_only() -> None:
    state = FenceState("s1", receiver(flag="M"))
    state.update(fix_at(0, north=150.0))
    now = T0 + timedelta(seconds=1)
    assert state.outside(now)
    flagged = state.apply([water(), water(Flag.C), water(Flag.B)], now)
    assert [r.flag for r in flagged] == [Flag.M, Flag.C, Flag.B]
    assert flagged[0].value == 0.5
    assert flagged[0].ts == water().ts
    assert {r.flag for r in state.readings(now)} == {Flag.N}  # the position itself is a good measurement


def test_radius_is_exclusive() -> None:
    state = FenceState("s1", receiver(radius=150.1))
    state.update(fix_at(0, north=150.0))
    assert not state.outside(T0)


def test_moving_by_speed_or_by_displacement() -> None:
    fast = FenceState("s1", receiver(max_speed=1.0))
    fast.update(fix_at(0, north=0.0, speed=1.5))
    assert fast.moving(T0)
    assert not fast.outside(T0)
    creeping = FenceState("s1", receiver(window=60, max_displacement=30))
    for t in range(0, 61, 10):  # 0.6 m/s: slow, but 36 m within the minute
        creeping.update(fix_at(t, north=0.6 * t, speed=None))
    assert creeping.displacement() == pytest.approx(36.0, rel=1e-3)
    assert creeping.moving(T0 + timedelta(seconds=60))
    for t in range(61, 200, 10):  # it stops at 36 m: the window forgets the move
        creeping.update(fix_at(t, north=36.0, speed=None))
    assert creeping.displacement() == pytest.approx(0.0, abs=1e-6)
    assert not creeping.moving(T0 + timedelta(seconds=191))


def test_stale_or_invalid_fix_means_unknown_position() -> None:
    state = FenceState("s1", receiver())
    state.update(fix_at(0, north=500.0))
    state.update(Fix(None, None, None, valid=False, ts=T0 + timedelta(seconds=1)))
    assert state.outside(T0 + timedelta(seconds=5))
    later = T0 + timedelta(seconds=6)  # max_age 5 s
    assert not state.outside(later)
    assert state.apply([water()], later) == [water()]
    position = state.readings(later)
    assert {r.flag for r in position} == {Flag.B}
    assert {r.value for r in position} == {None}
    assert {r.ts for r in position} == {later}


# --- configuration --------------------------------------------------------------------------------------


def edge_doc(tmp_path: Path, fence: dict[str, Any], station: str = "w1") -> dict[str, Any]:
    return {
        "station": station,
        "state_dir": str(tmp_path),
        "mqtt": {"client_id": "e"},
        "gnss": {"port": "/dev/ttyUSB2", "fence": fence},
        "devices": [{"name": "sonde", "profile": "p.toml", "transport": {"host": "127.0.0.1"}}],
    }


def test_fence_centre_from_the_registry(tmp_path: Path) -> None:
    from tests.unit.rules_helpers import REGISTRY  # noqa: PLC0415 - the registry text of the rules tests

    registry = tmp_path / "registry.toml"
    registry.write_text(REGISTRY, encoding="utf-8")
    cfg = EdgeConfig.model_validate(edge_doc(tmp_path, {"registry": str(registry)}))
    assert cfg.gnss is not None
    assert cfg.gnss.fence.centre("w1") == (WATER.lat, WATER.lon)
    assert cfg.gnss.fence.radius == 100.0
    assert cfg.gnss.fence.flag == "D"
    with pytest.raises(ValidationError, match="not in the registry"):
        EdgeConfig.model_validate(edge_doc(tmp_path, {"registry": str(registry)}, station="nowhere"))


@pytest.mark.parametrize(
    ("fence", "message"),
    [
        ({}, "either lat and lon, or registry"),
        ({"lat": 30.0}, "both lat and lon"),
        ({"lat": 30.0, "lon": 120.0, "registry": "r.toml"}, "either lat and lon, or registry"),
        ({"lat": 30.0, "lon": 120.0, "radius": 0}, "greater than 0"),
        ({"lat": 30.0, "lon": 120.0, "flag": "N"}, "'D', 'M' or 'F'"),
    ],
)
def test_fence_config_errors(tmp_path: Path, fence: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        EdgeConfig.model_validate(edge_doc(tmp_path, fence))


def test_bad_registry_file_names_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"missing\.toml"):
        EdgeConfig.model_validate(edge_doc(tmp_path, {"registry": str(tmp_path / "missing.toml")}))


# --- the rules engine's fence kind ----------------------------------------------------------------------

_ADAPTER: TypeAdapter[Any] = TypeAdapter(Rule)


def fence_kind(**rule: Any) -> FenceKind:
    built = build(_ADAPTER.validate_python({"name": "fence", "kind": "fence", **rule}))
    assert isinstance(built, FenceKind)
    return built


@pytest.mark.parametrize(
    ("parameter", "value", "level", "words"),
    [
        ("fence_dist", 100.0, 0, ""),  # on the radius: inside
        ("fence_dist", 100.5, 2, "站点越界"),
        (
            "fence_dist",
            350.0,
            2,
            "station outside its fence: 350 m from its registered position (radius 100 m)",
        ),
        ("gnss_speed", 1.0, 0, ""),
        ("gnss_speed", 1.2, 2, "站点移动: 对地速度 1.2 m/s"),
        ("fence_move", 30.0, 0, ""),
        ("fence_move", 45.0, 2, "station moving: displacement within the window 45 m (limit 30 m)"),
    ],
)
def test_fence_kind(parameter: str, value: float, level: int, words: str) -> None:
    kind = fence_kind()
    assert kind.watches(WATER, parameter)
    assert not kind.watches(WATER, "nh3n")
    unit = {"fence_dist": "m", "gnss_speed": "m/s", "fence_move": "m"}[parameter]
    outcome = kind.evaluate(WATER, Reading("w1", parameter, value, unit, T0), {})
    assert outcome is not None
    assert outcome.level == level
    assert outcome.clear is (level == 0)
    assert words in outcome.message


def test_fence_kind_limits_are_configurable_and_no_fix_says_nothing() -> None:
    kind = fence_kind(radius=500, max_speed=3, max_displacement=80, level=3)
    outcome = kind.evaluate(WATER, Reading("w1", "fence_dist", 600.0, "m", T0), {})
    assert outcome is not None
    assert outcome.level == 3
    assert outcome.limit == 500
    assert kind.evaluate(WATER, Reading("w1", "fence_dist", None, "m", T0, Flag.B), {}) is None
    with pytest.raises(ValidationError, match="give no parameters"):
        fence_kind(parameters=["fence_dist"])
