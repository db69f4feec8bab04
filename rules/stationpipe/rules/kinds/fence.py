"""电子围栏 electronic fence: warnings from the position readings the edge publishes (docs/fence.md).

``fence_dist`` above the rule's ``radius`` is 站点越界 (outside its fence); ``gnss_speed`` above
``max_speed`` or ``fence_move`` above ``max_displacement`` is 站点移动 (moving). One instance per parameter;
each resolves when its reading is back within its limit. No series state.

Unlike value rules this one reads position readings whatever their flag except when they have no value
(``B``: the edge had no fix): the edge never fence-flags its own position readings.
"""

from __future__ import annotations

from stationpipe.kernel.reading import Reading
from stationpipe.kernel.registry import StationInfo
from stationpipe.rules.kinds.base import Outcome, Series, active, fmt, quiet
from stationpipe.rules.rule_models import FenceRule

WATCHED = ("fence_dist", "gnss_speed", "fence_move")


class FenceKind:
    """Outside the fence, or moving."""

    def __init__(self, rule: FenceRule) -> None:
        self.rule = rule
        self.name = rule.name

    def watches(self, info: StationInfo, parameter: str) -> bool:  # noqa: ARG002 - the protocol's signature
        """The three fence parameters, at any station that sends them."""
        return parameter in WATCHED

    def instance(self, reading: Reading) -> str:
        """One instance per parameter."""
        return reading.parameter

    def limit(self, parameter: str) -> float:
        """The rule's limit for ``parameter`` (m, m/s or m)."""
        return {
            "fence_dist": self.rule.radius,
            "gnss_speed": self.rule.max_speed,
            "fence_move": self.rule.max_displacement,
        }[parameter]

    def evaluate(self, info: StationInfo, reading: Reading, series: Series) -> Outcome | None:  # noqa: ARG002
        """Active while the reading is above its limit (equal is within)."""
        v = reading.value
        if v is None:
            return None
        limit = self.limit(reading.parameter)
        if v <= limit:
            return quiet(v, limit)
        if reading.parameter == "fence_dist":
            return active(
                self.rule.level,
                v,
                limit,
                f"站点越界: 距登记位置 {fmt(v)} m (围栏半径 {fmt(limit)} m)",
                f"station outside its fence: {fmt(v)} m from its registered position (radius {fmt(limit)} m)",
            )
        what_zh, what_en, unit = (
            ("对地速度", "speed over ground", "m/s")
            if reading.parameter == "gnss_speed"
            else ("窗口内位移", "displacement within the window", "m")
        )
        return active(
            self.rule.level,
            v,
            limit,
            f"站点移动: {what_zh} {fmt(v)} {unit} (限值 {fmt(limit)} {unit})",
            f"station moving: {what_en} {fmt(v)} {unit} (limit {fmt(limit)} {unit})",
        )
