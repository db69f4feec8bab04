"""GB 3838-2002 for centralised drinking-water sources (集中式生活饮用水地表水水源地).

A source is evaluated against Table 1 for its class (its target class, the single-factor method of
:mod:`~stationpipe.standards.gb3838_section`), plus Table 2 (supplementary items, every source) and the
Table 3 specific items the station measures. Each Table 2 / Table 3 item has one limit (mg/L, "<="; a value
equal to it meets it). A source meets its standard (达标) when its class is its target or better and no
Table 2 / Table 3 item exceeds its limit; the compliance rate (水源达标率) = sources meeting / sources
evaluated x 100 %. Numbers and sources: docs/domain.md#drinking-water-sources.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from stationpipe.kernel.registry import WaterBody, WaterClass
from stationpipe.standards.common import Share, check_concentration, exceedance_multiple
from stationpipe.standards.gb3838_section import SectionResult
from stationpipe.standards.water_stats import section_class

#: Table 2, supplementary items (mg/L): sulfate (as SO4 2-), chloride (as Cl-), nitrate (as N), iron,
#: manganese.
SUPPLEMENTARY: MappingProxyType[str, float] = MappingProxyType(
    {"so4": 250.0, "cl": 250.0, "no3n": 10.0, "fe": 0.3, "mn": 0.1}
)
#: Table 3, the specific items the catalogue holds (mg/L).
SPECIFIC: MappingProxyType[str, float] = MappingProxyType(
    {
        "chloroform": 0.06,
        "ccl4": 0.002,
        "styrene": 0.02,
        "hcho": 0.9,
        "benzene_w": 0.01,
        "ethylbenzene": 0.3,
        "xylene_w": 0.5,
        "chlorobenzene": 0.3,
        "nitrobenzene": 0.017,
    }
)
#: Every single-limit source item.
SOURCE_LIMITS: MappingProxyType[str, float] = MappingProxyType({**SUPPLEMENTARY, **SPECIFIC})


def source_limit(code: str) -> float:
    """The Table 2 / Table 3 limit of ``code``; ``KeyError`` naming it when it has none."""
    try:
        return SOURCE_LIMITS[code]
    except KeyError:
        raise KeyError(f"GB 3838-2002 Tables 2-3 have no source limit for {code!r}") from None


def exceeds(code: str, value: float) -> float | None:
    """The exceedance multiple of a source item over its limit (exact); ``None`` when it meets it."""
    check_concentration(value, code)
    return exceedance_multiple(value, source_limit(code))


@dataclass(frozen=True, slots=True)
class SourceResult:
    """One source over a period: its Table 1 evaluation and the Table 2/3 items over their limits."""

    table1: SectionResult | None
    over: Mapping[str, float]
    checked: tuple[str, ...]

    @property
    def evaluated(self) -> bool:
        """True when anything was evaluated (a Table 1 item or a source item had a mean)."""
        return self.table1 is not None or bool(self.checked)

    @property
    def meets(self) -> bool:
        """达标: the class meets the target (when classed) and no source item exceeds its limit."""
        return self.evaluated and not self.over and (self.table1 is None or self.table1.meets_target)


def evaluate_source(means: Mapping[str, float], target: WaterClass, body: WaterBody) -> SourceResult:
    """Evaluate a source from its period means (mg/L; pH dimensionless)."""
    checked = tuple(sorted(code for code in means if code in SOURCE_LIMITS))
    over: dict[str, float] = {}
    for code in checked:
        multiple = exceeds(code, means[code])
        if multiple is not None:
            over[code] = multiple
    return SourceResult(section_class(means, target, body), MappingProxyType(over), checked)


def compliance_rate(results: Iterable[SourceResult]) -> Share:
    """水源达标率: sources meeting their standard / sources evaluated."""
    kept = [r for r in results if r.evaluated]
    return Share(sum(r.meets for r in kept), len(kept))
