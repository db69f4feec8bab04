"""GB 3838-2002 Table 1: the class of one value of one item, and exceedance multiples.

Units: mg/L, except pH (dimensionless) and fecal coliform (count/L). Invariants of the table:

- an upper-limit column never decreases from class I to V, DO's lower limits never increase;
- a value equal to a limit meets it (comparisons are exact, never with a tolerance);
- where several classes share a limit, a value within it takes the *best* such class (Cu <= 1.0 -> II);
- pH outside 6-9, DO below 2 and any value above the class V limit are 劣Ⅴ (``WaterClass.WORSE_THAN_V``).

Section evaluation (the single-factor method) lives in :mod:`stationpipe.standards.gb3838_section`.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType

from stationpipe.kernel.registry import WaterBody, WaterClass
from stationpipe.standards.common import check_concentration, exceedance_multiple, shortfall

#: Only this edition exists; kept as data so a future revision can sit beside it.
EDITION = "GB 3838-2002"

_CLASSES: tuple[WaterClass, ...] = (WaterClass.I, WaterClass.II, WaterClass.III, WaterClass.IV, WaterClass.V)


class Direction(StrEnum):
    """How a value is compared with the limit."""

    MAX = "max"  # value <= limit meets it
    MIN = "min"  # value >= limit meets it (dissolved oxygen)
    RANGE = "range"  # low <= value <= high (pH)


@dataclass(frozen=True, slots=True)
class Limits:
    """The five class limits (I..V) of one item; for ``RANGE`` items each limit is ``(low, high)``."""

    direction: Direction
    values: tuple[float, float, float, float, float]
    #: The limits as a non-decreasing sequence for :func:`bisect.bisect_left` (DO's negated).
    _ascending: tuple[float, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        ascending = tuple(-v for v in self.values) if self.direction is Direction.MIN else self.values
        if list(ascending) != sorted(ascending):
            raise ValueError(f"class limits must be monotonic from I to V: {self.values}")
        object.__setattr__(self, "_ascending", ascending)

    def limit(self, water_class: WaterClass) -> float:
        """The limit of ``water_class`` (I..V)."""
        if water_class is WaterClass.WORSE_THAN_V:
            raise ValueError("劣Ⅴ has no limit of its own")
        return self.values[water_class - 1]  # an IntEnum: plain int arithmetic (no enum .value lookup)

    def meets(self, value: float, water_class: WaterClass) -> bool:
        """True when ``value`` meets the limit of ``water_class`` (equal counts as meeting)."""
        lim = self.limit(water_class)
        if self.direction is Direction.MIN:
            return value >= lim
        return value <= lim

    def best_class(self, value: float) -> WaterClass:
        """The best class (I..V) whose limit ``value`` meets; 劣Ⅴ when it meets none (NaN meets none).

        The hot path of :func:`classify`: the limits are monotonic, so the first class met is found by
        bisection (in C) on ``_ascending``: ``v <= limit`` (DO: ``-v <= -limit``), exact as the comparison.
        """
        if value != value:  # noqa: PLR0124 - NaN: bisection would call it class I
            return WaterClass.WORSE_THAN_V
        i = bisect_left(self._ascending, -value if self.direction is Direction.MIN else value)
        return _CLASSES[i] if i < len(_CLASSES) else WaterClass.WORSE_THAN_V


def _max(i: float, ii: float, iii: float, iv: float, v: float) -> Limits:
    return Limits(Direction.MAX, (i, ii, iii, iv, v))


PH_RANGE: tuple[float, float] = (6.0, 9.0)
#: Dissolved oxygen, mg/L, ">=". Class I is "90 % saturation (or 7.5)": 7.5 is used.
DO = Limits(Direction.MIN, (7.5, 6.0, 5.0, 3.0, 2.0))
TP_RIVER = _max(0.02, 0.1, 0.2, 0.3, 0.4)
TP_LAKE = _max(0.01, 0.025, 0.05, 0.1, 0.2)

#: Upper-limit items (the same for every water body). TP is separate: it depends on the water body.
UPPER_LIMITS: MappingProxyType[str, Limits] = MappingProxyType(
    {
        "codmn": _max(2, 4, 6, 10, 15),
        "cod": _max(15, 15, 20, 30, 40),
        "bod5": _max(3, 3, 4, 6, 10),
        "nh3n": _max(0.15, 0.5, 1.0, 1.5, 2.0),
        "tn": _max(0.2, 0.5, 1.0, 1.5, 2.0),
        "cu": _max(0.01, 1.0, 1.0, 1.0, 1.0),
        "zn": _max(0.05, 1.0, 1.0, 2.0, 2.0),
        "f": _max(1.0, 1.0, 1.0, 1.5, 1.5),
        "se": _max(0.01, 0.01, 0.01, 0.02, 0.02),
        "as": _max(0.05, 0.05, 0.05, 0.1, 0.1),
        "hg": _max(0.00005, 0.00005, 0.0001, 0.001, 0.001),
        "cd": _max(0.001, 0.005, 0.005, 0.005, 0.01),
        "cr6": _max(0.01, 0.05, 0.05, 0.05, 0.1),
        "pb": _max(0.01, 0.01, 0.05, 0.05, 0.1),
        "cn": _max(0.005, 0.05, 0.2, 0.2, 0.2),
        "phenol": _max(0.002, 0.002, 0.005, 0.01, 0.1),
        "oil": _max(0.05, 0.05, 0.05, 0.5, 1.0),
        "las": _max(0.2, 0.2, 0.2, 0.3, 0.3),
        "s2": _max(0.05, 0.1, 0.2, 0.5, 1.0),
        "fcoli": _max(200, 2000, 10000, 20000, 40000),
    }
)

#: The 21 items of the single-factor method: Table 1 without water temperature, TN and fecal coliform.
EVALUATED: frozenset[str] = frozenset({"ph", "do", "tp"} | (set(UPPER_LIMITS) - {"tn", "fcoli"}))
#: Items with a class but evaluated separately from the section class (TN only for lakes/reservoirs).
SEPARATE: frozenset[str] = frozenset({"tn", "fcoli"})


def has_class(code: str) -> bool:
    """True when GB 3838 gives ``code`` class limits (water temperature has none)."""
    return code in {"ph", "do", "tp"} or code in UPPER_LIMITS


def limits_for(code: str, water_body: WaterBody) -> Limits:
    """The limits of ``code`` (not pH: see :data:`PH_RANGE`); ``KeyError`` naming it when there are none."""
    if code == "do":
        return DO
    if code == "tp":
        return TP_RIVER if water_body is WaterBody.RIVER else TP_LAKE
    if code in UPPER_LIMITS:
        return UPPER_LIMITS[code]
    raise KeyError(f"GB 3838-2002 has no class limits for {code!r}")


def ph_in_range(value: float) -> bool:
    """True when pH is within 6-9 inclusive (every class I-V shares this range)."""
    return PH_RANGE[0] <= value <= PH_RANGE[1]


def classify(code: str, value: float, water_body: WaterBody = WaterBody.RIVER) -> WaterClass:
    """The best class whose limit ``value`` meets; 劣Ⅴ when it meets none.

    ``value`` in mg/L (pH dimensionless, fecal coliform per L), finite and >= 0.
    """
    check_concentration(value, code)
    if code == "ph":
        return WaterClass.I if ph_in_range(value) else WaterClass.WORSE_THAN_V
    return limits_for(code, water_body).best_class(value)


def exceedance(code: str, value: float, against: WaterClass, water_body: WaterBody) -> float | None:
    """超标倍数 of ``value`` against the limit of class ``against`` (I..V).

    ``None`` when the value meets that limit, and always for pH and DO, which have no multiple
    (see :func:`ph_in_range` and :func:`do_shortfall`). Exact: nh3n 1.3 against III gives 0.3.
    """
    check_concentration(value, code)
    if code in {"ph", "do"}:
        return None
    return exceedance_multiple(value, limits_for(code, water_body).limit(against))


def do_shortfall(value: float, against: WaterClass) -> float | None:
    """mg/L by which dissolved oxygen is below the limit of ``against``; ``None`` when it meets it."""
    check_concentration(value, "do")
    return shortfall(value, DO.limit(against))


#: Qualitative description of a class: (Chinese, English).
QUALITY: MappingProxyType[WaterClass, tuple[str, str]] = MappingProxyType(
    {
        WaterClass.I: ("优", "excellent"),
        WaterClass.II: ("优", "excellent"),
        WaterClass.III: ("良好", "good"),
        WaterClass.IV: ("轻度污染", "lightly polluted"),
        WaterClass.V: ("中度污染", "moderately polluted"),
        WaterClass.WORSE_THAN_V: ("重度污染", "heavily polluted"),
    }
)


def quality_word(water_class: WaterClass) -> str:
    """The qualitative word operators use for a class (I-II 优 … 劣Ⅴ 重度污染)."""
    return QUALITY[water_class][0]


def class_name(water_class: WaterClass) -> str:
    """ASCII name of a class as typed on the command line: ``"IV"``, ``"劣V"`` for class 6."""
    return "劣V" if water_class is WaterClass.WORSE_THAN_V else water_class.name
