"""Threshold, rate of change, flat-line and persisting instrument flags: one parameter, one station at a time.

Series state (JSON): threshold none; rate ``{"w": [[epoch s, value], …]}`` within the window; flat-line
``{"last": value, "n": identical count}``; flags ``{"since": epoch s}`` of the first flag in the set.
"""

from __future__ import annotations

from typing import Generic, TypeVar

from stationpipe.kernel.reading import Reading
from stationpipe.kernel.registry import StationInfo
from stationpipe.rules.kinds.base import QUIET, VALID, Outcome, Series, active, epoch, fmt, label, quiet
from stationpipe.rules.rule_models import FlagsRule, FlatlineRule, RateRule, ThresholdRule

_R = TypeVar("_R", ThresholdRule, RateRule, FlatlineRule, FlagsRule)


class _OneParameter(Generic[_R]):
    """Watches the rule's parameters (all parameters when none are listed)."""

    def __init__(self, rule: _R) -> None:
        self.rule: _R = rule

    @property
    def name(self) -> str:
        """The rule's name."""
        return self.rule.name

    def watches(self, info: StationInfo, parameter: str) -> bool:  # noqa: ARG002 - the protocol's signature
        """The listed parameters, or every one."""
        return not self.rule.parameters or parameter in self.rule.parameters

    def instance(self, reading: Reading) -> str:
        """One instance per parameter."""
        return reading.parameter


class ThresholdKind(_OneParameter[ThresholdRule]):
    """Above (or below) a fixed value; resolves only past ``clear`` (defaults to the threshold)."""

    def evaluate(self, info: StationInfo, reading: Reading, series: Series) -> Outcome | None:  # noqa: ARG002
        """Level ``rule.level`` while past the threshold; valid readings only."""
        v = reading.value
        if v is None or reading.flag is not VALID:
            return None
        zh, en = label(reading.parameter)
        if self.rule.above is not None:
            limit, clear = (
                self.rule.above,
                self.rule.clear if self.rule.clear is not None else self.rule.above,
            )
            if v > limit:
                return active(
                    self.rule.level,
                    v,
                    limit,
                    f"{zh} {fmt(v)} {reading.unit} 高于 {fmt(limit)}",
                    f"{en} {fmt(v)} {reading.unit} above {fmt(limit)}",
                )
            return quiet(v, limit, clear=v <= clear)
        assert self.rule.below is not None  # the model guarantees one side
        limit, clear = self.rule.below, self.rule.clear if self.rule.clear is not None else self.rule.below
        if v < limit:
            return active(
                self.rule.level,
                v,
                limit,
                f"{zh} {fmt(v)} {reading.unit} 低于 {fmt(limit)}",
                f"{en} {fmt(v)} {reading.unit} below {fmt(limit)}",
            )
        return quiet(v, limit, clear=v >= clear)


class RateKind(_OneParameter[RateRule]):
    """A rise of ``rise`` or more within ``within`` (reading time), from the window's lowest valid value."""

    def __init__(self, rule: RateRule) -> None:
        super().__init__(rule)
        self.span = rule.within.total_seconds()

    def evaluate(self, info: StationInfo, reading: Reading, series: Series) -> Outcome | None:  # noqa: ARG002
        """Active while the rise within the window is at least ``rise``."""
        v = reading.value
        if v is None or reading.flag is not VALID:
            return None
        now = epoch(reading.ts)
        window = [p for p in series.get("w", []) if now - p[0] <= self.span]
        low = min((p[1] for p in window), default=v)
        window.append([now, v])
        series["w"] = window
        rise = v - low
        if rise < self.rule.rise:
            return quiet(v, self.rule.rise)
        zh, en = label(reading.parameter)
        minutes = f"{self.span / 60:g}"
        return active(
            self.rule.level,
            v,
            self.rule.rise,
            f"{zh} {minutes} 分钟内上升 {fmt(rise)} {reading.unit}",
            f"{en} rose {fmt(rise)} {reading.unit} within {minutes} min",
        )


class FlatlineKind(_OneParameter[FlatlineRule]):
    """``count`` identical consecutive valid values (within ``tolerance``): a stuck sensor."""

    def evaluate(self, info: StationInfo, reading: Reading, series: Series) -> Outcome | None:  # noqa: ARG002
        """Active from the ``count``-th identical value until the value changes."""
        v = reading.value
        if v is None or reading.flag is not VALID:
            return None
        last = series.get("last")
        same = last is not None and abs(v - last) <= self.rule.tolerance
        n = series["n"] = series.get("n", 0) + 1 if same else 1
        if not same:
            series["last"] = v
        if n < self.rule.count:
            return quiet(v)
        zh, en = label(reading.parameter)
        return active(
            self.rule.level,
            v,
            None,
            f"{zh} 连续 {n} 个相同值 {fmt(v)} (疑似传感器卡死)",
            f"{en} flat-lined: {n} identical values {fmt(v)}",
        )


class FlagsKind(_OneParameter[FlagsRule]):
    """An instrument flag of ``flags`` on every reading for ``persist_for`` (reading time)."""

    def __init__(self, rule: FlagsRule) -> None:
        super().__init__(rule)
        self.span = rule.persist_for.total_seconds()

    def evaluate(self, info: StationInfo, reading: Reading, series: Series) -> Outcome | None:  # noqa: ARG002
        """Active once the flag has persisted ``persist_for``; clear on the next reading without it."""
        if reading.flag not in self.rule.flags:
            series.pop("since", None)
            return QUIET
        now = epoch(reading.ts)
        since = series.setdefault("since", now)
        if now - since < self.span:
            return quiet(clear=False)
        minutes = f"{(now - since) / 60:.0f}"
        zh, en = label(reading.parameter)
        return active(
            self.rule.level,
            None,
            None,
            f"{zh} 数据标记 {reading.flag.value} ({reading.flag.label}) 持续 {minutes} 分钟",
            f"{en} flagged {reading.flag.value} for {minutes} min",
        )
