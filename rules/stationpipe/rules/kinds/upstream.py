"""上游来水预警 upstream -> downstream pre-warning: the arithmetic and the words, pure.

A source warning (an exceedance, or a rising trend) at a section is expected at each section downstream
after the cumulated travel time of the reaches between them (the registry's ``[[rivers]]``; configuration,
not standard values). The arrival window is ``[base + earliest, base + latest]``: ``base`` is when the
source warning was raised (reading time), or for a trend the time it predicts the limit to be crossed.

The lifecycle around it (raise per downstream section and source, resolve with the source or after the
window) is :mod:`stationpipe.rules.prewarn`: these pre-warnings follow other warnings, not readings, so the
kind table builds no per-reading evaluator for them (like ``deadman``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from stationpipe.kernel.registry import StationInfo
from stationpipe.kernel.rivers import Reach
from stationpipe.rules.kinds.base import Outcome, active, label
from stationpipe.rules.rule_models import UpstreamRule
from stationpipe.standards.common import CHINA_TZ

#: What the source warning says: a value over its limit, or a trend that will cross it.
Cause = Literal["exceedance", "trend"]
_HOUR = 3600.0


def selected(rule: UpstreamRule, reaches: tuple[Reach, ...]) -> tuple[Reach, ...]:
    """The downstream sections the rule reaches: within ``reaches`` and ``horizon``, on ``rivers``."""
    horizon = rule.horizon.total_seconds() if rule.horizon is not None else None
    return tuple(
        r
        for r in reaches
        if (rule.reaches is None or r.reaches <= rule.reaches)
        and (horizon is None or r.latest_h * _HOUR <= horizon)
        and (not rule.rivers or r.river in rule.rivers)
    )


def window(base: float, reach: Reach) -> tuple[float, float]:
    """Earliest and latest arrival (epoch s) at ``reach`` of what passed its source at ``base``."""
    return base + reach.earliest_h * _HOUR, base + reach.latest_h * _HOUR


def clock(early: float, late: float) -> str:
    """The window in China time: ``"14:05–17:05"``; with dates when it is not within one day."""
    a, b = (datetime.fromtimestamp(t, UTC).astimezone(CHINA_TZ) for t in (early, late))
    shape = "%H:%M" if a.date() == b.date() else "%m-%d %H:%M"
    return f"{a.strftime(shape)}–{b.strftime(shape)}"


def outcome(
    rule: UpstreamRule,
    source: StationInfo,
    parameter: str,
    cause: Cause,
    reach: Reach,
    *,
    span: tuple[float, float],
    value: tuple[float | None, float | None],
) -> Outcome:
    """The pre-warning at ``reach``: it names the source section, what it shows and the arrival window."""
    zh_name, en_name = label(parameter)
    shown = clock(*span)
    where_zh = source.section or source.name
    hours = f"{reach.earliest_h:g}–{reach.latest_h:g}"
    if cause == "trend":
        what_zh, what_en = f"{zh_name} 呈上升趋势", f"{en_name} is rising"
    else:
        what_zh, what_en = f"{zh_name} 超标", f"exceeds {en_name}"
    zh = (
        f"上游断面 {where_zh} {what_zh}，预计 {shown} (北京时间) 到达"
        f" (下游第 {reach.reaches} 个断面, 行程 {hours} 小时)"
    )
    en = (
        f"upstream section {source.id} {what_en}, expected to arrive {shown} China time"
        f" ({reach.reaches} section(s) downstream, {hours} h travel)"
    )
    return active(rule.level, value[0], value[1], zh, en, expected=datetime.fromtimestamp(span[0], UTC))


def resolved_words(why: Literal["source", "window"]) -> tuple[str, str]:
    """What a resolution adds to the message: the source resolved, or the window has passed."""
    if why == "source":
        return "(上游预警已解除)", "(the upstream warning resolved)"
    return "(预计到达时段已过)", "(the arrival window has passed)"
