"""Rule kinds: each turns a rule definition into a pure evaluator (see :mod:`stationpipe.rules.kinds.base`).

=========== ===============================================================================
section     GB 3838 item vs the section's target class, docs/domain.md levels 1-4
target      custom concentration targets per section (TN / TP control), same levels
source      水源地: GB 3838 Tables 2-3 limits at drinking-water source stations, same levels
aqi         AQI of hourly means (HJ 633 version by config or date), levels for AQI > 100
threshold   above / below a value, with a separate clear value (hysteresis)
rate        a rise of X within T
flatline    N identical consecutive values
flags       instrument flags (D/M/C/B…) persisting for T
trend       Theil-Sen trend predicts crossing the limit within a horizon (names the time)
deadman     no message for T, on a timer (:mod:`stationpipe.rules.kinds.deadman`)
gas_instant 化工园区: each gas reading vs its limit (MAC…), naming park and wind (docs/chemical_park.md)
gas_average 化工园区: the mean over T (PC-STEL: 15 min) vs its limit, naming the park and the wind
gas_rise    化工园区: a rapid rise of X within T, naming the park and the wind
background  辐射: above the station's own background mean + n sd, rain-induced told apart (docs/radiation.md)
fence       电子围栏: station outside its registered radius, or moving (docs/fence.md)
upstream    上游来水预警: a source's warning, at the sections downstream, with the arrival window (on changes)
=========== ===============================================================================
"""

from __future__ import annotations

from stationpipe.rules.kinds.aqi import AqiKind
from stationpipe.rules.kinds.background import BackgroundKind
from stationpipe.rules.kinds.base import Kind, Outcome, Series
from stationpipe.rules.kinds.fence import FenceKind
from stationpipe.rules.kinds.gas import GasAverageKind, GasInstantKind, GasRiseKind
from stationpipe.rules.kinds.section import SectionKind, SourceKind, TargetKind
from stationpipe.rules.kinds.simple import FlagsKind, FlatlineKind, RateKind, ThresholdKind
from stationpipe.rules.kinds.trend import TrendKind
from stationpipe.rules.rule_models import (
    AnyRule,
    AqiRule,
    BackgroundRule,
    DeadmanRule,
    FenceRule,
    FlagsRule,
    FlatlineRule,
    GasAverageRule,
    GasInstantRule,
    GasRiseRule,
    RateRule,
    SectionRule,
    SourceRule,
    TargetRule,
    ThresholdRule,
    TrendRule,
    UpstreamRule,
)

__all__ = ["Kind", "Outcome", "Series", "build"]


def build(rule: AnyRule) -> Kind | None:  # noqa: C901, PLR0911, PLR0912 - one line per kind is the clearest table
    """The evaluator of a per-reading rule; ``None`` for the timer-driven deadman and the change-driven
    upstream pre-warning (:mod:`stationpipe.rules.prewarn`)."""
    match rule:
        case SectionRule():
            return SectionKind(rule)
        case TargetRule():
            return TargetKind(rule)
        case SourceRule():
            return SourceKind(rule)
        case AqiRule():
            return AqiKind(rule)
        case ThresholdRule():
            return ThresholdKind(rule)
        case RateRule():
            return RateKind(rule)
        case FlatlineRule():
            return FlatlineKind(rule)
        case FlagsRule():
            return FlagsKind(rule)
        case TrendRule():
            return TrendKind(rule)
        case GasInstantRule():
            return GasInstantKind(rule)
        case GasAverageRule():
            return GasAverageKind(rule)
        case GasRiseRule():
            return GasRiseKind(rule)
        case BackgroundRule():
            return BackgroundKind(rule)
        case FenceRule():
            return FenceKind(rule)
        case DeadmanRule() | UpstreamRule():
            return None
