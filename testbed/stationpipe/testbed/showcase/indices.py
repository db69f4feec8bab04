"""What the live view computes itself from the newest readings: a real-time AQI of each air station and the
GB 3838 class of single water values.

The real-time AQI is HJ 633's index applied to the newest values as if they were hourly means (the rules
engine publishes the hourly AQI only when an hour of data has closed). The edge has already converted the
air logger's ppb into the catalogue's µg/m³ (CO mg/m³), so the stored values index as they are.
"""

from __future__ import annotations

from datetime import UTC, datetime

from stationpipe.kernel.registry import WaterBody, WaterClass
from stationpipe.standards import gb3838
from stationpipe.standards.aqi import POLLUTANTS, AqiResult, aqi_of
from stationpipe.standards.hj633 import standard_for
from stationpipe.testbed.showcase.feeds import Latest


def realtime_aqi(latest: dict[str, Latest], now: datetime | None = None) -> AqiResult | None:
    """AQI of the newest valid (flag N) values of the six pollutants; ``None`` when there are none."""
    values = {
        p: r.value
        for p, r in latest.items()
        if p in POLLUTANTS and r.flag == "N" and r.value is not None and r.value >= 0
    }
    if not values:
        return None
    try:
        return aqi_of(values, standard_for(now or datetime.now(UTC)))
    except ValueError:
        return None


def item_class(parameter: str, value: float) -> WaterClass | None:
    """GB 3838-2002 class of one river value (``None`` for items without a class)."""
    if not gb3838.has_class(parameter) or value < 0:
        return None
    return gb3838.classify(parameter, value, WaterBody.RIVER)
