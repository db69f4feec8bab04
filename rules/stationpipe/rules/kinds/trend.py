"""预测预警 trend prediction: a Theil-Sen line through the recent valid values crosses the limit in time.

Theil-Sen (median of pairwise slopes, median intercept) ignores up to ~29 % of outliers, so one spike does
not predict a crossing. Series state: ``{"w": [[epoch s, value], …]}``, the last ``window`` valid values.
The limit is the rule's ``limit`` or, for water items with an upper limit, the target class's limit.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import combinations

from stationpipe.kernel.reading import Reading
from stationpipe.kernel.registry import StationInfo, WaterBody
from stationpipe.rules.kinds.base import VALID, Outcome, Series, active, epoch, fmt, label, quiet
from stationpipe.rules.rule_models import TrendRule
from stationpipe.standards import gb3838
from stationpipe.standards.common import CHINA_TZ


def theil_sen(points: list[list[float]]) -> tuple[float, float]:
    """``(slope, intercept)`` of the Theil-Sen line through ``[[x, y], …]`` (>= 2 distinct x)."""
    slope = _slope(points)
    return slope, _intercept(points, slope)


def _slope(points: list[list[float]]) -> float:
    """The Theil-Sen slope: the median of the pairwise slopes (>= 2 distinct x)."""
    slopes = [(y2 - y1) / (x2 - x1) for (x1, y1), (x2, y2) in combinations(points, 2) if x2 != x1]
    if not slopes:
        raise ValueError("a trend needs at least two distinct instants")
    return _median(slopes)


def _intercept(points: list[list[float]], slope: float) -> float:
    """The Theil-Sen intercept of the line of ``slope``: the median of ``y - slope * x``."""
    return _median([y - slope * x for x, y in points])


def _median(values: list[float]) -> float:
    """The median (mean of the middle two for an even count), sorting ``values`` in place."""
    values.sort()
    mid = len(values) // 2
    return values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) / 2


def target_limit(info: StationInfo, parameter: str) -> float | None:
    """The upper limit of the station's target class for a water item, if it has one."""
    if info.target_class is None or (parameter not in gb3838.UPPER_LIMITS and parameter != "tp"):
        return None
    return gb3838.limits_for(parameter, info.water_body or WaterBody.RIVER).limit(info.target_class)


class TrendKind:
    """Predicts the crossing of an upper limit within ``horizon`` and names the expected time (China time)."""

    def __init__(self, rule: TrendRule) -> None:
        self.rule = rule
        self.name = rule.name

    def _limit(self, info: StationInfo, parameter: str) -> float | None:
        return self.rule.limit if self.rule.limit is not None else target_limit(info, parameter)

    def watches(self, info: StationInfo, parameter: str) -> bool:
        """Listed parameters (or all) that have a limit at this station."""
        listed = not self.rule.parameters or parameter in self.rule.parameters
        return listed and self._limit(info, parameter) is not None

    def instance(self, reading: Reading) -> str:
        """One instance per parameter."""
        return reading.parameter

    def evaluate(self, info: StationInfo, reading: Reading, series: Series) -> Outcome | None:
        """Active while the fitted line is below the limit and reaches it within the horizon."""
        v, limit = reading.value, self._limit(info, reading.parameter)
        if v is None or reading.flag is not VALID or limit is None:
            return None
        now = epoch(reading.ts)
        window = [*series.get("w", []), [now, v]][-self.rule.window :]
        series["w"] = window
        if len(window) < self.rule.min_samples:
            return quiet(v, limit)
        slope = _slope(window)
        if slope <= 0:  # not rising: the intercept is not needed
            return quiet(v, limit)
        fitted = _intercept(window, slope) + slope * now
        if fitted >= limit:
            return quiet(v, limit)
        eta = (limit - fitted) / slope
        if eta > self.rule.horizon.total_seconds():
            return quiet(v, limit)
        expected = datetime.fromtimestamp(now, UTC) + timedelta(seconds=eta)
        local = expected.astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M")
        zh, en = label(reading.parameter)
        return active(
            self.rule.level,
            v,
            limit,
            f"{zh} 预计于 {local} (北京时间) 超过限值 {fmt(limit)}",
            f"{en} is expected to exceed {fmt(limit)} at {local} China time",
            expected=expected,
        )
