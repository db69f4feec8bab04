"""Words the chemical-park and radiation kinds put around their findings: where (park or plant and
station), the wind direction as a 16-point compass, spans of time. Pure; bilingual ``(zh, en)`` pairs.

Wind direction is the meteorological one: the direction the wind blows *from* (0 = north, 90 = east);
the plume goes the opposite way, so messages also name the downwind sector (下风向) to look at.
The 16 Chinese sector names follow the usual 北/北东北/东北/东东北… convention of surface observation.
"""

from __future__ import annotations

from stationpipe.kernel.registry import StationInfo

_EN = ("N", "NNE", "NE", "ENE", "E", "ESE", "SE", "SSE", "S", "SSW", "SW", "WSW", "W", "WNW", "NW", "NNW")
_ZH = (
    "北",
    "北东北",
    "东北",
    "东东北",
    "东",
    "东东南",
    "东南",
    "南东南",
    "南",
    "南西南",
    "西南",
    "西西南",
    "西",
    "西西北",
    "西北",
    "北西北",
)


def sector(degrees: float) -> int:
    """Index 0..15 of the 22.5-degree sector centred on ``degrees`` (0 = N, clockwise)."""
    return round((degrees % 360.0) / 22.5) % 16


def compass(degrees: float) -> tuple[str, str]:
    """``("东北", "NE")`` for 45 degrees."""
    i = sector(degrees)
    return _ZH[i], _EN[i]


def wind_words(degrees: float) -> tuple[str, str]:
    """Wind from ``degrees`` and the downwind sector, e.g. ``风向 东北 NE 45° (下风向 西南 SW)``."""
    zh, en = compass(degrees)
    down_zh, down_en = compass(degrees + 180.0)
    shown = f"{degrees % 360.0:.0f}°"
    return (
        f"风向 {zh} {en} {shown} (下风向 {down_zh} {down_en})",
        f"wind from {en} {shown} (downwind {down_en})",
    )


def place(info: StationInfo) -> tuple[str, str]:
    """Who speaks: park (or plant) and station: ``化工园区 X 某站`` / ``X chemical park, station s1``."""
    if info.park:
        return f"化工园区 {info.park} {info.name}", f"{info.park} chemical park, station {info.id}"
    if info.plant:
        zh = f"核电厂 {info.plant} 外围 {info.name}"
        return zh, f"around {info.plant} nuclear plant, station {info.id}"
    return info.name, f"station {info.id}"


def span(seconds: float) -> tuple[str, str]:
    """A duration for messages: ``("15 分钟", "15 min")``, ``("2 小时", "2 h")``, ``("30 秒", "30 s")``."""
    if seconds >= 3600 and seconds % 3600 == 0:
        return f"{seconds / 3600:g} 小时", f"{seconds / 3600:g} h"
    if seconds >= 60:
        return f"{seconds / 60:g} 分钟", f"{seconds / 60:g} min"
    return f"{seconds:g} 秒", f"{seconds:g} s"
