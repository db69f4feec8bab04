"""Values a simulated station shows at any instant: a pure, seeded function of time.

Each parameter follows ``baseline + diurnal + drift + noise``. Noise is drawn from a generator seeded
with (seed, parameter, second), so the same seed and instant always give the same value — a test can
recompute what was served.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType

from station.registry import WaterClass

_DAY = 86_400.0
_CST = 8 * 3600.0  # China Standard Time offset, so "afternoon" means afternoon at the station


@dataclass(frozen=True, slots=True)
class Behaviour:
    """How one parameter moves: mean, daily swing (peak hour, local time), noise SD, limits."""

    baseline: float
    swing: float = 0.0
    peak_hour: float = 15.0
    noise: float = 0.0
    low: float = 0.0
    high: float = math.inf


def _row(base: float, swing: float, peak: float, noise: float, high: float = math.inf) -> Behaviour:
    return Behaviour(base, swing, peak, noise, 0.0, high)


#: Typical sections: a clean class II river section and a polluted class IV one (mg/L unless noted).
TYPICAL: MappingProxyType[WaterClass, MappingProxyType[str, Behaviour]] = MappingProxyType(
    {
        WaterClass.II: MappingProxyType(
            {
                "temp": _row(18.0, 1.5, 17, 0.05),
                "ph": _row(7.6, 0.15, 15, 0.01, 14),
                "do": _row(8.2, 0.9, 15, 0.05),
                "cond": _row(320.0, 8, 5, 2.0),
                "turb": _row(8.0, 1.0, 12, 0.4),
                "codmn": _row(3.1, 0.2, 10, 0.05),
                "nh3n": _row(0.32, 0.04, 8, 0.01),
                "tp": _row(0.07, 0.01, 8, 0.002),
                "tn": _row(1.1, 0.1, 8, 0.02),
            }
        ),
        WaterClass.IV: MappingProxyType(
            {
                "temp": _row(20.0, 1.5, 17, 0.05),
                "ph": _row(7.2, 0.1, 15, 0.01, 14),
                "do": _row(4.0, 0.8, 15, 0.05),
                "cond": _row(650.0, 15, 5, 3.0),
                "turb": _row(25.0, 3.0, 12, 1.0),
                "codmn": _row(8.4, 0.5, 10, 0.1),
                "nh3n": _row(1.3, 0.1, 8, 0.02),
                "tp": _row(0.26, 0.02, 8, 0.005),
                "tn": _row(2.6, 0.2, 8, 0.05),
            }
        ),
    }
)


@dataclass(frozen=True)
class StationModel:
    """The simulated truth of one station: ``value(parameter, instant)``."""

    behaviours: MappingProxyType[str, Behaviour]
    seed: int = 0

    @classmethod
    def typical(cls, water_class: WaterClass, seed: int = 0) -> StationModel:
        """A section that sits in ``water_class`` on most days."""
        return cls(TYPICAL[water_class], seed)

    def value(self, parameter: str, at: datetime) -> float:
        """The true value at ``at``; ``KeyError`` when this station does not measure ``parameter``."""
        b = self.behaviours[parameter]
        t = at.timestamp()
        phase = 2 * math.pi * (((t + _CST) / _DAY) - b.peak_hour / 24)
        rng = random.Random(f"{self.seed}:{parameter}:{int(t)}")  # noqa: S311 - simulation, not crypto
        raw = b.baseline + b.swing * math.cos(phase) + rng.gauss(0.0, b.noise)
        return min(max(raw, b.low), b.high)
