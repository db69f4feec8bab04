"""化工园区有毒有害气体预警: toxic gases against instantaneous limits, short-term means and rapid rises.

Numbers and their sources: docs/chemical_park.md. Each kind watches the gases of its table and the
station's wind direction (another parameter of the same station). A wind reading says nothing by itself:
the kind remembers the newest one per station and copies it into the state of each gas series that
names it, so after a restart the last known wind is still there. A warning names the park, the station
and, when the wind reading is at most ``wind_max_age`` from the gas reading, where the wind blew from
and the downwind sector; with only an older one it says so; with none (no wind sensor) it is silent on wind.

Series state (JSON): ``{"wind": [epoch s, degrees]}``; averages also ``{"b": bins}`` (:mod:`.bins`); rises
also ``{"m": [[epoch s, value], …]}``, the increasing minima of the window (its first is the lowest).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Generic, TypeVar

from stationpipe.kernel.reading import Reading
from stationpipe.kernel.registry import StationInfo
from stationpipe.rules.kinds import bins
from stationpipe.rules.kinds.base import Outcome, Series, active, epoch, fmt, label, quiet
from stationpipe.rules.kinds.context import place, span, wind_words
from stationpipe.rules.rule_models import GasAverageRule, GasInstantRule, GasLimitRule, GasRiseRule

_R = TypeVar("_R", GasInstantRule, GasAverageRule, GasRiseRule)


class _GasKind(ABC, Generic[_R]):
    """What the three gas kinds share: the watched parameters, the wind memory, the park and wind words."""

    def __init__(self, rule: _R, table: Mapping[str, float]) -> None:
        self.rule: _R = rule
        self.table = table
        self.winds: dict[str, list[float]] = {}
        self.max_age = rule.wind_max_age.total_seconds()

    @property
    def name(self) -> str:
        """The rule's name."""
        return self.rule.name

    def watches(self, info: StationInfo, parameter: str) -> bool:  # noqa: ARG002 - the protocol's signature
        """The gases of the table and the wind direction."""
        return parameter in self.table or parameter == self.rule.wind

    def instance(self, reading: Reading) -> str:
        """One instance per gas."""
        return reading.parameter

    def evaluate(self, info: StationInfo, reading: Reading, series: Series) -> Outcome | None:
        """Remember a wind reading (no outcome); check a valid gas reading and name park and wind."""
        v = reading.value
        if v is None or not reading.flag.valid:
            return None
        if reading.parameter == self.rule.wind:
            self.winds[info.id] = [epoch(reading.ts), v]
            return None
        outcome = self.check(reading, v, series)
        if outcome is None or outcome.level == 0:
            return outcome
        return self._named(info, reading, series, outcome)

    @abstractmethod
    def check(self, reading: Reading, value: float, series: Series) -> Outcome | None:
        """The kind's own test of one valid gas reading."""

    def _wind(self, station: str, now: float, series: Series) -> tuple[str, str] | None:
        known = [w for w in (self.winds.get(station), series.get("wind")) if w]
        if not known:
            return None
        ts, degrees = max(known, key=lambda w: w[0])
        series["wind"] = [ts, degrees]
        if abs(now - ts) > self.max_age:
            return "无近期风向数据", "no recent wind reading"
        return wind_words(degrees)

    def _named(self, info: StationInfo, reading: Reading, series: Series, outcome: Outcome) -> Outcome:
        where_zh, where_en = place(info)
        zh, en = f"{where_zh}: {outcome.zh}", f"{where_en}: {outcome.en}"
        wind = self._wind(info.id, epoch(reading.ts), series)
        if wind is not None:
            zh, en = f"{zh}, {wind[0]}", f"{en}; {wind[1]}"
        return outcome._replace(zh=zh, en=en)


def _level(rule: GasLimitRule, value: float, limit: float) -> int:
    if rule.red_multiple is not None and value >= rule.red_multiple * limit:
        return 4
    if value > limit:
        return rule.level
    if rule.approach is not None and value >= rule.approach * limit:
        return 1
    return 0


def against(
    rule: GasLimitRule, reading: Reading, value: float, limit: float, what: tuple[str, str] = ("", "")
) -> Outcome:
    """``value`` (the reading, or a mean: ``what`` says which) against ``limit`` with the rule's levels."""
    level = _level(rule, value, limit)
    if level == 0:
        return quiet(value, limit, clear=value < rule.clear_below * limit)
    zh, en = label(reading.parameter)
    zh, en = f"{zh}{what[0]} {fmt(value)} {reading.unit}", f"{en}{what[1]} {fmt(value)} {reading.unit}"
    basis = f" ({rule.basis})" if rule.basis else ""
    if value > limit:
        multiple = (value - limit) / limit
        return active(
            level,
            value,
            limit,
            f"{zh} 超过限值 {fmt(limit)}{basis} {fmt(multiple)} 倍",
            f"{en} above {fmt(limit)}{basis} by {fmt(multiple)}x",
            multiple=multiple,
        )
    share = f"{value / limit * 100:.0f}"
    zh, en = f"{zh} 达到限值 {fmt(limit)}{basis} 的 {share}%", f"{en} at {share} % of {fmt(limit)}{basis}"
    return active(level, value, limit, zh, en)


class GasInstantKind(_GasKind[GasInstantRule]):
    """Every valid reading against its gas's limit."""

    def __init__(self, rule: GasInstantRule) -> None:
        super().__init__(rule, rule.limits)

    def check(self, reading: Reading, value: float, series: Series) -> Outcome | None:  # noqa: ARG002
        """The reading itself against the limit."""
        return against(self.rule, reading, value, self.rule.limits[reading.parameter])


class GasAverageKind(_GasKind[GasAverageRule]):
    """The mean over the trailing ``over`` against the limit, once ``min_coverage`` of its bins hold data."""

    def __init__(self, rule: GasAverageRule) -> None:
        super().__init__(rule, rule.limits)
        self.over = rule.over.total_seconds()
        self.width = rule.resolution.total_seconds()
        self.needed = rule.min_coverage * self.over / self.width
        zh, en = span(self.over)
        self.words = (f" {zh}均值", f" {en} mean")

    def check(self, reading: Reading, value: float, series: Series) -> Outcome | None:
        """``None`` (says nothing) while the window is not covered well enough."""
        now = epoch(reading.ts)
        kept = bins.trim(series.get("b", []), now, self.over)
        bins.add(kept, now, value, self.width)
        series["b"] = kept
        if len(kept) < self.needed:
            return None
        mean = bins.stats(kept).mean
        return against(self.rule, reading, mean, self.rule.limits[reading.parameter], self.words)


class GasRiseKind(_GasKind[GasRiseRule]):
    """A rise of at least ``rises[gas]`` above the lowest valid value within ``within``."""

    def __init__(self, rule: GasRiseRule) -> None:
        super().__init__(rule, rule.rises)
        self.within = rule.within.total_seconds()
        self.words = span(self.within)

    def check(self, reading: Reading, value: float, series: Series) -> Outcome | None:
        """Active while the rise within the window is at least the rule's."""
        now = epoch(reading.ts)
        minima = [p for p in series.get("m", []) if now - p[0] <= self.within]
        low = min(minima[0][1], value) if minima else value
        while minima and minima[-1][1] >= value:
            minima.pop()
        minima.append([now, value])
        series["m"] = minima
        rise, needed = value - low, self.rule.rises[reading.parameter]
        if rise < needed:
            return quiet(value, needed)
        zh, en = label(reading.parameter)
        u = reading.unit
        return active(
            self.rule.level,
            value,
            needed,
            f"{zh} {self.words[0]}内上升 {fmt(rise)} {u} (至 {fmt(value)} {u})",
            f"{en} rose {fmt(rise)} {u} within {self.words[1]} (to {fmt(value)} {u})",
        )
