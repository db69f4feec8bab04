"""Official water statistics: a section's period mean and class (《地表水环境质量评价办法（试行）》,
环办〔2011〕22号), capture rates, and the headline shares (docs/domain.md).

- the class of a section over a period (day, month) is the single-factor class of the arithmetic means of
  its valid readings (flag N, with a value) of the 21 evaluated items; water temperature, TN and fecal
  coliform do not decide it;
- a parameter's mean counts when it has at least ``min_values`` valid readings (*policy*, default 1: the
  办法 evaluates a week, ten days or a month on one result when there is only one);
- capture rate = distinct (parameter, slot) pairs with a valid reading / (parameters x slots) x 100 %;
- share at class III or better = sections classed I-III / sections classed; 劣Ⅴ count likewise.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from stationpipe.kernel.reading import Reading, require_utc
from stationpipe.kernel.registry import WaterBody, WaterClass
from stationpipe.standards import gb3838
from stationpipe.standards.common import Share
from stationpipe.standards.gb3838_section import SectionResult, evaluate_values


def period_means(
    readings: Iterable[Reading], start: datetime, end: datetime, *, min_values: int = 1
) -> dict[str, float]:
    """Per parameter, the arithmetic mean of the valid readings in ``[start, end)`` (one station)."""
    require_utc(start, "start")
    require_utc(end, "end")
    values: defaultdict[str, list[float]] = defaultdict(list)
    for r in readings:
        if start <= r.ts < end and r.flag.valid and r.value is not None:
            values[r.parameter].append(r.value)
    return {p: math.fsum(v) / len(v) for p, v in values.items() if len(v) >= min_values}


def section_class(means: Mapping[str, float], target: WaterClass, body: WaterBody) -> SectionResult | None:
    """The single-factor evaluation of the means; ``None`` when no evaluated item has a mean."""
    if not any(code in gb3838.EVALUATED for code in means):
        return None
    return evaluate_values(means, target, body)


@dataclass(frozen=True, slots=True)
class Capture:
    """Valid (parameter, slot) pairs against those expected."""

    valid: int
    expected: int

    @property
    def percent(self) -> float | None:
        """valid / expected x 100 % (``None`` when nothing is expected)."""
        return None if not self.expected else 100.0 * self.valid / self.expected


def capture(
    readings: Iterable[Reading],
    parameters: Iterable[str],
    start: datetime,
    end: datetime,
    interval: timedelta,
) -> Capture:
    """Capture of ``parameters`` over ``[start, end)`` with one value expected every ``interval``."""
    require_utc(start, "start")
    codes = set(parameters)
    slots = math.ceil((end - start) / interval)
    seen = {
        (r.parameter, (r.ts - start) // interval)
        for r in readings
        if r.parameter in codes and start <= r.ts < end and r.flag.valid and r.value is not None
    }
    return Capture(len(seen), len(codes) * slots)


def share_iii_or_better(classes: Iterable[WaterClass]) -> Share:
    """达到或优于Ⅲ类: sections classed I-III / sections classed."""
    kept = list(classes)
    return Share(sum(c <= WaterClass.III for c in kept), len(kept))


def worse_than_v(classes: Mapping[str, WaterClass]) -> tuple[str, ...]:
    """The sections classed 劣Ⅴ, sorted."""
    return tuple(sorted(s for s, c in classes.items() if c is WaterClass.WORSE_THAN_V))
