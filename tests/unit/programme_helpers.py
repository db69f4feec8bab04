"""Builders shared by the chemical-park and radiation unit tests: stations, a registry, readings, rules."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter

from stationpipe.kernel.catalogue import Kind as StationKind
from stationpipe.kernel.catalogue import parameter
from stationpipe.kernel.reading import Flag, Reading
from stationpipe.kernel.registry import StationInfo
from stationpipe.rules.config import RulesConfig
from stationpipe.rules.kinds import Kind, build
from stationpipe.rules.rule_models import Rule
from tests.unit.rules_helpers import T0

PARK = "宁波石化经济技术开发区"
PLANT = "秦山核电基地"
GAS = StationInfo(id="g1", name="石化区东门站", kind=StationKind.GAS, park=PARK, lat=30, lon=121.6)
RAD = StationInfo(
    id="r1", name="秦山北侧辐射站", kind=StationKind.RADIATION, plant=PLANT, lat=30.4, lon=120.9
)

REGISTRY = f"""kind = "registry"
[[stations]]
id = "g1"
name = "{GAS.name}"
kind = "gas"
park = "{PARK}"
lat = 30.0
lon = 121.6
[[stations]]
id = "r1"
name = "{RAD.name}"
kind = "radiation"
plant = "{PLANT}"
lat = 30.4
lon = 120.9
"""

_ADAPTER: TypeAdapter[Any] = TypeAdapter(Rule)


def rule(**fields: Any) -> Any:
    """A validated rule of any kind (``name`` defaults to ``r``)."""
    return _ADAPTER.validate_python({"name": "r", **fields})


def kind_of(**fields: Any) -> Kind:
    """The evaluator of a rule given as fields."""
    built = build(rule(**fields))
    assert built is not None
    return built


def at(code: str, value: float | None, seconds: float, station: str = "g1", flag: Flag = Flag.N) -> Reading:
    """A reading of ``code`` in its catalogue unit, ``seconds`` after T0."""
    return Reading(station, code, value, parameter(code).unit, T0 + timedelta(seconds=seconds), flag)


def config(tmp: Path, rules: list[dict[str, Any]]) -> RulesConfig:
    """A rules config over the gas + radiation registry written to ``tmp``."""
    (tmp / "registry.toml").write_text(REGISTRY, encoding="utf-8")
    return RulesConfig.model_validate(
        {
            "registry": str(tmp / "registry.toml"),
            "state": str(tmp / "state.sqlite3"),
            "mqtt": {"client_id": "rules-test"},
            "rules": rules,
        }
    )
