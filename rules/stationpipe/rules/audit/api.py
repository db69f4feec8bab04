"""The audit API (``/api/v1/audit/…``), with the warnings API's authentication (Basic or Bearer).

Answers: 401 without valid credentials, 403 when the role may not (a viewer writes nothing; only an
auditor locks or unlocks a day), 404 for an unknown station or mark, 409 when a period touches a locked day
(``{"error": reason}``), 400 for a malformed request. Instants are RFC 3339 (UTC or with an offset); a day is
``YYYY-MM-DD`` in China time.

======  ================================================  ==============================================
method  path                                              what
======  ================================================  ==============================================
GET     /api/v1/audit/marks?station&parameter&from&to     marks in force (``trail=1``: every version)
POST    /api/v1/audit/marks                               a new mark: station, parameter, start, end,
                                                          reason, note, action (``invalidate`` default)
GET     /api/v1/audit/marks/<id>                          one mark's versions, oldest first
POST    /api/v1/audit/marks/<id>/restore                  its next version, restoring: ``{"note": …}``
GET     /api/v1/audit/days/<station>?from&to              station-day statuses (China days)
POST    /api/v1/audit/days/<station>/<day>                ``{"status": "reviewed"|"locked"|"unreviewed"}``
GET     /api/v1/audit/reviews/<station>?days              the QC review marks of the last ``days`` (90),
                                                          newest first, each with its ``id``
POST    /api/v1/audit/reviews/<station>/<id>/confirm      the invalidation it proposes (version 1)
======  ================================================  ==============================================
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

from stationpipe.kernel.audit import (
    Action,
    AuditError,
    DayStatus,
    MarkVersion,
    Reason,
    mark_fields,
)
from stationpipe.kernel.catalogue import is_known
from stationpipe.kernel.qc import ReviewMark
from stationpipe.kernel.registry import StationInfo
from stationpipe.rules.audit.store import REVIEWS_KEPT, AuditStore, LockedError, UnknownMarkError
from stationpipe.rules.audit.views import CHINA
from stationpipe.rules.handling.accounts import Account, Accounts, Role
from stationpipe.rules.handling.api import challenge_or_account
from stationpipe.rules.handling.httpserver import BadRequestError, Request, Response

PREFIX = "/api/v1/audit"
#: Roles that may write marks and set a day reviewed; only :attr:`Role.AUDITOR` locks and unlocks.
WRITERS = frozenset({Role.OPERATOR, Role.AUDITOR})


class AuditRefusedError(AuditError):
    """The account's role may not do that (HTTP 403)."""


def mark_json(mark: MarkVersion) -> dict[str, Any]:
    """One version as the API answers it: the stored form, ``id`` and ``previous`` (its version or null)."""
    out = mark_fields(mark) | {"id": mark.id}
    out["previous"] = None if mark.previous is None else mark_fields(mark.previous)
    return out


def review_json(ref: int, mark: ReviewMark) -> dict[str, Any]:
    """One stored review mark as the API answers it: its wire fields and ``id`` (its row number)."""
    return {
        "id": ref, "station": mark.station, "parameter": mark.parameter, "start": _rfc3339(mark.start),
        "end": _rfc3339(mark.end), "reason": mark.reason, "check": mark.check, "rule": mark.rule,
        "ts": _rfc3339(mark.ts),
    }  # fmt: skip


def _rfc3339(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def instant(text: str, what: str) -> datetime:
    """An RFC 3339 instant in UTC (one without an offset is taken as UTC)."""
    try:
        value = datetime.fromisoformat(text.strip())
    except (ValueError, AttributeError):
        raise BadRequestError(f"{what} must be an RFC 3339 instant, got {text!r}") from None
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)


def day_of(text: str) -> date:
    """A ``YYYY-MM-DD`` day."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise BadRequestError(f"a day is YYYY-MM-DD, got {text!r}") from None


def reason_of(text: str) -> Reason:
    """A reason of the kernel's list."""
    try:
        return Reason(text)
    except ValueError:
        raise BadRequestError(f"reason must be one of {', '.join(r.value for r in Reason)}") from None


def parameter_of(code: str) -> str:
    """A parameter code of the catalogue."""
    if not is_known(code):
        raise BadRequestError(f"{code!r} is not a parameter of the catalogue")
    return code


def status_of(text: str) -> DayStatus:
    """A day status."""
    try:
        return DayStatus(text)
    except ValueError:
        raise BadRequestError(f"status must be one of {', '.join(s.value for s in DayStatus)}") from None


def may_set(account: Account, current: DayStatus, wanted: DayStatus) -> None:
    """``AuditRefusedError`` unless the account may move a day from ``current`` to ``wanted``."""
    if account.role not in WRITERS:
        raise AuditRefusedError(f"{account.name} is a {account.role.value}: read only")
    if Role.AUDITOR is not account.role and DayStatus.LOCKED in {current, wanted} and current is not wanted:
        verb = "unlock" if current is DayStatus.LOCKED else "lock"
        raise AuditRefusedError(
            f"{account.name} is an {account.role.value}: only an auditor may {verb} a day"
        )


def may_mark(account: Account) -> None:
    """``AuditRefusedError`` unless the account may write marks."""
    if account.role not in WRITERS:
        raise AuditRefusedError(f"{account.name} is a {account.role.value}: read only")


def _text(data: Mapping[str, Any], key: str, default: str | None = None) -> str:
    value = data.get(key, default)
    if not isinstance(value, str):
        raise BadRequestError(f"{key} must be a string")
    return value


class AuditApi:
    """The routes over one store; ``stations`` gives the registry (an unknown station is 404)."""

    def __init__(
        self, store: AuditStore, accounts: Accounts, stations: Callable[[], Mapping[str, StationInfo]]
    ) -> None:
        self.store, self.accounts, self.stations = store, accounts, stations

    def station(self, station: str) -> StationInfo:
        """The registry's station; ``UnknownMarkError`` (404) when it is not there."""
        info = self.stations()
        if station not in info:
            raise UnknownMarkError(f"no station {station!r} in the registry")
        return info[station]

    async def handle(self, request: Request) -> Response:
        """Answer one ``/api/v1/audit/…`` request."""
        account = await challenge_or_account(self.accounts, request)
        if isinstance(account, Response):
            return account
        parts = [p for p in request.path.removeprefix(PREFIX).split("/") if p]
        try:
            return self._route(account, request, parts)
        except UnknownMarkError as exc:
            return Response.json(404, {"error": str(exc)})
        except AuditRefusedError as exc:
            return Response.json(403, {"error": str(exc)})
        except LockedError as exc:
            return Response.json(409, {"error": str(exc)})
        except AuditError as exc:
            return Response.json(400, {"error": str(exc)})

    def _route(self, account: Account, request: Request, parts: list[str]) -> Response:  # noqa: PLR0911 - a route table
        get, post = request.method == "GET", request.method == "POST"
        match parts:
            case ["marks"] if get:
                return self._list(request.query)
            case ["marks"] if post:
                return self._new(account, request.json())
            case ["marks", mark_id] if get:
                return Response.json(200, {"trail": [mark_json(m) for m in self.store.trail(mark_id)]})
            case ["marks", mark_id, "restore"] if post:
                may_mark(account)
                note = _text(request.json(), "note", "")
                mark = self.store.revise(mark_id, author=account.name, action=Action.RESTORE, note=note)
                return Response.json(200, {"mark": mark_json(mark)})
            case ["days", station] if get:
                return self._days(station, request.query)
            case ["days", station, day] if post:
                return self._set_day(account, station, day_of(day), request.json())
            case ["reviews", station] if get:
                return self._reviews(station, request.query)
            case ["reviews", station, ref, "confirm"] if post and ref.isdigit():
                may_mark(account)
                mark = self.store.confirm(int(ref), self.station(station).id, account.name)
                return Response.json(201, {"mark": mark_json(mark)})
        return Response.json(404, {"error": f"no such resource {request.path!r} for {request.method}"})

    def _list(self, query: Mapping[str, str]) -> Response:
        station, parameter = query.get("station"), query.get("parameter")
        if query.get("trail") == "1":
            return Response.json(
                200, {"trail": [mark_json(m) for m in self.store.versions(station, parameter)]}
            )
        start = instant(query["from"], "from") if "from" in query else None
        end = instant(query["to"], "to") if "to" in query else None
        marks = self.store.marks(station, parameter, start, end)
        return Response.json(200, {"marks": [mark_json(m) for m in marks]})

    def _new(self, account: Account, data: Mapping[str, Any]) -> Response:
        may_mark(account)
        station = self.station(_text(data, "station")).id
        try:
            action = Action(_text(data, "action", Action.INVALIDATE.value))
        except ValueError:
            raise BadRequestError("action must be invalidate or restore") from None
        mark = self.store.mark(
            station=station,
            parameter=parameter_of(_text(data, "parameter")),
            start=instant(_text(data, "start"), "start"),
            end=instant(_text(data, "end"), "end"),
            action=action,
            reason=reason_of(_text(data, "reason")),
            note=_text(data, "note", ""),
            author=account.name,
        )
        return Response.json(201, {"mark": mark_json(mark)})

    def _days(self, station: str, query: Mapping[str, str]) -> Response:
        self.station(station)
        last = day_of(query["to"]) if "to" in query else datetime.now(CHINA).date()
        first = day_of(query["from"]) if "from" in query else last - timedelta(days=13)
        records = self.store.days(station)
        days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
        out = []
        for d in days:
            found = [r for r in records if r.day == d]
            latest = max(found, key=lambda r: r.at) if found else None
            out.append({
                "day": d.isoformat(),
                "status": latest.status.value if latest else DayStatus.UNREVIEWED.value,
                "author": latest.author if latest else None,
                "at": latest.at.isoformat().replace("+00:00", "Z") if latest else None,
            })  # fmt: skip
        return Response.json(200, {"station": station, "days": out})

    def _reviews(self, station: str, query: Mapping[str, str]) -> Response:
        self.station(station)
        text = query.get("days", str(REVIEWS_KEPT.days))
        if not text.isdigit() or int(text) < 1:
            raise BadRequestError(f"days must be a positive whole number, got {text!r}")
        found = self.store.reviews(station, timedelta(days=int(text)))
        return Response.json(200, {"station": station, "reviews": [review_json(r, m) for r, m in found]})

    def _set_day(self, account: Account, station: str, day: date, data: Mapping[str, Any]) -> Response:
        self.station(station)
        wanted = status_of(_text(data, "status"))
        may_set(account, self.store.status(station, day), wanted)
        record = self.store.set_day(station, day, wanted, account.name)
        body = {"station": station, "day": day.isoformat(), "status": record.status.value,
                "author": record.author}  # fmt: skip
        return Response.json(200, body)
