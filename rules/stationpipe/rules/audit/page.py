"""The audit page of the operators' console (数据审核), behind the desk's login, sessions and CSRF tokens.

======  ===================================  ===================================================
method  path                                 what
======  ===================================  ===================================================
GET     /audit                               the stations
GET     /audit/<station>[?to=YYYY-MM-DD]     14 days to ``to`` (today) and their statuses, marks in
                                             force, the form, the QC reviews, the trail
POST    /audit/<station>/mark                parameter, start, end (China time), reason, note
POST    /audit/<station>/restore/<id>        the mark's next version, restoring
POST    /audit/<station>/day/<day>           status: reviewed, locked or unreviewed
POST    /audit/<station>/confirm/<review>    the invalidation a QC review mark proposes (version 1)
======  ===================================  ===================================================

The desk's :class:`~stationpipe.rules.handling.page.Page` checks the session and the CSRF token before a
request reaches here. A refused write (a locked day) answers 409 with the page and the reason.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta

from stationpipe.kernel.audit import Action, AuditError, DayStatus
from stationpipe.kernel.catalogue import CATALOGUE
from stationpipe.kernel.registry import StationInfo
from stationpipe.rules.audit import views
from stationpipe.rules.audit.api import (
    WRITERS,
    AuditRefusedError,
    day_of,
    may_mark,
    may_set,
    parameter_of,
    reason_of,
    status_of,
)
from stationpipe.rules.audit.store import AuditStore, LockedError, UnknownMarkError
from stationpipe.rules.audit.views import CHINA, Review, StationView
from stationpipe.rules.handling.accounts import Account
from stationpipe.rules.handling.httpserver import BadRequestError, Request, Response

#: The days the page lists, the newest first.
DAYS_SHOWN = 14

#: Where the QC checks' "for review" periods come from: ``station -> reviews``, newest first
#: (:func:`stored_reviews` in the console; docs/design.md#audit).
Reviews = Callable[[str], Sequence[Review]]


def no_reviews(_station: str) -> Sequence[Review]:
    """No QC source wired in."""
    return ()


def stored_reviews(store: AuditStore) -> Reviews:
    """The review marks kept in the store's state file (the last :data:`REVIEWS_KEPT`)."""

    def reviews(station: str) -> Sequence[Review]:
        return tuple(Review.of(ref, mark) for ref, mark in store.reviews(station))

    return reviews


def china_instant(text: str, what: str) -> datetime:
    """``YYYY-MM-DD HH:MM`` (or ``T``) in China time, as UTC; an offset given is kept."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise BadRequestError(f"{what}: a time is YYYY-MM-DD HH:MM (China time), got {text!r}") from None
    return (value if value.tzinfo else value.replace(tzinfo=CHINA)).astimezone(UTC)


class AuditPage:
    """The routes of ``/audit`` over one store."""

    def __init__(
        self,
        store: AuditStore,
        stations: Callable[[], Mapping[str, StationInfo]],
        reviews: Reviews = no_reviews,
    ) -> None:
        self.store, self.stations, self.reviews = store, stations, reviews

    def handle(self, request: Request, account: Account, csrf: str) -> Response:  # noqa: PLR0911 - routes
        """Answer one ``/audit…`` request of a logged-in account (CSRF already checked)."""
        parts = [p for p in request.path.removeprefix("/audit").split("/") if p]
        if not parts and request.method == "GET":
            return Response.html(200, views.stations(self.stations().values(), account.name, csrf))
        info = self.stations().get(parts[0]) if parts else None
        if info is None:
            return Response(404, b"no such station\n")
        if len(parts) == 1 and request.method == "GET":
            try:
                last = day_of(request.query["to"]) if "to" in request.query else None
            except BadRequestError as exc:
                return Response(400, f"{exc}\n".encode())
            return self._show(info, account, csrf, last=last)
        if request.method != "POST":
            return Response(405, b"method not allowed\n")
        try:
            self._write(info, account, parts[1:], request.form())
        except AuditRefusedError as exc:
            return Response(403, f"{exc}\n".encode())
        except UnknownMarkError as exc:
            return Response(404, f"{exc}\n".encode())
        except LockedError as exc:
            return self._show(info, account, csrf, str(exc), 409)
        except (AuditError, BadRequestError) as exc:
            return self._show(info, account, csrf, str(exc), 400)
        back = f"?to={parts[2]}" if parts[1] == "day" else ""
        return Response.redirect(f"/audit/{info.id}{back}")

    def _write(self, info: StationInfo, account: Account, parts: list[str], form: dict[str, str]) -> None:
        match parts:
            case ["mark"]:
                may_mark(account)
                self.store.mark(
                    station=info.id,
                    parameter=parameter_of(form.get("parameter", "")),
                    start=china_instant(form.get("start", ""), "from"),
                    end=china_instant(form.get("end", ""), "to"),
                    action=Action.INVALIDATE,
                    reason=reason_of(form.get("reason", "")),
                    note=form.get("note", ""),
                    author=account.name,
                )
            case ["restore", mark_id]:
                may_mark(account)
                self.store.revise(
                    mark_id, author=account.name, action=Action.RESTORE, note=form.get("note", "")
                )
            case ["confirm", ref] if ref.isdigit():
                may_mark(account)
                self.store.confirm(int(ref), info.id, account.name)
            case ["day", day]:
                wanted = status_of(form.get("status", ""))
                d = day_of(day)
                may_set(account, self.store.status(info.id, d), wanted)
                self.store.set_day(info.id, d, wanted, account.name)
            case _:
                raise UnknownMarkError("no such form")

    def _show(
        self,
        info: StationInfo,
        account: Account,
        csrf: str,
        error: str = "",
        status: int = 200,
        *,
        last: date | None = None,
    ) -> Response:
        today = last or datetime.now(CHINA).date()
        records = self.store.days(info.id)
        days = []
        for offset in range(DAYS_SHOWN):
            d = today - timedelta(days=offset)
            found = [r for r in records if r.day == d]
            latest = max(found, key=lambda r: r.at) if found else None
            days.append(
                _day_row(
                    d, latest.status if latest else DayStatus.UNREVIEWED, latest.author if latest else ""
                )
            )
        view = StationView(
            info=info,
            parameters=[p for p in CATALOGUE.values() if p.kind is info.kind],
            days=days,
            marks=self.store.marks(info.id),
            trail=self.store.versions(info.id),
            reviews=self.reviews(info.id),
        )
        page = views.station(view, account.name, csrf, can_write=account.role in WRITERS, error=error)
        return Response.html(status, page)


def _day_row(day: date, status: DayStatus, author: str) -> tuple[date, DayStatus, str]:
    return day, status, author
