"""The daily report as one self-contained HTML page (inline CSS and SVG; no script, no external file)."""

from __future__ import annotations

from datetime import UTC, datetime
from html import escape
from typing import Any

from stationpipe.kernel.catalogue import is_known, parameter
from stationpipe.ops.grafana.palette import AQI_LEVELS, WARNING_LEVELS, WATER_CLASSES, aqi_level
from stationpipe.ops.report.data import BEIJING, AirDay, DayReport, Exceedance, SectionDay
from stationpipe.ops.report.svg import aqi_bars, class_grid

CSS = """
body{font-family:"Noto Sans CJK SC","Noto Sans SC","Microsoft YaHei",sans-serif;margin:24px;color:#222}
h1{font-size:24px;margin:0 0 4px} h2{font-size:18px;margin:28px 0 8px;border-bottom:2px solid #0070C0}
.sub{color:#666} table{border-collapse:collapse;margin:6px 0;font-size:13px}
th,td{border:1px solid #ccc;padding:3px 8px;text-align:left} th{background:#f0f4f8}
td.num{text-align:right} .chip{display:inline-block;padding:1px 8px;border-radius:3px;font-weight:bold}
.kpis{display:flex;gap:12px;flex-wrap:wrap} .kpi{border:1px solid #ccc;border-radius:6px;padding:8px 14px}
.kpi b{display:block;font-size:22px} .ok{color:#00873C} .bad{color:#C00000}
.chart text.ax{font-size:10px;fill:#555} .chart text.lb{font-size:11px;fill:#222} .chart .grid{stroke:#bbb}
.charts{display:flex;flex-wrap:wrap;gap:16px} .empty{color:#888;font-style:italic}
"""


def chip(text: str, colour: str) -> str:
    """A coloured label, with readable text on light and dark backgrounds."""
    light = colour.upper() in {"#FFFF00", "#00E400", "#00B0F0", "#FFC000", "#FADE2A", "#00B050"}
    fg = "#000" if light else "#fff"
    return f'<span class="chip" style="background:{colour};color:{fg}">{escape(text)}</span>'


def class_chip(cls: int | None) -> str:
    """A water class as a coloured chip (— when unknown)."""
    if cls is None:
        return "—"
    label, _, colour = WATER_CLASSES[cls]
    return chip(label, colour)


def _table(head: list[str], rows: list[list[str]], empty: str) -> str:
    if not rows:
        return f'<p class="empty">{escape(empty)}</p>'
    ths = "".join(f"<th>{h}</th>" for h in head)
    trs = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{ths}</tr></thead><tbody>{trs}</tbody></table>"


def _label(code: str) -> str:
    return escape(parameter(code).label if is_known(code) else code)


def _main(codes: tuple[str, ...]) -> str:
    return "、".join(_label(c) for c in codes) or "—"


def _section_rows(sections: list[SectionDay]) -> list[list[str]]:
    rows = []
    for s in sections:
        st = s.station
        verdict = '<span class="ok">达标 met</span>' if s.meets else '<span class="bad">未达标 missed</span>'
        rows.append(
            [
                escape(st.city),
                escape(st.river),
                escape(f"{st.name} {st.section}".strip()),
                class_chip(st.target),
                class_chip(s.day_class),
                class_chip(s.worst),
                _main(s.main),
                verdict,
                class_chip(s.live),
            ]
        )
    return rows


def _exceed_rows(items: list[Exceedance]) -> list[list[str]]:
    return [
        [
            escape(e.station.name),
            _label(e.parameter),
            f"{e.mean:.3g}",
            f"{e.limit:g}",
            f"{e.multiple:.2f}",
        ]
        for e in items
    ]


def _aqi_cells(a: AirDay) -> list[str]:
    if a.aqi is None:
        return ["—", "—"]
    _, name, colour = AQI_LEVELS[aqi_level(a.aqi)]
    partial = "" if a.counted else " (不完整 partial)"
    return [f"{a.aqi}{partial}", chip(name, colour)]


def _air_rows(items: list[AirDay]) -> list[list[str]]:
    return [
        [
            escape(a.station.city),
            escape(a.station.name),
            *_aqi_cells(a),
            _main(a.primary),
            "—" if a.live_aqi is None else f"{a.live_aqi:.0f}",
            "—" if a.peak is None else str(a.peak),
        ]
        for a in items
    ]


def _warning_rows(items: list[dict[str, Any]], names: dict[str, str]) -> list[list[str]]:
    rows = []
    for w in items:
        at = datetime.fromtimestamp(int(w["time"]) / 1e9, BEIJING).strftime("%H:%M")
        label, colour = WARNING_LEVELS.get(int(w["level"]), ("?", "#888"))
        rows.append(
            [
                at,
                escape(names.get(w["station"], w["station"])),
                escape(w["rule"]),
                chip(f"{w['level']} {label}", colour),
                escape(w.get("state") or ""),
                escape(w.get("message") or ""),
            ]
        )
    return rows


def _share(count: int, total: int) -> str:
    return f"{100 * count / total:.1f} %" if total else "—"


def _kpis(rep: DayReport) -> str:
    classed = [s for s in rep.sections if s.day_class is not None]
    n = len(classed)
    good = sum(s.day_class is not None and s.day_class <= 3 for s in classed)
    worse = sum(s.day_class == 6 for s in classed)
    met = sum(s.meets for s in classed)
    counted = [a for a in rep.air if a.counted]
    items = [
        ("达到或优于Ⅲ类 Sections at Ⅲ or better", _share(good, n)),
        ("劣Ⅴ类断面 Sections worse than Ⅴ", str(worse)),
        ("达到目标 Sections meeting target", _share(met, n)),
        (
            "空气优良站点 Stations with good air (AQI ≤ 100)",
            _share(sum(a.good for a in counted), len(counted)),
        ),
        ("预警事件 Warning events", str(len(rep.warnings))),
    ]
    return (
        '<div class="kpis">' + "".join(f'<div class="kpi">{t}<b>{v}</b></div>' for t, v in items) + "</div>"
    )


def render(rep: DayReport) -> str:
    """The whole page."""
    made = datetime.now(UTC).astimezone(BEIJING).strftime("%Y-%m-%d %H:%M")
    grid = (
        "<figure><figcaption>审核后 audited hourly class</figcaption>"
        f"{class_grid([(f'{s.station.name}', s.hourly) for s in rep.sections])}</figure>"
        if rep.sections
        else ""
    )
    bars = "".join(
        f"<figure><figcaption>{escape(a.station.name)} · 原始/实时 raw/live hourly AQI</figcaption>"
        f"{aqi_bars(a.hourly, a.station.name)}"
        "</figure>"
        for a in rep.air
        if a.hourly
    )
    body = [
        f"<h1>环境自动监测日报 Daily report · {rep.day.isoformat()}</h1>",
        f'<p class="sub">北京时间 Beijing time 00:00–24:00 · 生成于 generated {made}</p>',
        f'<p class="sub">{escape(rep.note)} · {rep.excluded} readings excluded · {escape(rep.rules)}</p>',
        _kpis(rep),
        "<h2>断面水质与目标 Section classes against targets (审核后数据 audited data)</h2>",
        _table(
            [
                "城市 City",
                "河流 River",
                "断面 Section",
                "目标 Target",
                "日类别 Day class (审核后 audited)",
                "最差 Worst (审核后 audited)",
                "主要污染物 Main pollutant",
                "评价 Verdict",
                "原始/实时日类别 raw/live day class",
            ],
            _section_rows(rep.sections),
            "无数据 No data",
        ),
        f'<div class="charts">{grid}</div>',
        "<h2>超标项目 Exceedances (audited daily mean vs target class)</h2>",
        _table(
            ["断面 Section", "项目 Item", "日均值 Mean", "目标限值 Limit", "超标倍数 Multiple"],
            _exceed_rows(rep.exceedances),
            "无超标 No exceedance",
        ),
        "<h2>空气质量 Air quality (AQI, HJ 633; 审核后数据 audited data)</h2>",
        _table(
            [
                "城市 City",
                "站点 Station",
                "日 AQI Day AQI (审核后 audited)",
                "级别 Level",
                "首要污染物 Primary",
                "原始/实时日均 raw/live mean AQI",
                "原始/实时小时峰值 raw/live peak",
            ],
            _air_rows(rep.air),
            "无数据 No data",
        ),
        f'<div class="charts">{bars}</div>',
        "<h2>预警 Warnings of the day</h2>",
        _table(
            ["时间 Time", "站点 Station", "规则 Rule", "级别 Level", "状态 State", "说明 Message"],
            _warning_rows(rep.warnings, rep.names),
            "无预警 No warnings",
        ),
    ]
    title = f"环境自动监测日报 {rep.day.isoformat()}"
    return (
        f'<!DOCTYPE html>\n<html lang="zh-CN"><head><meta charset="utf-8"><title>{title}</title>'
        f"<style>{CSS}</style></head><body>{''.join(body)}</body></html>\n"
    )
