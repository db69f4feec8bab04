"""Rule kinds: each turns a rule definition into a pure evaluator (see :mod:`rules.kinds.base`).

=========== ===============================================================================
section     GB 3838 item vs the section's target class, DOMAIN.md levels 1-4
target      custom concentration targets per section (TN / TP control), same levels
aqi         AQI of hourly means (HJ 633 version by config or date), levels for AQI > 100
threshold   above / below a value, with a separate clear value (hysteresis)
rate        a rise of X within T
flatline    N identical consecutive values
flags       instrument flags (D/M/C/B…) persisting for T
trend       Theil-Sen trend predicts crossing the limit within a horizon (names the time)
deadman     no message for T, on a timer (:mod:`rules.kinds.deadman`)
=========== ===============================================================================
"""

from __future__ import annotations

from rules.kinds.aqi import AqiKind
from rules.kinds.base import Kind, Outcome, Series
from rules.kinds.section import SectionKind, TargetKind
from rules.kinds.simple import FlagsKind, FlatlineKind, RateKind, ThresholdKind
from rules.kinds.trend import TrendKind
from rules.rule_models import (
    AnyRule,
    AqiRule,
    DeadmanRule,
    FlagsRule,
    FlatlineRule,
    RateRule,
    SectionRule,
    TargetRule,
    ThresholdRule,
    TrendRule,
)

__all__ = ["Kind", "Outcome", "Series", "build"]


def build(rule: AnyRule) -> Kind | None:  # noqa: PLR0911 - one line per kind is the clearest table
    """The evaluator of a per-reading rule; ``None`` for the timer-driven deadman."""
    match rule:
        case SectionRule():
            return SectionKind(rule)
        case TargetRule():
            return TargetKind(rule)
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
        case DeadmanRule():
            return None
