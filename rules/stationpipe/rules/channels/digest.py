"""The bilingual text of a message that lists one or more warnings (every channel people read uses it).

A message has a headline (one warning: its own message; several: how many and the highest level, in
Chinese and English) and one item per warning, oldest first: local time, station name, city and river,
and the warning's own bilingual message. Past ``max_items`` the rest are counted ("… 还有 N 条 / N more").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from stationpipe.rules.channel_models import zone
from stationpipe.rules.notify import COLOURS, COLOURS_ZH


@dataclass(frozen=True, slots=True)
class Item:
    """One warning of a message."""

    time: str
    place: str
    zh: str
    en: str
    level: int
    resolved: bool


@dataclass(frozen=True, slots=True)
class Digest:
    """The text of a message, provider-neutral."""

    title_zh: str
    title_en: str
    level: int
    items: tuple[Item, ...]
    more: int

    @property
    def title(self) -> str:
        """``"<中文> / <English>"``."""
        return f"{self.title_zh} / {self.title_en}"

    @property
    def more_line(self) -> str:
        """The count of warnings not listed, or ``""``."""
        return f"… 还有 {self.more} 条 / {self.more} more" if self.more else ""


def _place(body: dict[str, Any]) -> str:
    name = body.get("station_name") or body["station"]
    where = " ".join(p for p in (body.get("city", ""), body.get("river", "")) if p)
    return f"{name}（{where}）" if where else str(name)


def _time(body: dict[str, Any], timezone: str) -> str:
    return datetime.fromisoformat(body["ts"]).astimezone(zone(timezone)).strftime("%m-%d %H:%M")


def digest(bodies: list[dict[str, Any]], timezone: str, max_items: int) -> Digest:
    """The digest of the notifications ``bodies`` (oldest first)."""
    level = max(int(b["level"]) for b in bodies)
    items = tuple(
        Item(
            _time(b, timezone),
            _place(b),
            b["message"]["zh"],
            b["message"]["en"],
            int(b["level"]),
            b["state"] == "resolved",
        )
        for b in bodies[:max_items]
    )
    if len(bodies) == 1:
        only = bodies[0]
        zh, en = f"{only['message']['zh']}：{_place(only)}", f"{only['message']['en']}: {only['station']}"
    else:
        firing = sum(1 for b in bodies if b["state"] != "resolved")
        zh = f"{len(bodies)} 条预警变化（{firing} 条生效，最高{COLOURS_ZH[level]}）"
        en = f"{len(bodies)} warning changes ({firing} active, highest {COLOURS[level]})"
    return Digest(zh, en, level, items, max(0, len(bodies) - max_items))


def plain(d: Digest) -> list[str]:
    """Plain-text lines: the title, then two lines per warning (Chinese, English), then the count left."""
    lines = [d.title, ""]
    for item in d.items:
        lines += [f"{item.time} {item.place} {item.zh}", f"      {item.en}"]
    if d.more:
        lines.append(d.more_line)
    return lines


def fit(text_of: Any, d: Digest, limit: int) -> str:
    """``text_of(d)`` with as many items as fit in ``limit`` UTF-8 bytes (the rest counted as more)."""
    items = list(d.items)
    while True:
        shown = Digest(d.title_zh, d.title_en, d.level, tuple(items), d.more + len(d.items) - len(items))
        text = str(text_of(shown))
        if len(text.encode()) <= limit or not items:
            return text if len(text.encode()) <= limit else text.encode()[:limit].decode(errors="ignore")
        items.pop()
