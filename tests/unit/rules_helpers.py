"""Shared builders for the rules tests: stations, readings, a config with rules given as dicts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from stationpipe.kernel.catalogue import Kind
from stationpipe.kernel.reading import Flag, Reading, StationMessage
from stationpipe.kernel.registry import StationInfo, WaterBody, WaterClass
from stationpipe.rules.config import RulesConfig

T0 = datetime(2026, 5, 1, tzinfo=UTC)
WATER = StationInfo(
    id="w1",
    name="测试断面",
    kind=Kind.WATER,
    section="测试断面",
    target_class=WaterClass.III,
    water_body=WaterBody.RIVER,
    lat=30,
    lon=120,
)
AIR = StationInfo(id="a1", name="测试空气站", kind=Kind.AIR, lat=30, lon=120)

REGISTRY = """kind = "registry"
[[stations]]
id = "w1"
name = "测试断面"
kind = "water"
section = "测试断面"
target_class = "III"
water_body = "river"
lat = 30.0
lon = 120.0
[[stations]]
id = "a1"
name = "测试空气站"
kind = "air"
lat = 30.0
lon = 120.0
"""


def reading(
    param: str, value: float | None, minutes: float = 0, flag: Flag = Flag.N, station: str = "w1"
) -> Reading:
    """One reading ``minutes`` after T0."""
    return Reading(station, param, value, "mg/L", T0 + timedelta(minutes=minutes), flag)


def message(seq: int, ts: datetime, station: str = "w1", **values: float) -> StationMessage:
    """A readings message of ``values`` at ``ts``."""
    readings = tuple(Reading(station, p, v, "mg/L", ts) for p, v in values.items())
    return StationMessage(station, "dev", seq, ts, readings)


def config(tmp: Path, rules: list[dict[str, Any]], **extra: Any) -> RulesConfig:
    """A rules config with the two-station registry written to ``tmp``."""
    (tmp / "registry.toml").write_text(REGISTRY, encoding="utf-8")
    doc: dict[str, Any] = {
        "registry": str(tmp / "registry.toml"),
        "state": str(tmp / "state.sqlite3"),
        "mqtt": {"client_id": "rules-test"},
        "rules": rules,
        **extra,
    }
    return RulesConfig.model_validate(doc)
