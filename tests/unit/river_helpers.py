"""A three-section river (up -> mid -> down) and a tributary joining it at mid, as registry text."""

from __future__ import annotations


def section(sid: str, river: str = "江") -> str:
    """One water station on ``river``."""
    return f"""
[[stations]]
id = "{sid}"
name = "{sid}断面"
kind = "water"
river = "{river}"
section = "{sid}断面"
target_class = "III"
water_body = "river"
lat = 30.0
lon = 120.0
"""


RIVER_REGISTRY = (
    'kind = "registry"\n'
    + "".join(section(s) for s in ("up", "mid", "down"))
    + section("trib", "支流")
    + """
[[stations]]
id = "air"
name = "空气站"
kind = "air"
lat = 30.0
lon = 120.0

[[rivers]]
name = "江"
sections = ["up", "mid", "down"]
travel_hours = [[2, 3], 4]

[[rivers]]
name = "支流"
sections = ["trib"]
flows_into = "mid"
flows_into_hours = [1, 1.5]
"""
)
