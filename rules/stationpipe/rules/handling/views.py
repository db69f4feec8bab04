"""The page's HTML (预警处置台): server-rendered, bilingual (中文 / English), no script at all.

Every text that comes from data goes through :func:`html.escape`; forms POST with the session's CSRF
token in a hidden field.
"""

from __future__ import annotations

from collections.abc import Iterable
from html import escape
from typing import Any

from stationpipe.kernel.messages import Handling
from stationpipe.rules.handling.workflow import NAMES, STATES, Action
from stationpipe.rules.notify import COLOURS, COLOURS_ZH

_STYLE = """
body{font-family:"Noto Sans CJK SC",sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left}
.l1{background:#cfe2ff}.l2{background:#fff3b0}.l3{background:#ffd8a8}.l4{background:#ffc9c9}
form.inline{display:inline-block;margin:.2em}.error{color:#a00;font-weight:bold}
header{display:flex;justify-content:space-between;align-items:center}
"""
_MACHINE = {"pending": "待定", "firing": "预警中", "resolved": "已恢复", "inactive": "未触发"}


def _page(title: str, body: str, user: str | None = None, csrf: str = "") -> str:
    logout = (
        f'<form class="inline" method="post" action="/logout">{_csrf(csrf)}'
        f'<span id="user">{escape(user)}</span> <button type="submit">退出 Log out</button></form>'
        if user
        else ""
    )
    return (
        '<!doctype html><html lang="zh"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head><body>"
        f'<header><h1><a href="/">预警处置台 Warning desk</a></h1>{logout}</header>{body}</body></html>'
    )


def _csrf(token: str) -> str:
    return f'<input type="hidden" name="csrf" value="{escape(token)}">'


def login(error: str = "", csrf: str = "") -> str:
    """The login form."""
    err = f'<p class="error" id="error">{escape(error)}</p>' if error else ""
    form = (
        f'{err}<form method="post" action="/login">{_csrf(csrf)}'
        '<p><label>用户名 User <input name="user" id="login-user" autocomplete="username"></label></p>'
        '<p><label>密码 Password <input name="password" id="login-password" type="password" '
        'autocomplete="current-password"></label></p>'
        '<p><button type="submit" id="login-submit">登录 Log in</button></p></form>'
    )
    return _page("登录 Log in", form)


def level(n: int) -> str:
    """``红色 red`` for level 4."""
    return f"{COLOURS_ZH[n]} {COLOURS[n]}"


def human(state: str) -> str:
    """The human state in both languages."""
    zh, en = STATES[Handling(state)]
    return f"{zh} {en}"


def machine(state: str) -> str:
    """The machine state in both languages."""
    return f"{_MACHINE.get(state, state)} {state}"


def _num(value: object) -> str:
    return "" if value is None else f"{value:g}" if isinstance(value, float) else escape(str(value))


def board(warnings: list[dict[str, Any]], user: str, csrf: str) -> str:
    """Open warnings, grouped by level (highest first) and city."""
    if not warnings:
        return _page(
            "预警处置台 Warning desk", '<p id="empty">没有未处置的预警 No open warnings.</p>', user, csrf
        )
    head = (
        "<tr><th>级别 Level</th><th>城市 City</th><th>站点 Station</th><th>预警 Warning</th>"
        "<th>监测值 Value</th><th>限值 Limit</th><th>机器状态 Machine</th><th>处置状态 Handling</th>"
        "<th>确认 Acknowledged</th><th>负责人 Assignee</th><th>开始 Started (UTC)</th></tr>"
    )
    ordered = sorted(warnings, key=lambda w: (-w["level"], w["city"], w["station"], w["instance"]))
    rows = [_row(w) for w in ordered]
    body = f'{_counts(warnings)}<table id="warnings">{head}{"".join(rows)}</table>'
    return _page("预警处置台 Warning desk", body, user, csrf)


def _row(w: dict[str, Any]) -> str:
    return (
        f'<tr class="l{w["level"]}" data-episode="{escape(w["episode"])}">'
        f"<td>{level(w['level'])}</td><td>{escape(w['city'])}</td>"
        f"<td>{escape(w['name'])} ({escape(w['station'])})</td>"
        f'<td><a href="/w/{escape(w["episode"])}">{escape(w["message"]["zh"])}<br>'
        f"{escape(w['message']['en'])}</a></td>"
        f"<td>{_num(w['value'])}</td><td>{_num(w['limit'])}</td><td>{machine(w['state'])}</td>"
        f'<td class="handling">{human(w["handling"])}</td>'
        f"<td>{escape(w['acknowledged_by'] or '—')}</td><td>{escape(w['assignee'] or '—')}</td>"
        f"<td>{escape(w['started'])}</td></tr>"
    )


def _counts(warnings: list[dict[str, Any]]) -> str:
    """Open warnings counted by level (rows, highest first) and city (columns)."""
    cities = sorted({w["city"] for w in warnings})
    head = "<tr><th>级别 Level</th>" + "".join(f"<th>{escape(c or '—')}</th>" for c in cities) + "</tr>"
    rows = []
    for n in sorted({w["level"] for w in warnings}, reverse=True):
        cells = "".join(
            f"<td>{sum(1 for w in warnings if w['level'] == n and w['city'] == c)}</td>" for c in cities
        )
        rows.append(f'<tr class="l{n}"><td>{level(n)}</td>{cells}</tr>')
    return f'<table id="counts">{head}{"".join(rows)}</table>'


def _course(entries: Iterable[dict[str, Any]]) -> str:
    rows = []
    for e in entries:
        if e["kind"] == "change":
            what = f"{machine(e['state'])} · {escape(e['change'])} · {level(e['level'])}"
            detail = f"{escape(e['message']['zh'])} / {escape(e['message']['en'])}"
            who, values = "引擎 engine", f"{_num(e['value'])} / {_num(e['limit'])}"
        else:
            zh, en = NAMES[Action(e["action"])]
            what = f"{zh} {en} → {human(e['handling'])}"
            extra = [escape(e["note"])] if e.get("note") else []
            if e.get("assignee"):
                extra.append(f"→ {escape(e['assignee'])}")
            detail, who, values = " ".join(extra), escape(e["user"]), ""
        rows.append(
            f'<tr class="{escape(e["kind"])}"><td>{escape(e["ts"])}</td><td>{who}</td><td>{what}</td>'
            f"<td>{values}</td><td>{detail}</td></tr>"
        )
    head = (
        "<tr><th>时间 Time (UTC)</th><th>谁 Who</th><th>事件 What</th>"
        "<th>值/限值 Value/limit</th><th></th></tr>"
    )
    return f'<table id="course">{head}{"".join(rows)}</table>'


def _forms(w: dict[str, Any], csrf: str, operators: Iterable[str]) -> str:
    base = f"/w/{escape(w['episode'])}"
    out = []
    for action in (Action.ACKNOWLEDGE, Action.VERIFY, Action.RESPOND, Action.FALSE_ALARM, Action.LIFT):
        zh, en = NAMES[action]
        out.append(
            f'<form class="inline" method="post" action="{base}/{action.value}">{_csrf(csrf)}'
            f'<button type="submit" id="do-{action.value}">{zh} {en}</button></form>'
        )
    options = "".join(f'<option value="{escape(o)}">{escape(o)}</option>' for o in sorted(operators))
    zh, en = NAMES[Action.ASSIGN]
    out.append(
        f'<form class="inline" method="post" action="{base}/assign">{_csrf(csrf)}'
        f'<select name="assignee" id="assignee">{options}</select>'
        f'<button type="submit" id="do-assign">{zh} {en}</button></form>'
    )
    zh, en = NAMES[Action.NOTE]
    out.append(
        f'<form method="post" action="{base}/note">{_csrf(csrf)}'
        f'<input name="note" id="note" size="60"> '
        f'<button type="submit" id="do-note">{zh} {en}</button></form>'
    )
    return f'<div id="actions">{"".join(out)}</div>'


def detail(
    w: dict[str, Any],
    course: list[dict[str, Any]],
    user: str,
    csrf: str,
    *,
    can_act: bool,
    operators: Iterable[str],
    error: str = "",
) -> str:
    """One warning: its state, the values behind it, its course and the action buttons."""
    err = f'<p class="error" id="error">{escape(error)}</p>' if error else ""
    facts = [
        (
            "站点 Station",
            f"{escape(w['name'])} ({escape(w['station'])}) {escape(w['city'])} {escape(w['river'])}",
        ),
        ("断面 Section", escape(w["section"])),
        ("预警 Warning", f"{escape(w['message']['zh'])} / {escape(w['message']['en'])}"),
        ("级别 Level", level(w["level"])),
        ("监测值 / 限值 Value / limit", f"{_num(w['value'])} / {_num(w['limit'])}"),
        ("超标倍数 Exceedance multiple", _num(w["multiple"])),
        ("目标 Target class", escape(w["target_class"] or "")),
        ("机器状态 Machine state", f'<span id="machine">{machine(w["state"])}</span>'),
        ("处置状态 Handling", f'<span id="handling">{human(w["handling"])}</span>'),
        ("确认 Acknowledged by", f'<span id="acknowledged">{escape(w["acknowledged_by"] or "—")}</span>'),
        ("负责人 Assignee", escape(w["assignee"] or "—")),
        ("开始 / 结束 Started / ended (UTC)", f"{escape(w['started'])} / {escape(w['ended'] or '—')}"),
    ]
    table = "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in facts)
    forms = _forms(w, csrf, operators) if can_act else "<p>只读账户 Read-only account.</p>"
    body = (
        f'{err}<table id="warning" class="l{w["level"]}">{table}</table>{forms}'
        f"<h2>过程 Course</h2>{_course(course)}"
    )
    return _page(f"{w['station']} {w['instance']}", body, user, csrf)
