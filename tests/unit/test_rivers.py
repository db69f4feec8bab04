"""The registry's rivers: flow order, cumulated travel times, and every way a river table can be wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from stationpipe.kernel.errors import ConfigError
from stationpipe.kernel.registry import load_registry
from stationpipe.kernel.rivers import Reach
from tests.unit.river_helpers import RIVER_REGISTRY


def _load(tmp_path: Path, text: str) -> None:
    path = tmp_path / "registry.toml"
    path.write_text(text, encoding="utf-8")
    load_registry(path)


def _error(tmp_path: Path, text: str) -> str:
    with pytest.raises(ConfigError) as err:
        _load(tmp_path, text)
    assert "registry.toml" in str(err.value)
    return str(err.value)


def test_downstream_sections_with_cumulated_travel_times(tmp_path: Path) -> None:
    path = tmp_path / "registry.toml"
    path.write_text(RIVER_REGISTRY, encoding="utf-8")
    reg = load_registry(path)
    assert reg.downstream("up") == (Reach("mid", 1, 2.0, 3.0, "江"), Reach("down", 2, 6.0, 7.0, "江"))
    assert reg.downstream("trib") == (Reach("mid", 1, 1.0, 1.5, "江"), Reach("down", 2, 5.0, 5.5, "江"))
    assert reg.downstream("down") == ()
    assert reg.downstream("air") == ()


ORDER = '["up", "mid", "down"]'
WRONG = [
    ((ORDER, '["up", "mid", "nowhere"]'), "rivers[0].sections[2]: unknown station 'nowhere'"),
    ((ORDER, '["up", "mid", "air"]'), "rivers[0].sections[2]: station 'air' is not a water"),
    ((ORDER, '["up", "mid", "up"]'), "rivers[0].sections[2]: section 'up' is twice"),
    (('sections = ["trib"]', 'sections = ["down"]'), "rivers[1].sections[0]: section 'down' is also on '江'"),
    (("[[2, 3], 4]", "[[2, 3]]"), "travel_hours needs 2 reach(es) for 3 sections, got 1"),
    (("[[2, 3], 4]", "[[3, 2], 4]"), "travel_hours[0]: earliest 3 h is after latest 2 h"),
    (('flows_into = "mid"', 'flows_into = "sea"'), "rivers[1].flows_into: 'sea' is not a section"),
    (("flows_into_hours = [1, 1.5]", ""), "give flows_into and flows_into_hours together"),
    (('name = "支流"', 'name = "江"'), "rivers[1].name: river '江' is also rivers[0]"),
]


@pytest.mark.parametrize(("change", "expected"), WRONG)
def test_a_wrong_river_table_names_the_file_and_key(
    tmp_path: Path, change: tuple[str, str], expected: str
) -> None:
    assert change[0] in RIVER_REGISTRY
    assert expected in _error(tmp_path, RIVER_REGISTRY.replace(*change, 1))


def test_a_station_on_another_river_than_it_says(tmp_path: Path) -> None:
    text = RIVER_REGISTRY.replace('river = "支流"', 'river = "别的江"')
    assert "rivers[1].sections[0]: station 'trib' says river '别的江'" in _error(tmp_path, text)


def test_rivers_flowing_into_each_other_are_a_cycle(tmp_path: Path) -> None:
    loop = 'travel_hours = [[2, 3], 4]\nflows_into = "trib"\nflows_into_hours = 1'
    text = RIVER_REGISTRY.replace("travel_hours = [[2, 3], 4]", loop)
    assert "the rivers flow in a cycle: 江 -> 支流 -> 江" in _error(tmp_path, text)
