"""核电厂外围辐射环境自动监测 through the real pipeline: two simulated gamma stations with rain sensors
(``radiation_gamma`` profile) -> ``stationpipe edge`` -> Mosquitto -> rules engine. Once each station
has a background record, rain with its washout rise starts on one and a rise without rain on the other
(control channel); the background rule's warnings on ``warnings/<station>/background.gamma`` tell the
rain-induced rise (blue) from the one to investigate (yellow)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from stationpipe.testbed.services import Services
from tests.integration.programme_helpers import (
    Station,
    listening,
    rules_config,
    simulated,
    start_scenarios,
    until,
)
from tests.integration.rules_helpers import engine

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]
PLANT = "测试核电厂"
RAINY = Station(
    "it-rad-1", f'name = "北侧站"\nkind = "radiation"\nplant = "{PLANT}"', "radiation_gamma", seed=7
)
DRY = Station(
    "it-rad-2", f'name = "南侧站"\nkind = "radiation"\nplant = "{PLANT}"', "radiation_gamma", seed=8
)
SCENARIOS = f"""
[[scenarios]]
name = "rain"
kind = "rain"
devices = ["{RAINY.id}-dev"]
amount = 0.4
duration = 120
[[scenarios]]
name = "washout"
kind = "washout"
devices = ["{RAINY.id}-dev"]
increase = 40.0
build = 2
rain_for = 120
half_life = 60
[[scenarios]]
name = "release"
kind = "leak"
devices = ["{DRY.id}-dev"]
parameter = "gamma"
peak = 150.0
rise = 3
hold = 120
decay = 5
"""
RULES = [
    {
        "name": "background",
        "kind": "background",
        "station_kinds": ["radiation"],
        "window": "5m",
        "bin_width": "1s",
        "min_samples": 8,
        "n_sigma": 3.0,
        "min_sigma": 3.0,  # nGy/h: the simulated counting noise is 2, so noise never reaches mean + 9
        "rain_lookback": "5m",
        "absolute": {"4": 1000.0},
    }
]
RULE = "background.gamma"


async def test_rain_induced_rise_is_told_apart_from_a_dry_one(services: Services, tmp_path: Path) -> None:
    cfg = rules_config(services, tmp_path, [RAINY, DRY], RULES)
    async with listening(services.mosquitto.port) as heard, engine(cfg):
        with simulated(services, tmp_path, [RAINY, DRY], SCENARIOS) as (pipe, control):
            await until(
                lambda: min(heard.count(RAINY.id), heard.count(DRY.id)) >= 10, "10 polls of each", 30, pipe
            )
            began = datetime.now(UTC) - timedelta(seconds=1)  # reading times come from this machine's clock
            await start_scenarios(pipe, control, "rain", "washout", "release")
            await until(
                lambda: bool(heard.firing(RAINY.id, RULE) and heard.firing(DRY.id, RULE)),
                "a warning at each station",
                20,
                pipe,
            )
    assert all(w.started >= began for w in heard.warnings if w.station in {RAINY.id, DRY.id})  # none before
    rainy, dry = heard.firing(RAINY.id, RULE)[0], heard.firing(DRY.id, RULE)[0]
    assert rainy.level == 1
    assert f"核电厂 {PLANT} 外围 北侧站: γ辐射空气吸收剂量率 γ" in rainy.message
    assert "判为降雨导致的升高 (雨致)" in rainy.message
    assert "classified rain-induced" in rainy.message
    assert "非降雨" not in rainy.message
    assert dry.level == 2
    assert "近期无降雨: 非降雨所致, 需调查" in dry.message
    assert "no recent rain: not rain-induced, investigate" in dry.message
    assert dry.limit is not None
    assert dry.value is not None
    assert dry.value > dry.limit
    rain_seen = [
        r.value for m in heard.readings if m.station == RAINY.id for r in m.readings if r.parameter == "rain"
    ]
    assert max(v or 0.0 for v in rain_seen) == pytest.approx(0.4)
    assert all(
        not r.value
        for m in heard.readings
        if m.station == DRY.id
        for r in m.readings
        if r.parameter == "rain"
    )
