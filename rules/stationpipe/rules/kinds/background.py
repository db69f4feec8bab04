"""核电厂外围辐射环境自动监测: gamma dose rate against each station's own background, rain told apart.

Numbers and their sources: docs/radiation.md (every one of them is policy, configurable).

- *Background*: mean and sample standard deviation of the station's valid values over the trailing
  ``window``, kept as sums in ``bin_width`` bins (:mod:`.bins`). A value above the investigation level, a
  value above an absolute level and (unless ``learn_while_raining``) a value within ``rain_lookback`` of
  rain is not learnt, so a rise does not drag its own background up.
- *Investigation level*: ``mean + n_sigma x max(sd, min_sigma)``, once ``min_samples`` values are learnt;
  before that only the absolute levels apply.
- *Rain*: natural radon progeny washed out by rain raise the dose rate for an hour or two; a rise while the
  station's rain sensor (``rain``, another parameter of the same station) read > 0 within ``rain_lookback``
  is classified rain-induced, at ``rain_level``; otherwise it is unexplained, at ``level``.
- *Absolute levels*: above ``absolute[level]`` that level holds whatever the background and the rain.

The watched parameter and the rain share one series (the instance is always ``parameter``), so the rain
seen is durable state: ``{"b": bins, "wet": epoch s of the last rain > 0}``. Resolves at or below
``mean + clear_sigma x sd`` (and below every absolute level).
"""

from __future__ import annotations

from dataclasses import dataclass

from stationpipe.kernel.reading import Reading
from stationpipe.kernel.registry import StationInfo
from stationpipe.rules.kinds import bins
from stationpipe.rules.kinds.base import Outcome, Series, active, epoch, fmt, label, quiet
from stationpipe.rules.kinds.context import place, span
from stationpipe.rules.rule_models import BackgroundRule


@dataclass(frozen=True, slots=True)
class Verdict:
    """What one value is: its relative and absolute levels and the numbers behind them."""

    value: float
    learnt: int
    mean: float
    sd: float
    investigation: float | None
    absolute: tuple[int, float] | None
    raining: bool


class BackgroundKind:
    """Investigation level relative to the station's own background, with rain-induced rises told apart."""

    def __init__(self, rule: BackgroundRule) -> None:
        self.rule = rule
        self.name = rule.name
        self.window = rule.window.total_seconds()
        self.width = rule.bin_width.total_seconds()
        self.lookback = rule.rain_lookback.total_seconds()

    def watches(self, info: StationInfo, parameter: str) -> bool:  # noqa: ARG002 - the protocol's signature
        """The dose rate and the rain sensor."""
        return parameter in {self.rule.parameter, self.rule.rain}

    def instance(self, reading: Reading) -> str:  # noqa: ARG002 - rain shares the dose rate's series
        """Always the watched parameter: rain readings land in its series."""
        return self.rule.parameter

    def evaluate(self, info: StationInfo, reading: Reading, series: Series) -> Outcome | None:
        """Note rain (no outcome); judge a valid dose-rate value and learn it when it is background."""
        v = reading.value
        if v is None or not reading.flag.valid:
            return None
        now = epoch(reading.ts)
        if reading.parameter == self.rule.rain:
            if v > 0:
                series["wet"] = max(now, series.get("wet", now))
            return None
        kept = bins.trim(series.get("b", []), now, self.window)
        verdict = self.judge(v, kept, now - series.get("wet", -float("inf")) <= self.lookback)
        if self.learns(verdict):
            bins.add(kept, now, v, self.width)
        series["b"] = kept
        return self.outcome(info, reading, verdict)

    def learns(self, v: Verdict) -> bool:
        """True for background: not elevated, not above an absolute level, not after rain (unless allowed)."""
        elevated = v.investigation is not None and v.value > v.investigation
        rain_ok = self.rule.learn_while_raining or not v.raining
        return not elevated and v.absolute is None and rain_ok

    def judge(self, value: float, kept: list[bins.Bin], raining: bool) -> Verdict:  # noqa: FBT001
        """The verdict on ``value`` given the learnt background ``kept`` and whether it rained lately."""
        stats = bins.stats(kept)
        sd = max(stats.sd, self.rule.min_sigma)
        level = None
        if stats.n >= self.rule.min_samples:
            level = stats.mean + self.rule.n_sigma * sd
        above = [(lvl, limit) for lvl, limit in self.rule.absolute.items() if value > limit]
        absolute = max(above, default=None)
        return Verdict(value, stats.n, stats.mean, sd, level, absolute, raining)

    def _levels(self, v: Verdict) -> tuple[int, int]:
        relative = 0
        if v.investigation is not None and v.value > v.investigation:
            relative = self.rule.rain_level if v.raining else self.rule.level
        return relative, v.absolute[0] if v.absolute else 0

    def outcome(self, info: StationInfo, reading: Reading, v: Verdict) -> Outcome:
        """Level and bilingual message of a verdict."""
        relative, absolute = self._levels(v)
        limit = v.investigation if relative or v.absolute is None else v.absolute[1]
        if not relative and not absolute:
            clear = v.investigation is None or v.value <= v.mean + self.rule.clear_sigma * v.sd
            return quiet(v.value, v.investigation, clear=clear)
        where_zh, where_en = place(info)
        name_zh, name_en = label(reading.parameter)
        zh = [f"{where_zh}: {name_zh} {fmt(v.value)} {reading.unit}"]
        en = [f"{where_en}: {name_en} {fmt(v.value)} {reading.unit}"]
        if v.absolute is not None:
            zh.append(f"超过绝对水平 {fmt(v.absolute[1])}")
            en.append(f"above the absolute level {fmt(v.absolute[1])}")
        if relative:
            n = f"{self.rule.n_sigma:g}"
            zh.append(f"超过调查水平 {fmt(v.investigation)} (本底均值 {fmt(v.mean)} + {n}σ, σ {fmt(v.sd)})")
            en.append(f"above the investigation level {fmt(v.investigation)} (mean {fmt(v.mean)} + {n} sd)")
        cause = self._cause(v)
        zh.append(cause[0])
        en.append(cause[1])
        return active(max(relative, absolute), v.value, limit, ", ".join(zh), ", ".join(en))

    def _cause(self, v: Verdict) -> tuple[str, str]:
        """Why: rain-induced, or not; above an absolute level rain never explains the whole rise."""
        rain_zh, rain_en = span(self.lookback)
        if v.raining and v.absolute is None:
            return (
                f"近 {rain_zh}内有降雨: 判为降雨导致的升高 (雨致)",
                f"rain within the last {rain_en}: classified rain-induced",
            )
        if v.raining:
            return (
                f"近 {rain_zh}内有降雨, 但超过绝对水平: 不能仅以降雨解释, 需调查",
                f"rain within the last {rain_en}, but above an absolute level: not rain alone, investigate",
            )
        return "近期无降雨: 非降雨所致, 需调查", "no recent rain: not rain-induced, investigate"
