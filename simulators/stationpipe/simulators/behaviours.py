"""Typical behaviour of each parameter: water sections per GB 3838 class, and city air.

Water rows keep every evaluated item (DO, CODMn, NH3-N, TP) inside its class at all hours: baseline
± swing ± drift ± 3 noise SD stays between the class's limits (tests/unit/test_sim_model.py checks it).
Units are the catalogue's: mg/L, degC, uS/cm, NTU, chlorophyll-a ug/L, ORP mV; air ug/m3, CO mg/m3.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Literal

from stationpipe.kernel.registry import WaterClass


@dataclass(frozen=True, slots=True)
class Behaviour:
    """How one parameter moves: mean, daily swing (peak hour, local time), noise SD, drift, limits."""

    baseline: float
    swing: float = 0.0
    peak_hour: float = 15.0
    noise: float = 0.0
    drift: float = 0.0
    shape: Literal["cosine", "daylight"] = "cosine"
    low: float = 0.0
    high: float = math.inf

    def scaled(self, factor: float) -> Behaviour:
        """The same shape with every amplitude multiplied (a dirtier or cleaner site)."""
        return replace(
            self,
            baseline=self.baseline * factor,
            swing=self.swing * factor,
            noise=self.noise * factor,
            drift=self.drift * factor,
        )


def _b(base: float, swing: float, peak: float, noise: float, drift: float) -> Behaviour:
    return Behaviour(base, swing, peak, noise, drift)


def _sun(base: float, swing: float, peak: float, noise: float, drift: float) -> Behaviour:
    """A parameter that follows daylight (photosynthesis for DO, photochemistry for O3)."""
    return Behaviour(base, swing, peak, noise, drift, "daylight")


def _section(
    do: tuple[float, float],
    codmn: float,
    nh3n: float,
    tp: float,
    tn: float,
    *,
    chla: float,
    temp: float = 18.0,
    cond: float = 320.0,
    turb: float = 8.0,
) -> MappingProxyType[str, Behaviour]:
    """One class's section: the items that decide the class, plus the conventional five and chlorophyll-a."""
    return MappingProxyType(
        {
            "temp": _b(temp, 1.5, 17, 0.05, 0.8),  # water warms after the air: peaks at 17:00
            "ph": Behaviour(7.6, 0.15, 15, 0.01, 0.05, high=14.0),
            "do": _sun(do[0], do[1], 15, 0.05, 0.2 if do[0] > 3 else 0.15),
            "cond": _b(cond, cond * 0.025, 5, cond * 0.006, cond * 0.03),
            "turb": _b(turb, turb * 0.12, 12, turb * 0.05, turb * 0.06),
            "codmn": _b(codmn, codmn * 0.06, 10, codmn * 0.012, codmn * 0.04),
            "nh3n": _b(nh3n, nh3n * 0.045, 8, nh3n * 0.011, nh3n * 0.03),
            "tp": _b(tp, tp * 0.045, 8, tp * 0.011, tp * 0.03),
            "tn": _b(tn, tn * 0.08, 8, tn * 0.02, tn * 0.04),
            "chla": _sun(chla, chla * 0.3, 15, chla * 0.04, chla * 0.2),  # algae grow with the sun, as DO
            # redox potential (mV) of oxygenated surface water, for probes that report it (Aqua TROLL 400);
            # a plausibility choice, not a standard's number (GB 3838 sets no ORP limit)
            "orp": Behaviour(250.0, 20.0, 15, 3.0, 15.0, low=-500.0, high=800.0),
        }
    )


#: Typical sections by class: a clean class I headwater, a clean class II river section, … 劣Ⅴ.
#: Chlorophyll-a (ug/L) rises with the nutrients: a few ug/L in clean water, tens in a
#: eutrophic 劣Ⅴ section. GB 3838 sets no chlorophyll-a limit; these are simulation plausibility choices
#: (the usual oligotrophic-to-eutrophic span of lake trophic-state practice), not a standard's numbers.
WATER: MappingProxyType[WaterClass, MappingProxyType[str, Behaviour]] = MappingProxyType(
    {
        WaterClass.I: _section((9.0, 0.8), 1.4, 0.08, 0.012, 0.6, chla=1.5, temp=16.0, cond=180.0, turb=3.0),
        WaterClass.II: _section((8.2, 0.9), 3.1, 0.32, 0.07, 1.1, chla=3.0),
        WaterClass.III: _section((6.2, 0.8), 5.0, 0.75, 0.15, 1.6, chla=6.0, cond=450.0, turb=15.0),
        WaterClass.IV: _section(
            (4.0, 0.8), 8.2, 1.25, 0.25, 2.6, chla=12.0, temp=20.0, cond=650.0, turb=25.0
        ),
        WaterClass.V: _section(
            (2.8, 0.4), 12.5, 1.75, 0.35, 3.4, chla=20.0, temp=21.0, cond=800.0, turb=35.0
        ),
        WaterClass.WORSE_THAN_V: _section(
            (1.4, 0.3), 17.0, 3.2, 0.6, 5.0, chla=35.0, temp=22.0, cond=1100.0, turb=45.0
        ),
    }
)

#: A Zhejiang city on a good-to-moderate day (ug/m3; CO mg/m3): traffic peaks in the morning,
#: ozone follows the afternoon sun.
AIR: MappingProxyType[str, Behaviour] = MappingProxyType(
    {
        "so2": _b(9.0, 3.0, 10, 0.6, 2.0),
        "no2": _b(32.0, 12.0, 8, 2.0, 6.0),
        "no": _b(10.0, 8.0, 8, 1.5, 4.0),
        "nox": _b(48.0, 24.0, 8, 3.0, 10.0),
        "co": _b(0.65, 0.15, 8, 0.03, 0.1),
        "o3": _sun(70.0, 85.0, 15, 3.0, 10.0),
        "pm10": _b(52.0, 10.0, 8, 3.0, 15.0),
        "pm25": _b(30.0, 7.0, 8, 2.0, 10.0),
    }
)

#: Meteorology, toxic gases at a chemical-park boundary and the ambient gamma dose rate: what a station of
#: the chemical-park (docs/chemical_park.md) or radiation (docs/radiation.md) programme shows on a quiet
#: day. These are simulation choices, not standards' numbers: gases (mg/m3) sit far below every limit;
#: gamma (nGy/h) sits near the national outdoor mean of the 1983-1990 survey (about 62 nGy/h) plus the
#: cosmic-ray response of a high-pressure ion chamber, with counting noise of a few nGy/h and a small
#: early-morning radon maximum; rain is zero (a ``rain`` scenario makes it rain). Wind direction
#: (degrees the wind blows from) wanders around a south-easterly summer monsoon.
SITE: MappingProxyType[str, Behaviour] = MappingProxyType(
    {
        "wind_dir": Behaviour(135.0, 25.0, 14, 6.0, 40.0, low=0.0, high=359.9),
        "wind_speed": _b(2.6, 1.0, 14, 0.3, 0.6),
        "rain": Behaviour(0.0),
        "air_temp": _b(24.0, 4.0, 14, 0.1, 2.0),
        "rh": Behaviour(72.0, 12.0, 5, 1.0, 6.0, high=100.0),
        "pressure": Behaviour(1008.0, 1.5, 10, 0.1, 6.0, low=950.0),
        "benzene": _b(0.004, 0.0015, 8, 0.0004, 0.001),
        "toluene": _b(0.018, 0.006, 8, 0.002, 0.004),
        "xylene": _b(0.012, 0.004, 8, 0.0015, 0.003),
        "h2s": _b(0.003, 0.001, 6, 0.0004, 0.001),
        "nh3": _b(0.05, 0.015, 10, 0.005, 0.01),
        "cl2": _b(0.006, 0.002, 12, 0.001, 0.001),
        "nmhc": _b(0.65, 0.15, 7, 0.04, 0.1),
        "tvoc": _b(0.25, 0.06, 7, 0.02, 0.05),
        "gamma": _b(86.0, 1.5, 6, 2.0, 1.5),
    }
)
