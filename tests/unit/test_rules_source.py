"""The ``source`` rule kind: GB 3838 Tables 2-3 limits at drinking-water source stations only."""

from __future__ import annotations

import pytest

from stationpipe.kernel.registry import StationInfo
from tests.unit.rules_helpers import AIR, WATER
from tests.unit.test_rules_kinds import kind_of, run

SOURCE = WATER.model_copy(update={"id": "src1", "drinking_source": True})


@pytest.mark.parametrize(
    ("param", "values", "levels"),
    [
        # manganese limit 0.1: 90 % approaches, equal meets, 0.12 exceeds (0.2x), 0.15 is 0.5x, 0.2 is 1.0x
        ("mn", [0.05, 0.09, 0.1, 0.12, 0.15, 0.2], [0, 1, 1, 2, 3, 4]),
        ("so4", [100.0, 260.0], [0, 2]),  # sulfate 250
        ("no3n", [9.0, 10.5], [1, 2]),  # nitrate (as N) 10
        ("benzene_w", [0.011], [2]),  # Table 3 benzene 0.01
    ],
)
def test_source_limits_warn(param: str, values: list[float], levels: list[int]) -> None:
    outs = run(kind_of(kind="source"), values, info=SOURCE, param=param)
    assert [o.level for o in outs if o] == levels


def test_only_source_stations_and_source_items() -> None:
    kind = kind_of(kind="source")
    assert kind.watches(SOURCE, "fe")
    assert not kind.watches(WATER, "fe")  # an ordinary section: Table 2 does not apply
    assert not kind.watches(SOURCE, "nh3n")  # Table 1 items are the section kind's
    assert not kind.watches(AIR, "fe")
    assert kind_of(kind="source", parameters=["mn"]).watches(SOURCE, "mn")
    assert not kind_of(kind="source", parameters=["mn"]).watches(SOURCE, "fe")


def test_the_message_names_the_source_limit() -> None:
    out = run(kind_of(kind="source"), [0.4], info=SOURCE, param="fe")[-1]
    assert out is not None
    assert "水源地标准" in out.zh
    assert "0.3" in out.zh


def test_only_water_stations_can_be_sources() -> None:
    with pytest.raises(ValueError, match="drinking-water source"):
        StationInfo.model_validate({**AIR.model_dump(), "drinking_source": True})
