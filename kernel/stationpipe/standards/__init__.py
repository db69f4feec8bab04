"""Evaluation standards as pure, versioned tables: GB 3838-2002, HJ 633 (2012/2026), GB 3095 (2012/2026).

Modules:

- :mod:`~stationpipe.standards.gb3838` — the class of one value of one water item, exceedance multiples;
- :mod:`~stationpipe.standards.gb3838_section` — single-factor class of a section, worst items, main
  pollutants;
- :mod:`~stationpipe.standards.hj633` — IAQI breakpoints and the IAQI of one concentration;
- :mod:`~stationpipe.standards.aqi` — AQI, level, primary pollutant, missing-pollutant rule, ppb conversion;
- :mod:`~stationpipe.standards.gb3095` — class II limits for exceedance checks;
- :mod:`~stationpipe.standards.averages` — hourly, O3 8-hour and daily means with their validity thresholds;
- :mod:`~stationpipe.standards.air_stats` — official air statistics of a station-day (HJ 663 2013 / 2026
  options), the good-day share;
- :mod:`~stationpipe.standards.water_stats` — a section's period means and class, capture, headline shares;
- :mod:`~stationpipe.standards.gb3838_source` — drinking-water sources: Tables 2-3, compliance rate.

Nothing here does I/O; every table is immutable data, and each version is selectable by name or by date.
"""

from __future__ import annotations

from stationpipe.standards.aqi import AqiResult, compute_aqi, level_of, ppb_to_concentration
from stationpipe.standards.averages import Average, daily_mean, hourly_mean, o3_8h_mean
from stationpipe.standards.common import Period
from stationpipe.standards.gb3095 import Gb3095Version
from stationpipe.standards.gb3838 import classify
from stationpipe.standards.gb3838_section import SectionResult, evaluate_readings, evaluate_values
from stationpipe.standards.hj633 import AqiStandard, Item, iaqi, standard_for

__all__ = [
    "AqiResult",
    "AqiStandard",
    "Average",
    "Gb3095Version",
    "Item",
    "Period",
    "SectionResult",
    "classify",
    "compute_aqi",
    "daily_mean",
    "evaluate_readings",
    "evaluate_values",
    "hourly_mean",
    "iaqi",
    "level_of",
    "o3_8h_mean",
    "ppb_to_concentration",
    "standard_for",
]
