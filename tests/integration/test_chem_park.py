"""化工园区有毒有害气体预警 through the real pipeline: a simulated park station (anemometer + gas analysers,
``chem_park_gas`` profile) -> ``stationpipe edge`` -> Mosquitto -> rules engine. An H2S leak started on
the simulator's control channel raises a rapid-rise, a short-term-mean and a MAC warning on
``warnings/<station>/<rule>``, each naming the park and the wind direction read at that instant."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from stationpipe.kernel.messages import WarningEvent
from stationpipe.rules.kinds.context import compass
from stationpipe.testbed.services import Services
from tests.integration.programme_helpers import (
    Heard,
    Station,
    listening,
    rules_config,
    simulated,
    start_scenarios,
    until,
)
from tests.integration.rules_helpers import engine

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]
PARK = "测试化工园区"
STATION = Station("it-gas-1", f'name = "东门站"\nkind = "gas"\npark = "{PARK}"', "chem_park_gas", seed=5)
LEAK = """
[[scenarios]]
name = "h2s-leak"
kind = "leak"
parameter = "h2s"
peak = 15.0
rise = 3
hold = 120
decay = 5
"""
RULES = [
    {"name": "mac", "kind": "gas_instant", "limits": {"h2s": 10.0}, "basis": "GBZ 2.1-2019 MAC"},
    {"name": "mean", "kind": "gas_average", "limits": {"h2s": 8.0}, "over": "6s", "resolution": "1s"},
    {"name": "rise", "kind": "gas_rise", "rises": {"h2s": 3.0}, "within": "10s"},
]


def _wind_at(heard: Heard, warning: WarningEvent) -> float:
    """The wind direction the station published in the same poll as the gas reading that changed state."""
    for msg in heard.readings:
        if msg.station == STATION.id and msg.ts == warning.ts:
            wind = next(r for r in msg.readings if r.parameter == "wind_dir")
            assert wind.value is not None
            return wind.value
    pytest.fail(f"no readings message at {warning.ts}")


async def test_h2s_leak_warnings_name_the_park_and_the_wind(services: Services, tmp_path: Path) -> None:
    cfg = rules_config(services, tmp_path, [STATION], RULES)
    async with listening(services.mosquitto.port) as heard, engine(cfg):
        with simulated(services, tmp_path, [STATION], LEAK) as (pipe, control):
            await until(lambda: heard.count(STATION.id) >= 8, "8 polls of the park station", 30, pipe)
            began = datetime.now(UTC) - timedelta(seconds=1)  # reading times come from this machine's clock
            await start_scenarios(pipe, control, "h2s-leak")
            done = ("mac.h2s", "mean.h2s", "rise.h2s")
            await until(
                lambda: (
                    all(heard.firing(STATION.id, r) for r in done)
                    and heard.firing(STATION.id, "mac.h2s")[-1].level == 3
                ),
                "rise, mean and MAC warnings",
                20,
                pipe,
            )
    assert all(w.started >= began for w in heard.warnings if w.station == STATION.id)  # none before the leak
    mac = heard.firing(STATION.id, "mac.h2s")[-1]
    degrees = _wind_at(heard, mac)
    zh, en = compass(degrees)
    assert mac.value is not None
    assert mac.value > 10.0
    assert f"化工园区 {PARK} 东门站: 硫化氢 H2S" in mac.message
    assert "超过限值 10 (GBZ 2.1-2019 MAC)" in mac.message
    assert f"风向 {zh} {en} {degrees:.0f}°" in mac.message
    assert f"{PARK} chemical park, station {STATION.id}: H2S" in mac.message
    assert f"wind from {en} {degrees:.0f}°" in mac.message
    mean = heard.firing(STATION.id, "mean.h2s")[0]
    assert "6 秒均值" in mean.message
    assert "6 s mean" in mean.message
    assert f"风向 {compass(_wind_at(heard, mean))[0]}" in mean.message
    rise = heard.firing(STATION.id, "rise.h2s")[0]
    assert rise.level == 1
    assert "10 秒内上升" in rise.message
    assert "rose" in rise.message
    assert PARK in rise.message
