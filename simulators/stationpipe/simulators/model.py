"""Values a simulated station shows at any instant: a pure, seeded function of time.

Each parameter follows ``baseline + diurnal + drift + noise``, clipped to ``[low, high]``:

- *diurnal*: a cosine peaking at ``peak_hour`` (local time, UTC+8), or for ``daylight`` parameters
  (DO, O3) a curve that is flat at night and rises with the sun, peaking at ``peak_hour``; water
  temperature peaks late in the afternoon (it lags the sun);
- *drift*: a slow wander over days (two long sine waves whose phases come from the seed);
- *noise*: Gaussian, drawn from a generator seeded with (seed, parameter, second).

So the same seed and instant always give the same value (constant within each second): a test can
recompute what was served.
Values are in the catalogue's canonical units (water mg/L, air ug/m3, CO mg/m3).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType

from stationpipe.kernel.registry import WaterClass
from stationpipe.simulators.behaviours import AIR, SITE, WATER, Behaviour

_DAY = 86_400.0
_CST = 8 * 3600.0  # China Standard Time offset, so "afternoon" means afternoon at the station
_DRIFT_PERIODS = (9.3 * _DAY, 2.7 * _DAY)  # slow wander: days, never a multiple of a day
_MEAN_LIGHT = 1 / math.pi  # mean of max(0, sin) over a day, so daylight curves keep their baseline


def local_hour(at: datetime) -> float:
    """Hour of day (0–24, fractional) at the station, China Standard Time."""
    return ((at.timestamp() + _CST) % _DAY) / 3600.0


def diurnal(b: Behaviour, hour: float) -> float:
    """The daily component at local ``hour`` (mean zero over a day)."""
    if b.shape == "daylight":
        shifted = hour - (b.peak_hour - 12.0)  # the sun peaks at 12; the parameter peaks later
        light = max(0.0, math.sin(math.pi * (shifted - 6.0) / 12.0))
        return b.swing * (light - _MEAN_LIGHT) / (1 - _MEAN_LIGHT)
    return b.swing * math.cos(2 * math.pi * (hour - b.peak_hour) / 24.0)


def drift(b: Behaviour, seed: int, parameter: str, t: float) -> float:
    """A slow, seeded wander of amplitude ``b.drift`` (same seed, same wander)."""
    if b.drift == 0:
        return 0.0
    rng = random.Random(f"{seed}:{parameter}:drift")  # noqa: S311 - simulation, not crypto
    long, short = (math.sin(2 * math.pi * t / p + rng.uniform(0, 2 * math.pi)) for p in _DRIFT_PERIODS)
    return b.drift * (0.7 * long + 0.3 * short)


@dataclass(frozen=True)
class StationModel:
    """The simulated truth of one station: ``value(parameter, instant)``."""

    behaviours: MappingProxyType[str, Behaviour]
    seed: int = 0

    @classmethod
    def typical(cls, water_class: WaterClass, seed: int = 0, air_level: float = 1.0) -> StationModel:
        """A site whose water sits in ``water_class`` on most days; its air is a typical city's times
        ``air_level`` (1.0 is a good-to-moderate day in a Zhejiang city); its weather, park gases and
        gamma dose rate are those of a quiet day (:data:`stationpipe.simulators.behaviours.SITE`)."""
        air = {code: b.scaled(air_level) for code, b in AIR.items()}
        return cls(MappingProxyType({**WATER[water_class], **air, **SITE}), seed)

    def value(self, parameter: str, at: datetime) -> float:
        """The true value at ``at``; ``KeyError`` when this station does not measure ``parameter``."""
        b = self.behaviours[parameter]
        t = math.floor(at.timestamp())  # an instrument updates its registers once a second
        rng = random.Random(f"{self.seed}:{parameter}:{t}")  # noqa: S311 - simulation, not crypto
        raw = (
            b.baseline
            + diurnal(b, ((t + _CST) % _DAY) / 3600.0)
            + drift(b, self.seed, parameter, t)
            + rng.gauss(0.0, b.noise)
        )
        return min(max(raw, b.low), b.high)
