"""The demo's fleet: simulated water sections and air stations in three Zhejiang cities, the Qiantang's
sections in flow order (闸口 → 七堡 → 盐官), and its rules.

Place names follow :mod:`stationpipe.simulators.zhejiang`; coordinates are approximate. Each water station is
simulated one class better than its section's target (clean water, no warnings) unless the timeline
says otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass

from stationpipe.testbed.pipeline import SimStation
from stationpipe.testbed.services import free_port

HANGZHOU, HUZHOU, JIAXING = "杭州 Hangzhou", "湖州 Huzhou", "嘉兴 Jiaxing"
QIANTANG, TIAOXI, CANAL = "钱塘江 Qiantang", "苕溪 Tiaoxi", "运河 Grand Canal"

#: The station of the NH3-N pollution event (a class III section), of the sensor fault, and of the haze.
EVENT_STATION, FAULT_STATION, HAZE_STATION = "hz-qb", "huz-hcq", "jx-xy"
#: The section downstream of the event on the Qiantang: the event pre-warns it (上游来水预警).
DOWNSTREAM_STATION = "jx-yg"
#: The Qiantang's sections in flow order and the travel time of each reach (hours, approximate).
RIVERS = (
    f'\n[[rivers]]\nname = "{QIANTANG}"\nsections = ["hz-zk", "{EVENT_STATION}", "{DOWNSTREAM_STATION}"]\n'
    "travel_hours = [[1, 2], [4, 6]]\n"
)


def _water(sid: str, name: str, where: tuple[str, str], classes: tuple[str, str], seed: int) -> SimStation:
    """``where``: city and river; ``classes``: the class the water shows, and the section's target."""
    (city, river), (shows, target), (lat, lon) = where, classes, _PLACES[sid]
    return SimStation(
        sid, shows, seed, free_port(), name=name, city=city, river=river, target=target, lat=lat, lon=lon
    )


def _air(sid: str, name: str, city: str, seed: int) -> SimStation:
    lat, lon = _PLACES[sid]
    return SimStation(
        sid, "II", seed, free_port(), kind="air", name=name, city=city, river="", lat=lat, lon=lon
    )


_PLACES: dict[str, tuple[float, float]] = {
    "hz-zk": (30.205, 120.143),
    "hz-qb": (30.292, 120.262),
    "jx-yg": (30.405, 120.546),
    "huz-xt": (30.955, 120.011),
    "huz-hcq": (30.871, 120.095),
    "jx-wjj": (30.873, 120.714),
    "jx-wz": (30.744, 120.487),
    "hz-yq": (30.188, 120.101),
    "huz-cx": (30.874, 120.064),
    "jx-xy": (30.762, 120.727),
}


def fleet() -> list[SimStation]:
    """Ten stations (seven river sections, three air stations), each on its own Modbus TCP port."""
    return [
        _water("hz-zk", "闸口 Zhakou", (HANGZHOU, QIANTANG), ("I", "II"), 11),
        _water(EVENT_STATION, "七堡 Qibao", (HANGZHOU, QIANTANG), ("II", "III"), 12),
        _water(DOWNSTREAM_STATION, "盐官 Yanguan", (JIAXING, QIANTANG), ("II", "III"), 13),
        _water("huz-xt", "新塘 Xintang", (HUZHOU, TIAOXI), ("II", "III"), 14),
        _water(FAULT_STATION, "杭长桥 Hangchangqiao", (HUZHOU, TIAOXI), ("II", "III"), 15),
        _water("jx-wjj", "王江泾 Wangjiangjing", (JIAXING, CANAL), ("III", "IV"), 16),
        _water("jx-wz", "乌镇 Wuzhen", (JIAXING, CANAL), ("III", "IV"), 17),
        _air("hz-yq", "云栖 Yunqi", HANGZHOU, 18),
        _air("huz-cx", "城西 Chengxi", HUZHOU, 19),
        _air(HAZE_STATION, "嘉兴学院 Jiaxing University", JIAXING, 20),
    ]


@dataclass(frozen=True)
class RuleNames:
    """Rule names the demo's story refers to."""

    section: str = "section"
    flags: str = "instrument"
    pm25: str = "pm25"
    upstream: str = "upstream"


RULE = RuleNames()
#: PM2.5 (µg/m³) above which the demo's threshold rule fires, and below which it clears. *Policy* for the
#: demo, placed at the HJ 633-2012 PM2.5 24 h breakpoints for IAQI 150 and 100 (docs/domain.md).
PM25_ABOVE, PM25_CLEAR = 115.0, 75.0


def rules_toml(flag_persist: float) -> str:
    """The rules engine's ``[[rules]]``: GB 3838 per section, the pre-warning of the sections downstream of
    an exceeding one, instrument fault flags persisting ``flag_persist`` seconds, a real-time PM2.5
    threshold and the hourly AQI of the air stations."""
    return (
        f'[[rules]]\nname = "{RULE.section}"\nkind = "section"\nstation_kinds = ["water"]\n'
        "consecutive = 3\n\n"
        f'[[rules]]\nname = "{RULE.upstream}"\nkind = "upstream"\nsources = ["{RULE.section}"]\n\n'
        f'[[rules]]\nname = "{RULE.flags}"\nkind = "flags"\nflags = ["D"]\n'
        f'persist_for = "{flag_persist:.1f}s"\n\n'
        f'[[rules]]\nname = "{RULE.pm25}"\nkind = "threshold"\nstation_kinds = ["air"]\n'
        f'parameters = ["pm25"]\nabove = {PM25_ABOVE}\nclear = {PM25_CLEAR}\nlevel = 2\n\n'
        '[[rules]]\nname = "aqi"\nkind = "aqi"\nstation_kinds = ["air"]\n'
    )
