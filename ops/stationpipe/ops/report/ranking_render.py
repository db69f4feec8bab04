"""The ranking as a terminal table (rich), as JSON, and as one self-contained HTML page (no script)."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from html import escape
from typing import Any

from rich.console import Console
from rich.table import Table

from stationpipe.kernel.catalogue import parameter
from stationpipe.ops.report.audited import AUDITED_NOTE
from stationpipe.ops.report.data import BEIJING
from stationpipe.ops.report.ranking import (
    INDEX_DECIMALS,
    SHARE_DECIMALS,
    AirCity,
    Ranking,
    SectionRank,
    WaterCity,
)
from stationpipe.ops.report.ranking_calc import AIR_ITEMS
from stationpipe.ops.report.render import CSS, chip, class_chip

_STAT_NAMES = {"so2": "so2", "no2": "no2", "pm10": "pm10", "pm25": "pm25", "co": "co_p95", "o3": "o3_8h_p90"}
_TITLE = "环境质量公开排序 Public quality ranking"


def _r(value: float | None, decimals: int = 4) -> float | None:
    return None if value is None else round(value, decimals)


def _section(s: SectionRank) -> dict[str, Any]:
    st = s.station
    return {
        "rank": s.rank,
        "station": st.id,
        "name": st.name,
        "city": st.city,
        "river": st.river,
        "section": st.section,
        "water_body": st.water_body,
        "target_class": st.target,
        "class": int(s.water_class),
        "class_label": s.water_class.label,
        "cwqi": _r(s.cwqi),
        "means": {k: _r(v) for k, v in sorted(s.means.items())},
    }


def _water_city(c: WaterCity) -> dict[str, Any]:
    return {
        "rank_cwqi": c.rank_cwqi,
        "rank_share": c.rank_share,
        "city": c.city,
        "sections": c.sections,
        "iii_or_better": c.iii_or_better,
        "worse_than_v": c.worse_than_v,
        "share_iii_or_better": _r(c.share, 2),
        "cwqi": _r(c.cwqi),
    }


def _air_city(c: AirCity) -> dict[str, Any]:
    comp = c.composite
    return {
        "rank_composite": c.rank_index,
        "rank_good_days": c.rank_good,
        "city": c.city,
        "stations": c.stations,
        "composite_index": _r(comp.index) if comp else None,
        "single_indices": {k: _r(v) for k, v in comp.indices.items()} if comp else None,
        "statistics": {_STAT_NAMES[k]: _r(v) for k, v in comp.statistics.items()} if comp else None,
        "largest_index": comp.largest if comp else None,
        "days": c.days,
        "evaluated_days": c.evaluated_days,
        "good_days": c.good_days,
        "good_share": _r(c.good_share, 2),
    }


def as_json(r: Ranking) -> dict[str, Any]:
    """The ranking as JSON-able data (dates in Beijing time, ``end`` exclusive)."""
    o = r.options
    return {
        "v": 1,
        "data": AUDITED_NOTE,
        "period": {
            "kind": "month",
            "label": r.period.label,
            "start": str(r.period.start),
            "end": str(r.period.end),
        },
        "policy": {
            "sample_minutes": o.sample_minutes,
            "min_days": o.days_required(r.period),
            "min_pollutants": o.min_pollutants,
            "air_limits": o.air_limits.value,
            "ranked_at_decimals": {"index": INDEX_DECIMALS, "share": SHARE_DECIMALS},
        },
        "water": {
            "cities": [_water_city(c) for c in r.water_cities],
            "sections": [_section(s) for s in r.sections],
        },
        "air": {"cities": [_air_city(c) for c in r.air_cities]},
    }


def _n(value: float | None, decimals: int) -> str:
    return "—" if value is None else f"{value:.{decimals}f}"


def _rank(value: int | None) -> str:
    return "—" if value is None else str(value)


def _water_city_rows(r: Ranking) -> list[list[str]]:
    rows = []
    for c in r.water_cities:
        share = f"{c.share:.{SHARE_DECIMALS}f} %"
        index = f"{c.cwqi:.{INDEX_DECIMALS}f}"
        counts = f"{c.iii_or_better}/{c.sections}"
        rows.append(
            [_rank(c.rank_cwqi), c.city, index, _rank(c.rank_share), share, counts, str(c.worse_than_v)]
        )
    return rows


def _section_rows(r: Ranking) -> list[list[str]]:
    rows = []
    for s in r.sections:
        st, index = s.station, f"{s.cwqi:.{INDEX_DECIMALS}f}"
        items = ", ".join(parameter(k).symbol for k in sorted(s.means))
        rows.append([_rank(s.rank), st.city, st.river, st.name, s.water_class.label, index, items])
    return rows


def _air_rows(r: Ranking) -> list[list[str]]:
    rows = []
    for c in r.air_cities:
        comp = c.composite
        largest = parameter(comp.largest).symbol if comp else "数据不足 insufficient"
        index = _n(comp.index if comp else None, INDEX_DECIMALS)
        good = f"{_n(c.good_share, SHARE_DECIMALS)} %"
        days = f"{c.good_days}/{c.evaluated_days}"
        rows.append([_rank(c.rank_index), c.city, index, largest, _rank(c.rank_good), good, days])
    return rows


WATER_CITY_HEAD = [
    "CWQI 名次 Rank",
    "城市 City",
    "CWQI",
    "Ⅲ类比例名次 Share rank",
    "Ⅲ类及以上比例 Share ≤Ⅲ",
    "≤Ⅲ/断面数 ≤Ⅲ/sections",
    "劣Ⅴ类 Worse than Ⅴ",
]
SECTION_HEAD = ["名次 Rank", "城市 City", "河流 River", "断面 Section", "类别 Class", "CWQI", "项目 Items"]
AIR_HEAD = [
    "综合指数名次 Rank",
    "城市 City",
    "综合指数 Index",
    "最大单项 Largest",
    "优良名次 Rank",
    "优良天数比例 Good days",
    "优良/有效 Good/valid",
]


def as_table(r: Ranking, width: int = 160) -> str:
    """Three plain-text tables (rich)."""
    out = io.StringIO()
    console = Console(file=out, width=width, no_color=True, highlight=False)
    console.print(f"{_TITLE} · {r.period.label}")
    console.print(AUDITED_NOTE)
    for title, head, rows in (
        ("城市地表水环境质量 Cities by surface water (CWQI)", WATER_CITY_HEAD, _water_city_rows(r)),
        ("断面 Sections by CWQI", SECTION_HEAD, _section_rows(r)),
        ("城市环境空气质量 Cities by ambient air (HJ 663 composite index)", AIR_HEAD, _air_rows(r)),
    ):
        table = Table(*head, title=title)
        for row in rows:
            table.add_row(*row)
        console.print(table)
    return out.getvalue()


def _html_table(head: list[str], rows: list[list[str]]) -> str:
    if not rows:
        return '<p class="empty">无数据 No data</p>'
    ths = "".join(f"<th>{escape(h)}</th>" for h in head)
    trs = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{ths}</tr></thead><tbody>{trs}</tbody></table>"


def as_html(r: Ranking) -> str:
    """The page."""
    made = datetime.now(UTC).astimezone(BEIJING).strftime("%Y-%m-%d %H:%M")
    water = [[escape(c) for c in row] for row in _water_city_rows(r)]
    sections = [[escape(c) for c in row] for row in _section_rows(r)]
    for row, s in zip(sections, r.sections, strict=True):
        row[4] = class_chip(int(s.water_class))
    air = [[escape(c) for c in row] for row in _air_rows(r)]
    for row, c in zip(air, r.air_cities, strict=True):
        if c.composite is None:
            row[3] = chip("数据不足 insufficient", "#8E8E8E")
    stats = "、".join(f"{parameter(p).symbol} ({s})" for p, s, _ in AIR_ITEMS)
    note = f"综合指数 HJ 663-2013 composite index: {stats}, 越小越好 smaller is better"
    note += " · 优良天 good day: AQI ≤ 100"
    period = f"{r.period.start} – {r.period.end} (不含 exclusive)"
    body = [
        f"<h1>{_TITLE} · {escape(r.period.label)}</h1>",
        f'<p class="sub">北京时间 Beijing time {period} · 生成于 generated {made}</p>',
        f'<p class="sub">{escape(AUDITED_NOTE)}</p>',
        "<h2>城市地表水环境质量排名 Cities by surface water quality</h2>",
        '<p class="sub">CWQI 越小水质越好 smaller is better · 《城市地表水环境质量排名技术规定（试行）》</p>',
        _html_table(WATER_CITY_HEAD, water),
        "<h2>断面水质排名 Sections by CWQI</h2>",
        _html_table(SECTION_HEAD, sections),
        "<h2>城市环境空气质量排名 Cities by ambient air quality</h2>",
        f'<p class="sub">{escape(note)}</p>',
        _html_table(AIR_HEAD, air),
    ]
    return (
        f'<!DOCTYPE html>\n<html lang="zh-CN"><head><meta charset="utf-8"><title>{_TITLE} '
        f"{escape(r.period.label)}</title><style>{CSS}</style></head><body>{''.join(body)}</body></html>\n"
    )
