"""The audit page's HTML (数据审核): server-rendered, bilingual (中文 / English), no script at all.

Every text that comes from data goes through :func:`html.escape`; forms POST with the session's CSRF token.
Times on the page are China time (UTC+8), as the station-days are.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from html import escape

from stationpipe.kernel.audit import REASON_LABELS, Action, DayStatus, MarkVersion, Reason
from stationpipe.kernel.catalogue import Parameter
from stationpipe.kernel.qc import ReviewMark
from stationpipe.kernel.registry import StationInfo
from stationpipe.rules.handling.views import csrf_field, page_frame

CHINA = timezone(timedelta(hours=8), "CST")
STATUS_NAMES = {
    DayStatus.UNREVIEWED: "未审核 unreviewed",
    DayStatus.REVIEWED: "已审核 reviewed",
    DayStatus.LOCKED: "已锁定 locked",
}
ACTION_NAMES = {Action.INVALIDATE: "无效 invalidate", Action.RESTORE: "恢复 restore"}
_STYLE = ".locked{background:#e9ecef}.reviewed{background:#d3f9d8}.invalidate{background:#ffe3e3}"


@dataclass(frozen=True, slots=True)
class Review:
    """A period the QC checks put up for review (station, parameter, ``[start, end)``, reason, note);
    ``ref`` is its stored row number (the confirm button's target), ``None`` when it has none."""

    station: str
    parameter: str
    start: datetime
    end: datetime
    reason: str
    note: str = ""
    ref: int | None = None

    @classmethod
    def of(cls, ref: int, mark: ReviewMark) -> Review:
        """A stored review mark as the page shows it."""
        note = f"QC check {mark.check} failed (rule {mark.rule})"
        return cls(mark.station, mark.parameter, mark.start, mark.end, mark.reason, note, ref)

    def confirmed_by(self, marks: Iterable[MarkVersion]) -> bool:
        """Whether a mark in force already invalidates this period for this reason."""
        return any(
            m.action is Action.INVALIDATE and m.reason.value == self.reason and m.parameter == self.parameter
            and m.start == self.start and m.end == self.end
            for m in marks
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class StationView:
    """Everything the station's audit page shows."""

    info: StationInfo
    parameters: Sequence[Parameter]
    days: Sequence[tuple[date, DayStatus, str]]
    marks: Sequence[MarkVersion]
    trail: Sequence[MarkVersion]
    reviews: Sequence[Review]


def china(at: datetime) -> str:
    """An instant as China time, to the minute."""
    return at.astimezone(CHINA).strftime("%Y-%m-%d %H:%M")


def stations(infos: Iterable[StationInfo], user: str, csrf: str) -> str:
    """The stations to audit."""
    rows = "".join(
        f'<tr><td><a href="/audit/{escape(s.id)}">{escape(s.name)} ({escape(s.id)})</a></td>'
        f"<td>{escape(s.city)}</td><td>{escape(s.kind.value)}</td></tr>"
        for s in sorted(infos, key=lambda s: (s.city, s.id))
    )
    head = "<tr><th>站点 Station</th><th>城市 City</th><th>类型 Kind</th></tr>"
    body = f'<h2>数据审核 Data audit</h2><table id="stations">{head}{rows}</table>'
    return page_frame("数据审核 Data audit", body, user, csrf, style=_STYLE)


def _day_forms(station: str, day: date, status: DayStatus, csrf: str) -> str:
    base = f"/audit/{escape(station)}/day/{day.isoformat()}"
    wanted = {
        DayStatus.UNREVIEWED: (DayStatus.REVIEWED, DayStatus.LOCKED),
        DayStatus.REVIEWED: (DayStatus.LOCKED, DayStatus.UNREVIEWED),
        DayStatus.LOCKED: (DayStatus.REVIEWED,),
    }[status]
    names = {
        DayStatus.REVIEWED: "审核 review",
        DayStatus.LOCKED: "锁定 lock",
        DayStatus.UNREVIEWED: "撤销 reset",
    }
    if status is DayStatus.LOCKED:
        names[DayStatus.REVIEWED] = "解锁 unlock"
    return "".join(
        f'<form class="inline" method="post" action="{base}">{csrf_field(csrf)}'
        f'<input type="hidden" name="status" value="{w.value}">'
        f'<button type="submit" id="day-{day.isoformat()}-{w.value}">{names[w]}</button></form>'
        for w in wanted
    )


def _days(view: StationView, csrf: str, *, can_write: bool) -> str:
    rows = []
    for day, status, author in view.days:
        forms = _day_forms(view.info.id, day, status, csrf) if can_write else ""
        rows.append(
            f'<tr class="{status.value}" data-day="{day.isoformat()}"><td>{day.isoformat()}</td>'
            f'<td class="status">{STATUS_NAMES[status]}</td><td>{escape(author or "—")}</td>'
            f"<td>{forms}</td></tr>"
        )
    head = "<tr><th>日期 Day (China)</th><th>状态 Status</th><th>谁 By</th><th></th></tr>"
    return f'<h2>审核状态 Day status</h2><table id="days">{head}{"".join(rows)}</table>'


def _mark_row(m: MarkVersion, csrf: str, *, restore: bool) -> str:
    zh, en = REASON_LABELS[m.reason]
    button = (
        f'<form class="inline" method="post" action="/audit/{escape(m.station)}/restore/{escape(m.id)}">'
        f'{csrf_field(csrf)}<button type="submit" id="restore-{escape(m.id)}">恢复 Restore</button></form>'
        if restore and m.action is Action.INVALIDATE
        else ""
    )
    return (
        f'<tr class="{m.action.value}" data-mark="{escape(m.id)}" data-version="{m.version}">'
        f"<td>{escape(m.parameter)}</td><td>{china(m.start)}</td><td>{china(m.end)}</td>"
        f"<td>{ACTION_NAMES[m.action]}</td><td>{zh} {en}</td><td>{escape(m.note)}</td>"
        f"<td>{escape(m.author)}</td><td>{china(m.at)}</td><td>v{m.version}</td><td>{button}</td></tr>"
    )


_MARK_HEAD = (
    "<tr><th>参数 Parameter</th><th>开始 From</th><th>结束 To</th><th>操作 Action</th><th>原因 Reason</th>"
    "<th>说明 Note</th><th>谁 By</th><th>时间 At</th><th>版本 Version</th><th></th></tr>"
)


def _mark_form(view: StationView, csrf: str) -> str:
    params = "".join(
        f'<option value="{escape(p.code)}">{escape(p.label)} ({escape(p.code)})</option>'
        for p in view.parameters
    )
    reasons = "".join(f'<option value="{r.value}">{escape(r.label)}</option>' for r in Reason)
    return (
        "<h2>标记无效 Mark a period invalid</h2>"  # noqa: S608 - HTML, not SQL
        f'<form method="post" action="/audit/{escape(view.info.id)}/mark" id="mark-form">{csrf_field(csrf)}'
        f'<label>参数 Parameter <select name="parameter" id="mark-parameter">{params}</select></label> '
        '<label>开始 From (北京时间 China time) <input name="start" id="mark-start" '
        'placeholder="2026-06-01 00:00"></label> '
        '<label>结束 To <input name="end" id="mark-end" placeholder="2026-06-01 12:00"></label> '
        f'<label>原因 Reason <select name="reason" id="mark-reason">{reasons}</select></label> '
        '<label>说明 Note <input name="note" id="mark-note" size="40"></label> '
        '<button type="submit" id="mark-submit">标记无效 Invalidate</button></form>'
    )


def _confirm(r: Review, view: StationView, csrf: str, *, can_write: bool) -> str:
    if r.confirmed_by(view.marks):
        return "已确认 confirmed"
    if not can_write or r.ref is None:
        return ""
    return (
        f'<form class="inline" method="post" action="/audit/{escape(r.station)}/confirm/{r.ref}">'
        f'{csrf_field(csrf)}<button type="submit" id="confirm-{r.ref}">标记无效 Invalidate</button></form>'
    )


def _reviews(view: StationView, csrf: str, *, can_write: bool) -> str:
    if not view.reviews:
        return '<h2>质控待审 For review (QC)</h2><p id="reviews">没有 None.</p>'
    rows = "".join(
        f'<tr data-review="{r.ref if r.ref is not None else ""}"><td>{escape(r.parameter)}</td>'
        f"<td>{china(r.start)}</td><td>{china(r.end)}</td><td>{escape(r.reason)}</td><td>{escape(r.note)}</td>"
        f"<td>{_confirm(r, view, csrf, can_write=can_write)}</td></tr>"
        for r in view.reviews
    )
    head = (
        "<tr><th>参数 Parameter</th><th>开始 From</th><th>结束 To</th>"
        "<th>原因 Reason</th><th>说明 Note</th><th></th></tr>"
    )
    return f'<h2>质控待审 For review (QC)</h2><table id="reviews">{head}{rows}</table>'


def station(view: StationView, user: str, csrf: str, *, can_write: bool, error: str = "") -> str:
    """One station: its days' statuses, the marks in force, the form, the QC reviews and the trail."""
    err = f'<p class="error" id="error">{escape(error)}</p>' if error else ""
    marks = "".join(_mark_row(m, csrf, restore=can_write) for m in view.marks)
    trail = "".join(
        _mark_row(m, csrf, restore=False) for m in sorted(view.trail, key=lambda m: m.at, reverse=True)
    )
    params = ", ".join(f"{escape(p.label)} ({escape(p.code)})" for p in view.parameters)
    s = view.info
    body = (
        f'{err}<h2>{escape(s.name)} ({escape(s.id)}) {escape(s.city)}</h2><p id="parameters">{params}</p>'
        f"{_days(view, csrf, can_write=can_write)}"
        f'<h2>生效标记 Marks in force</h2><table id="marks">{_MARK_HEAD}{marks}</table>'
        f"{_mark_form(view, csrf) if can_write else '<p>只读账户 Read-only account.</p>'}"
        f"{_reviews(view, csrf, can_write=can_write)}"
        f'<h2>审核记录 Trail</h2><table id="trail">{_MARK_HEAD}{trail}</table>'
    )
    return page_frame(f"数据审核 {s.id}", body, user, csrf, style=_STYLE)
