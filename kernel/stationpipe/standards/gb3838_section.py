"""GB 3838-2002 single-factor evaluation of a section: its class, worst items and main pollutants.

The class of a section is the worst class among the 21 evaluated items present (water temperature, TN and
fecal coliform are not evaluated; for lakes and reservoirs TN gets its own class, reported separately).
Only valid readings (flag N, with a value) count.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import NamedTuple

from stationpipe.kernel.reading import Reading
from stationpipe.kernel.registry import WaterBody, WaterClass
from stationpipe.standards import gb3838
from stationpipe.standards.common import check_concentration, exceedance_multiple, shortfall

#: Cyanide and heavy metals: when they exceed class III they lead the main pollutants.
TOXIC: frozenset[str] = frozenset({"cn", "as", "hg", "cd", "cr6", "pb", "cu", "zn"})
#: How many main pollutants a report names (《地表水环境质量评价办法》: the first three).
MAIN_POLLUTANTS = 3


class ItemResult(NamedTuple):
    """One evaluated item of a section.

    ``exceedance`` / ``exceedance_iii``: multiple against the target / class III, ``None`` when the value
    meets it or the item has none (pH, DO). ``do_shortfall``: mg/L below the target's DO limit.
    ``ph_out_of_range``: pH outside 6-9.

    Immutable; a named tuple rather than a frozen dataclass because the engine builds a section result
    whenever an item's class changes, and a frozen dataclass costs several times more to construct.
    """

    parameter: str
    value: float
    water_class: WaterClass
    exceedance: float | None
    exceedance_iii: float | None
    do_shortfall: float | None = None
    ph_out_of_range: bool = False

    @property
    def exceeds_target(self) -> bool:
        """True when the item does not meet the target class."""
        return self.exceedance is not None or self.do_shortfall is not None or self.ph_out_of_range


@dataclass(frozen=True, slots=True)
class SectionResult:
    """The evaluation of one section against its target class.

    ``items`` is never empty. ``worst`` lists the items at the section's class, ranked like main pollutants;
    ``separate`` holds TN of a lake or reservoir; ``excluded`` the codes present but not evaluated.
    """

    water_class: WaterClass
    target: WaterClass
    water_body: WaterBody
    items: tuple[ItemResult, ...]
    worst: tuple[str, ...]
    main_pollutants: tuple[str, ...]
    separate: tuple[ItemResult, ...]
    excluded: tuple[str, ...]

    @property
    def meets_target(self) -> bool:
        """True when the section's class is the target class or better."""
        return self.water_class <= self.target

    @property
    def quality(self) -> str:
        """The qualitative word of the section's class (优, 良好, …)."""
        return gb3838.quality_word(self.water_class)


def evaluate_item(code: str, value: float, target: WaterClass, water_body: WaterBody) -> ItemResult:
    """Evaluate one item with a class limit against ``target`` and class III.

    What :func:`gb3838.classify`, :func:`gb3838.exceedance` and :func:`gb3838.do_shortfall` give, with the
    value checked and the item's limits looked up once (a section result is built on the engine's hot path).
    """
    check_concentration(value, code)
    if code == "ph":
        bad = not gb3838.ph_in_range(value)
        cls = WaterClass.WORSE_THAN_V if bad else WaterClass.I
        return ItemResult(code, value, cls, None, None, None, bad)
    limits = gb3838.limits_for(code, water_body)
    if code == "do":  # no exceedance multiple: a shortfall below the lower limit
        short = shortfall(value, limits.limit(target))
        return ItemResult(code, value, limits.best_class(value), None, None, short)
    over = exceedance_multiple(value, limits.limit(target))
    over_iii = exceedance_multiple(value, limits.limit(WaterClass.III))
    return ItemResult(code, value, limits.best_class(value), over, over_iii)


def _rank_key(item: ItemResult) -> tuple[bool, int, float]:
    toxic_exceeds = item.parameter in TOXIC and item.exceedance_iii is not None
    return (not toxic_exceeds, -item.water_class, -(item.exceedance_iii or 0.0))  # an IntEnum: int arithmetic


def main_pollutants(items: Iterable[ItemResult]) -> tuple[str, ...]:
    """Up to three items worse than class III: cyanide/heavy metals first, then by class, then multiple."""
    return _main(sorted(items, key=_rank_key))


def _main(ranked: Iterable[ItemResult]) -> tuple[str, ...]:
    """The main pollutants of items already in :func:`_rank_key` order (a stable sort: filtering the ranked
    items gives the order of ranking the filtered ones)."""
    over = [i.parameter for i in ranked if i.water_class > WaterClass.III]
    return tuple(over[:MAIN_POLLUTANTS])


def evaluate_values(values: Mapping[str, float], target: WaterClass, water_body: WaterBody) -> SectionResult:
    """Single-factor evaluation of a section from ``{parameter code: value}``.

    Codes without a GB 3838 class, or not among the 21 evaluated items, are listed in ``excluded``
    (TN of a lake or reservoir is classed in ``separate``). ``ValueError`` when no evaluated item is given.
    """
    if target is WaterClass.WORSE_THAN_V:
        raise ValueError("the target class must be I..V")
    items = tuple(evaluate_item(c, v, target, water_body) for c, v in values.items() if c in gb3838.EVALUATED)
    if not items:
        raise ValueError("no evaluated GB 3838 item among " + (", ".join(values) or "nothing"))
    separate: tuple[ItemResult, ...] = ()
    if water_body is WaterBody.LAKE_RESERVOIR and "tn" in values:
        separate = (evaluate_item("tn", values["tn"], target, water_body),)
    excluded = tuple(c for c in values if c not in gb3838.EVALUATED)
    worst_class = max(i.water_class for i in items)
    ranked = sorted(items, key=_rank_key)
    return SectionResult(
        water_class=worst_class,
        target=target,
        water_body=water_body,
        items=items,
        worst=tuple(i.parameter for i in ranked if i.water_class == worst_class),
        main_pollutants=_main(ranked),
        separate=separate,
        excluded=excluded,
    )


class ClassSummary(NamedTuple):
    """What :func:`evaluate_values` gives for a section's class, without the exceedance multiples."""

    water_class: WaterClass
    worst: tuple[str, ...]
    exceed: tuple[str, ...]


def summarise_values(values: Mapping[str, float], target: WaterClass, water_body: WaterBody) -> ClassSummary:
    """The class, worst items and items missing the target of :func:`evaluate_values`, identical to it.

    The engine's hot path (a ``water_class`` record whenever an item's class changes): classes and the
    target test are comparisons with the limits; the exact class III multiples that rank the worst items
    are computed only when several items share the worst class. Same checks, same ``ValueError``.
    """
    if target is WaterClass.WORSE_THAN_V:
        raise ValueError("the target class must be I..V")
    items: list[tuple[str, float, WaterClass]] = []
    exceed: list[str] = []
    for code, value in values.items():
        if code not in gb3838.EVALUATED:
            continue
        check_concentration(value, code)
        if code == "ph":
            bad = not gb3838.ph_in_range(value)
            items.append((code, value, WaterClass.WORSE_THAN_V if bad else WaterClass.I))
            missed = bad
        else:
            limits = gb3838.limits_for(code, water_body)
            items.append((code, value, limits.best_class(value)))
            missed = not limits.meets(value, target)
        if missed:
            exceed.append(code)
    if not items:
        raise ValueError("no evaluated GB 3838 item among " + (", ".join(values) or "nothing"))
    if water_body is WaterBody.LAKE_RESERVOIR and "tn" in values:
        check_concentration(values["tn"], "tn")  # evaluate_values classes it separately
    worst_class = max(cls for _, _, cls in items)
    worst = tuple(code for code, _, cls in items if cls == worst_class)
    if len(worst) > 1:  # ranked as evaluate_values ranks them (a stable sort: the full order, filtered)
        tied = [evaluate_item(code, values[code], target, water_body) for code in worst]
        worst = tuple(i.parameter for i in sorted(tied, key=_rank_key))
    return ClassSummary(worst_class, worst, tuple(exceed))


def evaluate_readings(
    readings: Iterable[Reading], target: WaterClass, water_body: WaterBody
) -> SectionResult:
    """Evaluate a section from readings: only valid ones (flag N, with a value); the latest per parameter."""
    latest: dict[str, Reading] = {}
    for r in readings:
        if (
            r.flag.valid
            and r.value is not None
            and (r.parameter not in latest or r.ts > latest[r.parameter].ts)
        ):
            latest[r.parameter] = r
    return evaluate_values({c: r.value for c, r in latest.items() if r.value is not None}, target, water_body)
