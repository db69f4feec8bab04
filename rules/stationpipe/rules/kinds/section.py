"""Section exceedance (GB 3838 against the target class) and custom concentration targets (TN / TP control).

Levels per item (docs/domain.md; thresholds from the rule): 1 value >= ``approach`` x limit; 2 exceeds the
limit; 3 exceeds for >= ``consecutive`` valid samples in a row or multiple >= ``orange_multiple``; 4 劣Ⅴ or
multiple >= ``red_multiple``. Clear (hysteresis): value < ``clear_below`` x limit. DO is a lower limit
(approaching at limit / approach, clear above limit / clear_below); pH outside 6-9 is 劣Ⅴ, within
``ph_margin`` of the range approaching. Series state: ``{"run": consecutive exceeding samples}``, empty
after a clean sample.
"""

from __future__ import annotations

from typing import NamedTuple

from stationpipe.kernel.catalogue import Kind as StationKind
from stationpipe.kernel.reading import Reading
from stationpipe.kernel.registry import StationInfo, WaterBody, WaterClass
from stationpipe.rules.kinds.base import QUIET, VALID, Outcome, Series, active, fmt, label, quiet
from stationpipe.rules.rule_models import LevelledRule, SectionRule, SourceRule, TargetRule
from stationpipe.standards import gb3838, gb3838_source
from stationpipe.standards.common import exceedance_multiple


class _Limit(NamedTuple):
    """The limit one item is held to, how it is named in messages and the value as shown (:func:`fmt`)."""

    value: float
    zh: str
    en: str
    shown: str

    @classmethod
    def of(cls, value: float, zh: str, en: str) -> _Limit:
        """The limit ``value`` named ``zh`` / ``en``."""
        return cls(value, zh, en, fmt(value))


#: How messages name the standard of a target class: ``("Ⅲ类标准", "class III")``.
_CLASS_NAMES = {c: (f"{c.label}类标准", f"class {c.name}") for c in WaterClass}


def _levels(rule: LevelledRule, multiple: float | None, run: int, *, worse_than_v: bool) -> int:
    if worse_than_v or (multiple is not None and multiple >= rule.red_multiple):
        return 4
    if multiple is not None and multiple >= rule.orange_multiple:
        return 3
    return 3 if run >= rule.consecutive else 2


def _heads(r: Reading, v: float) -> tuple[str, str]:
    """How a message names the reading: ``("氨氮 NH3-N 1.3 mg/L", "NH3-N 1.3 mg/L")``."""
    zh, en = label(r.parameter)
    shown = fmt(v)
    return f"{zh} {shown} {r.unit}", f"{en} {shown} {r.unit}"


def _count(series: Series, *, exceeding: bool) -> int:
    """The run of exceeding samples, this one included; a clean sample leaves the state empty (no row to
    save: :class:`stationpipe.rules.evaluator._Planned`)."""
    if not exceeding:
        series.pop("run", None)
        return 0
    run: int = series.get("run", 0) + 1
    series["run"] = run
    return run


def _upper(
    rule: LevelledRule, r: Reading, v: float, lim: _Limit, series: Series, *, cls: WaterClass | None
) -> Outcome:
    multiple = exceedance_multiple(v, lim.value)
    run = _count(series, exceeding=multiple is not None)
    if multiple is None:
        if v >= rule.approach * lim.value:
            head_zh, head_en = _heads(r, v)
            shown, share = lim.shown, f"{v / lim.value:.0%}"
            return active(
                1,
                v,
                lim.value,
                f"{head_zh} 接近{lim.zh}限值 {shown} ({share})",
                f"{head_en} approaching the {lim.en} limit {shown} ({share})",
            )
        return quiet(v, lim.value, clear=v < rule.clear_below * lim.value)
    head_zh, head_en = _heads(r, v)
    level = _levels(rule, multiple, run, worse_than_v=cls is WaterClass.WORSE_THAN_V)
    more_zh = f", 连续 {run} 次超标" if run > 1 else ""
    more_en = f", {run} samples in a row" if run > 1 else ""
    if cls is WaterClass.WORSE_THAN_V:
        more_zh, more_en = f"{more_zh}, 劣Ⅴ类", f"{more_en}, worse than class V"
    return active(
        level,
        v,
        lim.value,
        f"{head_zh} 超过{lim.zh} {multiple:.2g} 倍{more_zh}",
        f"{head_en} exceeds {lim.en} by {multiple:.2g}x{more_en}",
        multiple=multiple,
    )


def _do_heads(v: float) -> tuple[str, str]:
    shown = fmt(v)
    return f"溶解氧 DO {shown} mg/L", f"DO {shown} mg/L"


def _dissolved_oxygen(rule: LevelledRule, v: float, target: WaterClass, series: Series) -> Outcome:
    limit = gb3838.DO.limit(target)
    short = v < limit
    run = _count(series, exceeding=short)
    if not short:
        if v <= limit / rule.approach:
            head_zh, head_en = _do_heads(v)
            return active(
                1,
                v,
                limit,
                f"{head_zh} 接近{target.label}类标准 {fmt(limit)}",
                f"{head_en} approaching the class {target.name} limit {fmt(limit)}",
            )
        return quiet(v, limit, clear=v > limit / rule.clear_below)
    head_zh, head_en = _do_heads(v)
    worse = gb3838.classify("do", v) is WaterClass.WORSE_THAN_V
    return active(
        _levels(rule, None, run, worse_than_v=worse),
        v,
        limit,
        f"{head_zh} 低于{target.label}类标准 {fmt(limit)}" + (", 劣Ⅴ类" if worse else ""),
        f"{head_en} below the class {target.name} limit {fmt(limit)}" + (", worse than V" if worse else ""),
    )


def _ph(rule: LevelledRule, v: float) -> Outcome:
    low, high = gb3838.PH_RANGE
    if not gb3838.ph_in_range(v):
        return active(4, v, None, f"pH值 {fmt(v)} 超出 6-9, 劣Ⅴ类", f"pH {fmt(v)} outside 6-9")
    if v < low + rule.ph_margin or v > high - rule.ph_margin:
        return active(1, v, None, f"pH值 {fmt(v)} 接近 6-9 边界", f"pH {fmt(v)} near the 6-9 bounds")
    return QUIET


class SectionKind:
    """GB 3838 exceedance of the evaluated items against the station's target class (valid readings)."""

    def __init__(self, rule: SectionRule) -> None:
        self.rule = rule
        self.name = rule.name
        #: The limit of each (item, water body, target class) met so far: at most 19 x 2 x 5.
        self._limits: dict[tuple[str, WaterBody, WaterClass], _Limit] = {}

    def watches(self, info: StationInfo, parameter: str) -> bool:
        """Water stations with a target class; the 21 evaluated items (or the rule's subset)."""
        if info.kind is not StationKind.WATER or info.target_class is None:
            return False
        return parameter in gb3838.EVALUATED and (
            not self.rule.parameters or parameter in self.rule.parameters
        )

    def instance(self, reading: Reading) -> str:
        """One instance per item."""
        return reading.parameter

    def evaluate(self, info: StationInfo, reading: Reading, series: Series) -> Outcome | None:
        """Level of one valid reading against the target class; ``None`` for invalid readings."""
        v, target = reading.value, info.target_class
        if v is None or reading.flag is not VALID or target is None:
            return None
        if reading.parameter == "ph":
            return _ph(self.rule, v)
        if reading.parameter == "do":
            return _dissolved_oxygen(self.rule, v, target, series)
        body = info.water_body or WaterBody.RIVER
        lim = self._limits.get((reading.parameter, body, target))
        if lim is None:
            limit = gb3838.limits_for(reading.parameter, body).limit(target)
            lim = self._limits[reading.parameter, body, target] = _Limit.of(limit, *_CLASS_NAMES[target])
        cls = gb3838.classify(reading.parameter, v, body) if v > lim.value else None
        return _upper(self.rule, reading, v, lim, series, cls=cls)


class TargetKind:
    """Custom upper concentration targets of a section (e.g. TN 2.0 mg/L), with the section levels."""

    def __init__(self, rule: TargetRule) -> None:
        self.rule = rule
        self.name = rule.name
        self.targets = {
            p: _Limit.of(v, f"控制目标 {fmt(v)}", f"the control target {fmt(v)}")
            for p, v in rule.limits.items()
        }

    def watches(self, info: StationInfo, parameter: str) -> bool:  # noqa: ARG002 - the protocol's signature
        """Only the parameters the rule gives limits for."""
        return parameter in self.rule.limits

    def instance(self, reading: Reading) -> str:
        """One instance per item."""
        return reading.parameter

    def evaluate(self, info: StationInfo, reading: Reading, series: Series) -> Outcome | None:  # noqa: ARG002
        """Level of one valid reading against the custom target; ``None`` for invalid readings."""
        if reading.value is None or reading.flag is not VALID:
            return None
        lim = self.targets[reading.parameter]
        return _upper(self.rule, reading, reading.value, lim, series, cls=None)


class SourceKind:
    """Drinking-water sources: each GB 3838 Table 2 / Table 3 item against its one limit, with the section
    levels (the Table 1 items are the ``section`` kind's, against the source's target class)."""

    def __init__(self, rule: SourceRule) -> None:
        self.rule = rule
        self.name = rule.name
        self.limits = {
            p: _Limit.of(v, "水源地标准", "the drinking-water source limit")
            for p, v in gb3838_source.SOURCE_LIMITS.items()
        }

    def watches(self, info: StationInfo, parameter: str) -> bool:
        """Source stations (``drinking_source``); the Table 2/3 items (or the rule's subset)."""
        if info.kind is not StationKind.WATER or not info.drinking_source:
            return False
        return parameter in self.limits and (not self.rule.parameters or parameter in self.rule.parameters)

    def instance(self, reading: Reading) -> str:
        """One instance per item."""
        return reading.parameter

    def evaluate(self, info: StationInfo, reading: Reading, series: Series) -> Outcome | None:  # noqa: ARG002
        """Level of one valid reading against the source limit; ``None`` for invalid readings."""
        if reading.value is None or reading.flag is not VALID:
            return None
        return _upper(self.rule, reading, reading.value, self.limits[reading.parameter], series, cls=None)
