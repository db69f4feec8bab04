"""GB 3838-2002 Table 1: every limit of every column, just below, at and above it.

The expected table below is typed again from docs/domain.md on purpose: it checks the module's table
rather than reusing it.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stationpipe.kernel.registry import WaterBody, WaterClass
from stationpipe.standards import gb3838

RIVER, LAKE = WaterBody.RIVER, WaterBody.LAKE_RESERVOIR
W6 = WaterClass.WORSE_THAN_V

# code -> (water body, limits I..V), all "<=".
REFERENCE: dict[str, tuple[WaterBody, tuple[float, ...]]] = {
    "codmn": (RIVER, (2, 4, 6, 10, 15)),
    "cod": (RIVER, (15, 15, 20, 30, 40)),
    "bod5": (RIVER, (3, 3, 4, 6, 10)),
    "nh3n": (RIVER, (0.15, 0.5, 1.0, 1.5, 2.0)),
    "tp": (RIVER, (0.02, 0.1, 0.2, 0.3, 0.4)),
    "tp_lake": (LAKE, (0.01, 0.025, 0.05, 0.1, 0.2)),
    "tn": (LAKE, (0.2, 0.5, 1.0, 1.5, 2.0)),
    "cu": (RIVER, (0.01, 1.0, 1.0, 1.0, 1.0)),
    "zn": (RIVER, (0.05, 1.0, 1.0, 2.0, 2.0)),
    "f": (RIVER, (1.0, 1.0, 1.0, 1.5, 1.5)),
    "se": (RIVER, (0.01, 0.01, 0.01, 0.02, 0.02)),
    "as": (RIVER, (0.05, 0.05, 0.05, 0.1, 0.1)),
    "hg": (RIVER, (0.00005, 0.00005, 0.0001, 0.001, 0.001)),
    "cd": (RIVER, (0.001, 0.005, 0.005, 0.005, 0.01)),
    "cr6": (RIVER, (0.01, 0.05, 0.05, 0.05, 0.1)),
    "pb": (RIVER, (0.01, 0.01, 0.05, 0.05, 0.1)),
    "cn": (RIVER, (0.005, 0.05, 0.2, 0.2, 0.2)),
    "phenol": (RIVER, (0.002, 0.002, 0.005, 0.01, 0.1)),
    "oil": (RIVER, (0.05, 0.05, 0.05, 0.5, 1.0)),
    "las": (RIVER, (0.2, 0.2, 0.2, 0.3, 0.3)),
    "s2": (RIVER, (0.05, 0.1, 0.2, 0.5, 1.0)),
    "fcoli": (RIVER, (200, 2000, 10000, 20000, 40000)),
}


def _cases() -> list[tuple[str, WaterBody, float, WaterClass]]:
    """(code, body, value, expected) just below, at and just above every limit."""
    cases = []
    for key, (body, limits) in REFERENCE.items():
        code = key.removesuffix("_lake")
        for lim in limits:
            best = WaterClass(limits.index(lim) + 1)  # shared limits give the best class
            last = len(limits) - 1 - limits[::-1].index(lim)  # last class sharing this limit
            after = WaterClass(last + 2) if last < 4 else W6
            cases.append((code, body, math.nextafter(lim, 0), best))
            cases.append((code, body, lim, best))
            cases.append((code, body, math.nextafter(lim, math.inf), after))
            cases.append((code, body, lim * 1.01, after))
    return cases


@pytest.mark.parametrize(("code", "body", "value", "expected"), _cases())
def test_every_limit_below_at_above(code: str, body: WaterBody, value: float, expected: WaterClass) -> None:
    assert gb3838.classify(code, value, body) is expected


@pytest.mark.parametrize(
    ("code", "value", "expected"),
    [
        ("cu", 1.0, WaterClass.II),
        ("cod", 15, WaterClass.I),
        ("cod", 16, WaterClass.III),
        ("hg", 0.0001, WaterClass.III),
        ("hg", 0.001, WaterClass.IV),
        ("hg", 0.0011, W6),
        ("cn", 0.2, WaterClass.III),
        ("cn", 0.21, W6),
        ("nh3n", 0.0, WaterClass.I),
        ("nh3n", 1.3, WaterClass.IV),
        ("tp", 0.18, WaterClass.III),
        ("fcoli", 40001, W6),
    ],
)
def test_shared_limits_take_the_best_class(code: str, value: float, expected: WaterClass) -> None:
    assert gb3838.classify(code, value, RIVER) is expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (7.5, WaterClass.I),
        (math.nextafter(7.5, 0), WaterClass.II),
        (6.0, WaterClass.II),
        (5.99, WaterClass.III),
        (5.0, WaterClass.III),
        (4.99, WaterClass.IV),
        (3.0, WaterClass.IV),
        (2.99, WaterClass.V),
        (2.0, WaterClass.V),
        (math.nextafter(2.0, 0), W6),
        (0.0, W6),
        (12.0, WaterClass.I),
    ],
)
def test_dissolved_oxygen_is_a_lower_limit(value: float, expected: WaterClass) -> None:
    assert gb3838.classify("do", value) is expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (6.0, WaterClass.I),
        (9.0, WaterClass.I),
        (7.4, WaterClass.I),
        (math.nextafter(6.0, 0), W6),
        (math.nextafter(9.0, math.inf), W6),
        (5.0, W6),
        (10.0, W6),
    ],
)
def test_ph_range(value: float, expected: WaterClass) -> None:
    assert gb3838.classify("ph", value) is expected


def test_tp_depends_on_the_water_body() -> None:
    assert gb3838.classify("tp", 0.05, RIVER) is WaterClass.II
    assert gb3838.classify("tp", 0.05, LAKE) is WaterClass.III
    assert gb3838.classify("tp", 0.3, LAKE) is W6


def test_temperature_has_no_class() -> None:
    assert not gb3838.has_class("temp")
    with pytest.raises(KeyError, match="temp"):
        gb3838.classify("temp", 20.0)


@pytest.mark.parametrize("value", [-0.01, math.nan, math.inf])
def test_bad_values_are_refused(value: float) -> None:
    with pytest.raises(ValueError, match="nh3n"):
        gb3838.classify("nh3n", value)


def test_the_21_evaluated_items() -> None:
    assert len(gb3838.EVALUATED) == 21
    assert not gb3838.EVALUATED & {"temp", "tn", "fcoli"}


def test_module_table_matches_reference() -> None:
    for key, (body, limits) in REFERENCE.items():
        got = gb3838.limits_for(key.removesuffix("_lake"), body).values
        assert got == limits, key
    assert gb3838.DO.values == (7.5, 6, 5, 3, 2)


@pytest.mark.parametrize(
    ("code", "value", "against", "expected"),
    [
        ("nh3n", 1.3, WaterClass.III, 0.3),
        ("nh3n", 1.0, WaterClass.III, None),
        ("nh3n", 1.3, WaterClass.IV, None),
        ("nh3n", 3.0, WaterClass.II, 5.0),
        ("hg", 0.0002, WaterClass.III, 1.0),
        ("tp", 0.25, WaterClass.III, 0.25),
        ("codmn", 6.6, WaterClass.III, 0.1),
        ("cod", 15, WaterClass.I, None),
        ("ph", 10.0, WaterClass.III, None),
        ("do", 1.0, WaterClass.III, None),
    ],
)
def test_exceedance_multiple(code: str, value: float, against: WaterClass, expected: float | None) -> None:
    assert gb3838.exceedance(code, value, against, RIVER) == expected


def test_do_shortfall() -> None:
    assert gb3838.do_shortfall(4.5, WaterClass.III) == 0.5
    assert gb3838.do_shortfall(5.0, WaterClass.III) is None
    assert gb3838.do_shortfall(1.9, WaterClass.II) == 4.1


def test_quality_words_and_names() -> None:
    words = [gb3838.quality_word(c) for c in WaterClass]
    assert words == ["优", "优", "良好", "轻度污染", "中度污染", "重度污染"]
    assert gb3838.class_name(WaterClass.IV) == "IV"
    assert gb3838.class_name(W6) == "劣V"


def test_limit_of_worse_than_v_is_refused() -> None:
    with pytest.raises(ValueError, match="劣Ⅴ"):
        gb3838.DO.limit(W6)


_UPPER = [*sorted(gb3838.UPPER_LIMITS), "tp"]


@given(code=st.sampled_from(_UPPER), a=st.floats(0, 50000), b=st.floats(0, 50000), lake=st.booleans())
def test_class_never_improves_as_a_value_rises(code: str, a: float, b: float, lake: bool) -> None:
    body = LAKE if lake else RIVER
    low, high = sorted((a, b))
    assert gb3838.classify(code, low, body) <= gb3838.classify(code, high, body)


@given(a=st.floats(0, 20), b=st.floats(0, 20))
def test_do_class_never_improves_as_oxygen_falls(a: float, b: float) -> None:
    low, high = sorted((a, b))
    assert gb3838.classify("do", low) >= gb3838.classify("do", high)


@given(code=st.sampled_from(_UPPER), value=st.floats(0, 50000))
def test_exceedance_exists_exactly_when_the_class_is_worse(code: str, value: float) -> None:
    for against in list(WaterClass)[:5]:
        worse = gb3838.classify(code, value, RIVER) > against
        assert (gb3838.exceedance(code, value, against, RIVER) is not None) == worse
