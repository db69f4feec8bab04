"""Fleet mode: N plausible Zhejiang stations (two water to one air), with the station registry, the
simulator config and one edge config per station written into a folder.

Everything is a pure function of (N, seed, base port): the same arguments give the same fleet.
Station *i* is served on Modbus TCP port ``base_port + i``, and every station measures 10 parameters:
water stations show a sonde (unit 1, 5 parameters; every fifth one the scaled-int16 model), a nutrient
analyser (unit 2: CODMn, NH3-N, TP, TN) and a chlorophyll-a analyser (unit 3); air stations an air logger
(unit 1: SO2, NO2, CO, O3, PM10, PM2.5) and a weather station (unit 2: wind direction and speed, air
temperature, relative humidity), as national ambient air stations measure meteorology too.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass

from stationpipe.kernel.catalogue import Kind
from stationpipe.kernel.registry import StationInfo, WaterBody, WaterClass
from stationpipe.simulators.zhejiang import CITIES, LAKES, RIVERS

_TARGETS = (WaterClass.I, WaterClass.II, WaterClass.III, WaterClass.IV)
_TARGET_WEIGHTS = (5, 45, 40, 10)


@dataclass(frozen=True)
class FleetStation:
    """One generated station: registry row, the class its water shows, where it is served."""

    info: StationInfo
    port: int
    seed: int
    shows: WaterClass = WaterClass.II
    air_level: float = 1.0

    def devices(self) -> list[tuple[str, str, int]]:
        """``(device name, profile file stem, unit)`` of each instrument."""
        if self.info.kind is Kind.AIR:
            return [("air", "air_station", 1), ("weather", "weather_station", 2)]
        sonde = "water_sonde_int16" if self.seed % 5 == 0 else "water_five"
        return [("sonde", sonde, 1), ("nutrients", "water_nutrients", 2), ("algae", "water_algae", 3)]


def _near(rng: random.Random, city: str, at: tuple[float, float] | None = None) -> tuple[float, float]:
    lat, lon = at or CITIES[city][1:3]
    spread = 0.05 if city == "舟山" or at else 0.15  # islands and lakes: stay close
    return round(lat + rng.uniform(-spread, spread), 4), round(lon + rng.uniform(-spread, spread), 4)


def _shown(rng: random.Random, target: WaterClass) -> WaterClass:
    """Most sections meet their target; some are a class worse (warnings), a few a class better."""
    roll = rng.random()
    if roll < 0.15:
        return WaterClass(min(target + 1, WaterClass.WORSE_THAN_V))
    if roll < 0.2 and target > WaterClass.I:
        return WaterClass(target - 1)
    return target


def _water(i: int, rng: random.Random, used: dict[str, int]) -> tuple[StationInfo, WaterClass]:
    target = rng.choices(_TARGETS, _TARGET_WEIGHTS)[0]
    if rng.random() < 0.1:
        place, (city, river, *centre) = rng.choice(list(LAKES.items()))
        body, name = WaterBody.LAKE_RESERVOIR, place
        lat, lon = _near(rng, city, (centre[0], centre[1]))
    else:
        river = rng.choice(list(RIVERS))
        city, place = rng.choice(RIVERS[river])
        body, name = WaterBody.RIVER, f"{river}{place}"
        lat, lon = _near(rng, city)
    used[name] = used.get(name, 0) + 1
    suffix = f"{used[name]}号" if used[name] > 1 else ""
    info = StationInfo(
        id=f"zj-{CITIES[city][0]}-w{i:04d}",
        name=f"{name}{suffix}",
        kind=Kind.WATER,
        city=city,
        river=river,
        section=f"{place}{suffix}断面",
        target_class=target,
        water_body=body,
        lat=lat,
        lon=lon,
    )
    return info, _shown(rng, target)


def _air(i: int, rng: random.Random, used: dict[str, int]) -> StationInfo:
    city = list(CITIES)[i % len(CITIES)]
    place = rng.choice(CITIES[city][3])
    name = f"{city}{place}"
    used[name] = used.get(name, 0) + 1
    lat, lon = _near(rng, city)
    return StationInfo(
        id=f"zj-{CITIES[city][0]}-a{i:04d}",
        name=f"{name}{used[name]}号" if used[name] > 1 else name,
        kind=Kind.AIR,
        city=city,
        lat=lat,
        lon=lon,
    )


def plan(count: int, seed: int = 1, base_port: int = 20000) -> list[FleetStation]:
    """``count`` stations: every third is an air station, the others water sections."""
    rng = random.Random(seed)  # noqa: S311 - simulation, not crypto
    used: dict[str, int] = {}
    out = []
    for i in range(count):
        port, dev_seed = base_port + i, seed * 100_000 + i
        if i % 3 == 2:
            level = round(rng.uniform(0.6, 1.8), 2)
            out.append(FleetStation(_air(i, rng, used), port, dev_seed, air_level=level))
        else:
            info, shows = _water(i, rng, used)
            out.append(FleetStation(info, port, dev_seed, shows=shows))
    return out


def q(text: str) -> str:
    """A TOML basic string (JSON string syntax is valid TOML)."""
    return json.dumps(text, ensure_ascii=False)
