"""Colours and labels operators know: GB 3838 classes, HJ 633 AQI levels, warning levels, HJ 212 flags.

AQI colours are the standard's (docs/domain.md, AQI levels); class and warning colours are *policy* (the
conventional blue-green-yellow-orange-red ramp), defined here once for the dashboards and the report.
"""

from __future__ import annotations

from types import MappingProxyType

#: Water class 1..6 -> (label, qualitative word, colour). 6 is 劣Ⅴ.
WATER_CLASSES: MappingProxyType[int, tuple[str, str, str]] = MappingProxyType(
    {
        1: ("Ⅰ类", "优 excellent", "#00B0F0"),
        2: ("Ⅱ类", "优 excellent", "#0070C0"),
        3: ("Ⅲ类", "良好 good", "#00B050"),
        4: ("Ⅳ类", "轻度污染 lightly polluted", "#FFC000"),
        5: ("Ⅴ类", "中度污染 moderately polluted", "#FF6600"),
        6: ("劣Ⅴ类", "重度污染 heavily polluted", "#FF0000"),
    }
)

#: AQI level 1..6 -> (lowest AQI of the level, label, colour) — HJ 633.
AQI_LEVELS: MappingProxyType[int, tuple[int, str, str]] = MappingProxyType(
    {
        1: (0, "一级 优 excellent", "#00E400"),
        2: (51, "二级 良 good", "#FFFF00"),
        3: (101, "三级 轻度污染 lightly polluted", "#FF7E00"),
        4: (151, "四级 中度污染 moderately polluted", "#FF0000"),
        5: (201, "五级 重度污染 heavily polluted", "#99004C"),
        6: (301, "六级 严重污染 severely polluted", "#7E0023"),
    }
)

#: Warning level 1..4 -> (label, colour).
WARNING_LEVELS: MappingProxyType[int, tuple[str, str]] = MappingProxyType(
    {
        1: ("蓝色 blue", "#1F78C1"),
        2: ("黄色 yellow", "#FADE2A"),
        3: ("橙色 orange", "#FF7F00"),
        4: ("红色 red", "#E02F44"),
    }
)

#: HJ 212 data flag -> (label, colour).
FLAGS: MappingProxyType[str, tuple[str, str]] = MappingProxyType(
    {
        "N": ("N 正常 normal", "#73BF69"),
        "F": ("F 停运 stopped", "#8E8E8E"),
        "M": ("M 维护 maintenance", "#5794F2"),
        "S": ("S 手工数据 manual", "#B877D9"),
        "D": ("D 故障 fault", "#E02F44"),
        "C": ("C 校准 calibration", "#8AB8FF"),
        "T": ("T 超量程 over range", "#FF9830"),
        "B": ("B 通讯异常 comms failure", "#C4162A"),
    }
)


def aqi_level(aqi: float) -> int:
    """The HJ 633 level (1..6) of an AQI value."""
    level = 1
    for lvl, (low, _, _) in AQI_LEVELS.items():
        if aqi >= low:
            level = lvl
    return level
