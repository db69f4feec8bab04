"""The live view: a header with the counts, the stations, the timeline and the warnings, as rich panels;
and the one-line events printed instead when the output is not a terminal."""

from __future__ import annotations

from dataclasses import dataclass

from rich import box
from rich.console import Console, RenderableType
from rich.console import Group as Stack
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from stationpipe.kernel.catalogue import CATALOGUE
from stationpipe.kernel.registry import WaterClass
from stationpipe.standards import gb3838
from stationpipe.testbed.pipeline import SimStation
from stationpipe.testbed.showcase import alerts
from stationpipe.testbed.showcase.feeds import Latest, Seen, Snapshot
from stationpipe.testbed.showcase.indices import item_class, realtime_aqi
from stationpipe.testbed.showcase.timeline import Entry, Timeline

WATER_KEYS = ("nh3n", "tp", "do")
AIR_KEYS = ("pm25", "pm10", "o3")
_ICONS = {"done": ("✓", "green"), "pending": ("·", "dim"), "failed": ("✗", "bold red"), "cut": ("✂", "dim")}


@dataclass(frozen=True)
class Frame:
    """Everything one picture of the demo shows; ``length`` 0 means "until Ctrl-C"."""

    stations: list[SimStation]
    snap: Snapshot
    mqtt: list[Seen]
    webhook: int
    bad_signatures: int
    timeline: Timeline
    elapsed: float
    length: float
    interval: float
    now: float


def cities(stations: list[SimStation]) -> str:
    """The cities of the fleet, in order."""
    return ", ".join(dict.fromkeys(st.city for st in stations))


def fleet_line(stations: list[SimStation]) -> str:
    """``10 个站点 stations: 7 河流断面 sections, 3 空气 air in …``."""
    water = sum(st.kind == "water" for st in stations)
    return (
        f"{len(stations)} 个站点 stations: {water} 河流断面 sections, {len(stations) - water} 空气 air "
        f"in {cities(stations)}"
    )


def counts_line(frame: Frame) -> str:
    """Points stored and warnings delivered on each channel."""
    counts = frame.snap.counts
    parts = " · ".join(f"{name} {counts[name]:,}" for name in sorted(counts, key=lambda n: -counts[n]))
    bad = frame.bad_signatures
    sig = "signatures ok" if bad == 0 else f"[bold red]{bad} bad signatures[/]"
    return (
        f"InfluxDB [bold]{frame.snap.points:,}[/] points ({parts or 'none yet'})\n"
        f"预警 warning states delivered: MQTT [bold]{len(frame.mqtt)}[/] · InfluxDB "
        f"[bold]{counts.get('warnings', 0)}[/] · webhook [bold]{frame.webhook}[/] ({sig})"
    )


def header(frame: Frame) -> Text:
    """Title, time, fleet, counts and the headline share of good sections (three or four lines)."""
    shown = min(frame.elapsed, frame.length) if frame.length > 0 else frame.elapsed
    until = f" / {frame.length:.0f} s" if frame.length > 0 else " (until Ctrl-C)"
    share = frame.snap.headline.get("share_iii_or_better") if frame.snap.headline.get("sections") else None
    good = "" if share is None else f" · 达到或优于Ⅲ类 class III or better [bold]{share:.1f} %[/]"
    return Text.from_markup(
        f"[bold reverse] stationpipe 演示 showcase [/] t = [bold]{shown:.0f} s[/]{until} · "
        f"Ctrl-C stops{good}\n{fleet_line(frame.stations)} · polled every {frame.interval:g} s\n"
        f"{counts_line(frame)}"
    )


def _value(code: str, value: float) -> str:
    return f"{value:.1f}" if code in {"do", "ph"} else f"{value:.2f}"


def _water_values(latest: dict[str, Latest], target: WaterClass) -> Text:
    parts = []
    for code in WATER_KEYS:
        r = latest.get(code)
        if r is not None and r.value is not None:
            cls = item_class(code, r.value)
            style = "bold red" if cls is not None and cls > target else ""
            parts.append(Text.assemble((f"{CATALOGUE[code].symbol} ", "dim"), (_value(code, r.value), style)))
    return Text(" ").join(parts)


def _air_values(latest: dict[str, Latest]) -> Text:
    parts = [
        Text.assemble((f"{CATALOGUE[code].symbol} ", "dim"), f"{r.value:.0f}")
        for code in AIR_KEYS
        if (r := latest.get(code)) is not None and r.value is not None
    ]
    return Text(" ").join(parts)


def _class_cell(snap: Snapshot, st: SimStation) -> Text:
    target = WaterClass.parse(st.target)
    if st.id not in snap.classes:
        return Text(f" — / {target.label}", style="dim")
    cls = WaterClass(snap.classes[st.id])
    style = "bold black on green" if cls <= target else "bold white on red"
    return Text.assemble((f" {cls.label} ", style), f" / {target.label} ", (gb3838.quality_word(cls), "dim"))


def _aqi_cell(latest: dict[str, Latest]) -> Text:
    result = realtime_aqi(latest)
    if result is None:
        return Text("—", style="dim")
    level = result.level
    ink = "white" if level.number >= 4 else "black"
    primary = f" {','.join(CATALOGUE[p].symbol for p in result.primary)}" if result.primary else ""
    return Text.assemble(
        (f" AQI {result.aqi} ", f"bold {ink} on {level.hex}"), f" {level.category_zh}", (primary, "dim")
    )


def _flags_cell(latest: dict[str, Latest], *, stale: bool) -> Text:
    bad: dict[str, int] = {}
    for r in latest.values():
        if r.flag != "N":
            bad[r.flag] = bad.get(r.flag, 0) + 1
    if not latest:
        return Text("—", style="dim")
    text = Text(" ".join(f"{f}×{n}" for f, n in sorted(bad.items())) or "N", "bold red" if bad else "green")
    return text.append(" stale", style="yellow") if stale else text


def stations_table(frame: Frame) -> Table:
    """One row per station, grouped by city: river, newest key values, class against target or
    real-time AQI, flags of the newest readings (``stale``: nothing for three polls)."""
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, expand=True, pad_edge=False)
    # In a narrow terminal the middle columns give way first (their cells are cut, never wrapped).
    table.add_column("站点\nStation", no_wrap=True)
    for head in ("河流\nRiver", "最新值\nNewest", "类别/目标 · 实时 AQI\nclass/target · AQI now"):
        table.add_column(Text(head, no_wrap=True, overflow="ellipsis"))
    table.add_column("标记\nFlag", no_wrap=True)
    for city in dict.fromkeys(st.city for st in frame.stations):
        table.add_row(Text(city, style="bold cyan"))
        for st in (s for s in frame.stations if s.city == city):
            latest = frame.snap.latest.get(st.id, {})
            newest = max((r.ts for r in latest.values()), default=frame.now)
            stale = frame.now - newest > 3 * frame.interval + 2
            if st.kind == "water":
                river, index = st.river, _class_cell(frame.snap, st)
                values = _water_values(latest, WaterClass.parse(st.target))
            else:
                river, values, index = "空气 air", _air_values(latest), _aqi_cell(latest)
            cells = (Text(river), values, index)
            for cell in cells:
                cell.no_wrap, cell.overflow = True, "ellipsis"
            table.add_row(f"  {st.name}", *cells, _flags_cell(latest, stale=stale))
    return table


def timeline_table(timeline: Timeline, rows: int | None = None) -> Table:
    """The story, one line per step (at most ``rows``, around the next step): when, what, done or not."""
    entries = timeline.entries
    upcoming = next((e for e in entries if e.state == "pending"), None)
    if rows is not None and rows < len(entries):
        at = entries.index(upcoming) if upcoming else len(entries)
        first = min(max(0, at - rows // 2), len(entries) - rows)
        entries = entries[max(0, first) : max(0, first) + max(1, rows)]
    table = Table(box=None, show_header=False, expand=True, pad_edge=False)
    table.add_column("t", justify="right", no_wrap=True, style="cyan")
    table.add_column("what", no_wrap=True, overflow="ellipsis", ratio=1)
    for entry in entries:
        icon, style = _ICONS[entry.state]
        bold = "bold" if entry is upcoming else ""
        text = Text.assemble((f"{icon} ", style), (entry.step.zh, bold), " · ", (entry.step.en, "dim"))
        if entry.state == "failed":
            text.append(f" (control channel: {entry.error})", style="red")
        elif entry.state == "cut":
            text.append(f" (cut: {entry.error})", style="dim")
        table.add_row(f"{entry.step.at:.0f} s", text)
    return table


def course(states: list[str]) -> Text:
    """A sequence of states as coloured words: blue → yellow → orange → resolved."""
    by_en = {name.en: name for name in (*alerts.LEVELS.values(), alerts.RESOLVED)}
    return Text(" → ", style="dim").join(Text(s, style=by_en[s].style) for s in states)


def warnings_table(frame: Frame) -> RenderableType:
    """Warnings as MQTT delivered them: one row per station and rule: now, course, newest message."""
    rows = alerts.groups(frame.mqtt)
    if not rows:
        return Text("暂无预警 no warnings yet", style="dim")
    names = {st.id: st.name for st in frame.stations}
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, expand=True, pad_edge=False)
    table.add_column("站点 · 规则 Station · rule", no_wrap=True)
    table.add_column("现在 Now", no_wrap=True)
    table.add_column("过程 Course · 消息 message", no_wrap=True, overflow="ellipsis", ratio=1)
    for group in rows:
        assert group.newest is not None
        now = alerts.name_of(group.level, "firing" if group.firing else "resolved")
        where = Text.assemble(
            names.get(group.station, group.station),
            "\n",
            (f"{group.rule} · {', '.join(group.parameters)}", "dim"),
        )
        zh, _, en = group.newest.message.partition(" / ")
        detail = course(group.sequence())
        detail.append(f"\n{zh}\n{en}", style="" if group.firing else "dim")
        table.add_row(where, Text(f"{now.zh}\n{now.en}", style=now.style), detail)
    return table


def _panel(body: RenderableType, title: str) -> Panel:
    return Panel(body, title=title, title_align="left", box=box.ROUNDED)


def next_step(timeline: Timeline) -> str:
    """``next: t=46 s 杭长桥 探头修复 · sonde repaired`` (empty when nothing is pending)."""
    entry = next((e for e in timeline.entries if e.state == "pending"), None)
    return "" if entry is None else f"next: t={entry.step.at:.0f} s {entry.step.zh} · {entry.step.en}"


def dashboard(frame: Frame, console: Console | None = None) -> RenderableType:
    """The whole picture. Given the terminal's ``console``, it fits its height: the timeline shows only
    the steps around the next one, or, in a short terminal, only the next step (under the header) while
    the warnings move above the stations (what does not fit is cropped at the bottom)."""
    head = header(frame)
    stations = _panel(stations_table(frame), "站点 Stations (InfluxDB)")
    warnings = _panel(warnings_table(frame), "预警 Warnings (MQTT)")
    if console is None:
        return Stack(head, stations, warnings, _panel(timeline_table(frame.timeline), "时间线 Timeline"))
    used = sum(len(console.render_lines(part, pad=False)) for part in (head, stations, warnings))
    room = console.height - used - 3  # the timeline panel's borders, and a line for the cursor
    if room >= 3:
        rows = timeline_table(frame.timeline, room)
        return Stack(head, stations, warnings, _panel(rows, "时间线 Timeline"))
    head.append(f"\n{next_step(frame.timeline)}", style="cyan")
    return Stack(head, warnings, stations)


def step_line(entry: Entry) -> str:
    """One timeline step as a log line."""
    icon, style = _ICONS[entry.state]
    action = f" [{entry.step.action[0]} {entry.step.action[1]}]" if entry.step.action else ""
    error = f" — control channel: {entry.error}" if entry.state == "failed" else ""
    return f"[{style}]{icon}[/] timeline: {entry.step.zh} · {entry.step.en}{action}{error}"


def warning_line(seen: Seen, names: dict[str, str]) -> str:
    """One warning state as MQTT delivered it, as a log line."""
    level = alerts.name_of(seen.level, seen.state)
    return (
        f"[{level.style}]● {level.en}[/] warning {names.get(seen.station, seen.station)} {seen.instance} "
        f"({seen.state}): {seen.message}"
    )


def status_line(frame: Frame) -> str:
    """Counts, as a log line."""
    return counts_line(frame).replace("\n", "; ")
