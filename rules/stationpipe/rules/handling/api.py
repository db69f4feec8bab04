"""The JSON API of the operators' desk (``/api/v1/…``), authenticated per request.

Authentication: ``Authorization: Bearer <token>`` (``stationpipe rules user token``) or ``Basic`` with a
user's name and password. Answers: 401 without valid credentials (with ``WWW-Authenticate``), 403 when a
viewer tries to act, 404 for an unknown warning, 409 when the action does not fit the warning's state
(``{"error": reason}``), 400 for a malformed request.

======  ============================================  ==========================================
method  path                                          what
======  ============================================  ==========================================
GET     /api/v1/warnings[?all=1]                      open warnings (``all``: closed ones too)
GET     /api/v1/warnings/<station>/<rule>/<ms>        one warning and its course
POST    /api/v1/warnings/<station>/<rule>/<ms>/<act>  an action: JSON ``{"note": …, "assignee": …}``
======  ============================================  ==========================================

``<station>/<rule>/<ms>`` is the warning's episode: station, ``rule.parameter`` and its start in epoch
milliseconds, as in the notification ids.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from typing import Any

from stationpipe.kernel import wire
from stationpipe.rules.handling.accounts import Account, Role
from stationpipe.rules.handling.desk import Desk, UnknownWarningError, current
from stationpipe.rules.handling.httpserver import BadRequestError, Request, Response
from stationpipe.rules.handling.workflow import Action, ActionRefusedError
from stationpipe.rules.handling.workflow import Request as ActionRequest
from stationpipe.rules.lifecycle import Instance

PREFIX = "/api/v1/warnings"
_CHALLENGE = ("WWW-Authenticate", 'Basic realm="stationpipe", charset="UTF-8"')


async def authenticate(desk: Desk, request: Request) -> Account | None:
    """The account named by the request's ``Authorization`` header, or ``None``."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value:
        return desk.accounts.by_token(value.strip())
    if scheme.lower() == "basic" and value:
        try:
            name, _, password = base64.b64decode(value.strip(), validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return await desk.accounts.check(name, password)
    return None


def summary(desk: Desk, inst: Instance) -> dict[str, Any]:
    """One warning as the API and the page show it: machine and human state, the values behind it."""
    info = desk.info(inst)
    note = current(inst, info, inst.seen_wall or time.time())
    return {
        "episode": inst.episode,
        "station": inst.station,
        "name": info.name if info else inst.station,
        "city": info.city if info else "",
        "river": info.river if info else "",
        "section": note.section,
        "rule": inst.rule,
        "instance": inst.topic_rule,
        "parameter": inst.parameter,
        "level": note.level,
        "state": inst.phase.value,
        "handling": inst.handling.value,
        "acknowledged": inst.acknowledged,
        "acknowledged_by": inst.acknowledged_by,
        "assignee": inst.assignee,
        "value": inst.value,
        "limit": inst.limit,
        "multiple": inst.multiple,
        "target_class": note.target_class,
        "started": wire.rfc3339(note.started),
        "ended": wire.rfc3339(note.ended) if note.ended else None,
        "message": {"zh": note.message_zh, "en": note.message_en},
    }


def _error(status: int, reason: str, *headers: tuple[str, str]) -> Response:
    return Response.json(status, {"error": reason}, *headers)


def _action(name: str) -> Action:
    try:
        return Action(name)
    except ValueError:
        raise BadRequestError(
            f"unknown action {name!r}: one of {', '.join(a.value for a in Action)}"
        ) from None


def _text(data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        raise BadRequestError(f"{key} must be a string")
    return value


async def handle(desk: Desk, request: Request) -> Response:
    """Answer one ``/api/v1/…`` request."""
    account = await authenticate(desk, request)
    if account is None:
        return _error(401, "authentication required: a Bearer token or Basic credentials", _CHALLENGE)
    parts = [p for p in request.path.removeprefix(PREFIX).split("/") if p]
    if not request.path.startswith(PREFIX) or len(parts) not in {0, 3, 4}:
        return _error(404, f"no such resource {request.path!r}")
    return _route(desk, account, request, parts)


def _route(desk: Desk, account: Account, request: Request, parts: list[str]) -> Response:
    try:
        if request.method == "GET" and not parts:
            closed = request.query.get("all") == "1"
            return Response.json(200, {"warnings": [summary(desk, i) for i in desk.warnings(closed=closed)]})
        episode = "/".join(parts[:3])
        if request.method == "GET" and len(parts) == 3:
            inst = desk.find(episode)
            return Response.json(200, {"warning": summary(desk, inst), "course": desk.course(inst)})
        if request.method == "POST" and len(parts) == 4:
            return _act(desk, account, episode, parts[3], request)
    except UnknownWarningError as exc:
        return _error(404, str(exc))
    except ActionRefusedError as exc:
        return _error(409, str(exc))
    return _error(405, f"{request.method} is not allowed on {request.path!r}", ("Allow", "GET, POST"))


def _act(desk: Desk, account: Account, episode: str, name: str, request: Request) -> Response:
    action = _action(name)
    if account.role is not Role.OPERATOR:
        return _error(403, f"{account.name} is a {account.role.value}: only operators act on warnings")
    data = request.json()
    req = ActionRequest(account.name, action, _text(data, "note"), _text(data, "assignee"))
    record = desk.act(episode, req)
    inst = desk.find(episode)
    action_json = json.loads(wire.encode(record)[1])
    return Response.json(200, {"warning": summary(desk, inst), "action": action_json})
