"""Inline SVG charts for the report (no scripts, no external files): an hourly class grid of the sections
and hourly AQI bars per station, coloured as operators expect (stationpipe.ops.grafana.palette)."""

from __future__ import annotations

from html import escape

from stationpipe.ops.grafana.palette import AQI_LEVELS, WATER_CLASSES, aqi_level

CELL, LABEL_W, ROW_H = 22, 170, 20


def _open(width: int, height: int, label: str) -> str:
    return (
        f'<svg class="chart" role="img" aria-label="{escape(label)}" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">'
    )


def _hour_axis(x0: int, y: int, step: int) -> str:
    return "".join(
        f'<text x="{x0 + h * step + step / 2:.0f}" y="{y}" class="ax" text-anchor="middle">{h:02d}</text>'
        for h in range(0, 24, 3)
    )


def class_grid(rows: list[tuple[str, dict[int, int]]]) -> str:
    """One row per section, one cell per Beijing hour, coloured by the hour's class (blank: no class)."""
    height = ROW_H * len(rows) + 24
    width = LABEL_W + 24 * CELL
    parts = [_open(width, height, "hourly classes")]
    for i, (label, hourly) in enumerate(rows):
        y = i * ROW_H
        parts.append(
            f'<text x="{LABEL_W - 6}" y="{y + 14}" text-anchor="end" class="lb">{escape(label)}</text>'
        )
        for hour, cls in sorted(hourly.items()):
            name, _, colour = WATER_CLASSES[cls]
            parts.append(
                f'<rect x="{LABEL_W + hour * CELL}" y="{y + 1}" width="{CELL - 2}" height="{ROW_H - 3}" '
                f'fill="{colour}" data-class="{cls}"><title>{hour:02d}:00 {name}</title></rect>'
            )
    parts.append(_hour_axis(LABEL_W, height - 6, CELL))
    parts.append("</svg>")
    return "".join(parts)


def aqi_bars(hourly: dict[int, int], label: str) -> str:
    """Hourly AQI of one station as bars in the HJ 633 level colours, with the 100 (良) line dashed."""
    width, height, top, bottom, step = 24 * 16 + 36, 150, 10, 22, 16
    peak = max([150, *hourly.values()])
    scale = (height - top - bottom) / peak
    base = height - bottom
    parts = [_open(width, height, label)]
    for value in (50, 100, 150, 200, 300):
        if value <= peak:
            y = base - value * scale
            dash = ' stroke-dasharray="4 3"' if value == 100 else ""
            parts.append(f'<line x1="30" x2="{width}" y1="{y:.1f}" y2="{y:.1f}" class="grid"{dash}/>')
            parts.append(f'<text x="26" y="{y + 4:.1f}" text-anchor="end" class="ax">{value}</text>')
    for hour, aqi in sorted(hourly.items()):
        h = aqi * scale
        _, name, colour = AQI_LEVELS[aqi_level(aqi)]
        parts.append(
            f'<rect x="{32 + hour * step}" y="{base - h:.1f}" width="{step - 3}" height="{h:.1f}" '
            f'fill="{colour}" stroke="#555" stroke-width="0.3">'
            f"<title>{hour:02d}:00 AQI {aqi} {name}</title></rect>"
        )
    parts.append(_hour_axis(32, height - 6, step))
    parts.append("</svg>")
    return "".join(parts)
