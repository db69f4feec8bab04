"""The operators' page (预警处置台): login with the users file's accounts, a session cookie, CSRF tokens.

======  ===================================  ===================================================
method  path                                 what
======  ===================================  ===================================================
GET     /login                               the login form (sets a login CSRF cookie)
POST    /login                               name, password, csrf -> session cookie, to /
POST    /logout                              ends the session
GET     /                                    open warnings by level and city
GET     /w/<station>/<rule>/<ms>             one warning: state, values, course, action buttons
POST    /w/<station>/<rule>/<ms>/<action>    an action (form: csrf, note, assignee) -> back to it
======  ===================================  ===================================================

Sessions live in the engine's memory (``HttpOnly``, ``SameSite=Strict``, ``Secure`` when configured) and
end after ``[api] session_for`` or a restart. Every POST carries the session's CSRF token (the login form
a cookie-bound one); a missing or wrong one is refused with 403. A viewer sees no buttons and gets 403.
"""

from __future__ import annotations

import hmac
import secrets
import time
from dataclasses import dataclass, field

from stationpipe.rules.handling import views
from stationpipe.rules.handling.accounts import Account, Role
from stationpipe.rules.handling.api import summary
from stationpipe.rules.handling.desk import Desk, UnknownWarningError
from stationpipe.rules.handling.httpserver import Request, Response
from stationpipe.rules.handling.workflow import Action, ActionRefusedError
from stationpipe.rules.handling.workflow import Request as ActionRequest

SESSION = "sp_session"
LOGIN = "sp_login"


@dataclass
class Session:
    """One logged-in browser."""

    user: str
    csrf: str
    expires: float


@dataclass
class Sessions:
    """The live sessions, by their cookie value."""

    lifetime: float
    secure: bool = False
    live: dict[str, Session] = field(default_factory=dict)

    def open(self, user: str) -> tuple[str, Session]:
        """A new session for ``user``: its cookie value and itself."""
        now = time.time()
        self.live = {k: s for k, s in self.live.items() if s.expires > now}
        key = secrets.token_urlsafe(32)
        session = Session(user, secrets.token_urlsafe(32), now + self.lifetime)
        self.live[key] = session
        return key, session

    def get(self, request: Request) -> Session | None:
        """The request's live session."""
        key = request.cookie(SESSION)
        session = self.live.get(key) if key else None
        if session is None or session.expires < time.time():
            return None
        return session

    def close(self, request: Request) -> None:
        """End the request's session."""
        key = request.cookie(SESSION)
        if key:
            self.live.pop(key, None)

    def cookie(self, name: str, value: str, max_age: int) -> tuple[str, str]:
        """A ``Set-Cookie`` header."""
        secure = "; Secure" if self.secure else ""
        return ("Set-Cookie", f"{name}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}")


def _same(a: str | None, b: str | None) -> bool:
    return bool(a) and bool(b) and hmac.compare_digest(str(a), str(b))


@dataclass
class Page:
    """The page's routes over one desk."""

    desk: Desk
    sessions: Sessions

    async def handle(self, request: Request) -> Response:
        """Answer one page request."""
        if request.path == "/login":
            return await self._login(request)
        if request.path == "/favicon.ico":
            return Response(404, b"")
        session = self.sessions.get(request)
        account = None if session is None else self.desk.accounts.get(session.user)
        if session is None or account is None:
            self.sessions.close(request)
            return (
                Response.redirect("/login") if request.method == "GET" else Response(401, b"log in first\n")
            )
        return self._logged_in(request, account, session)

    def _logged_in(self, request: Request, account: Account, session: Session) -> Response:
        if request.method == "POST" and not _same(request.form().get("csrf"), session.csrf):
            return Response(403, b"missing or wrong CSRF token\n")
        if request.path == "/logout" and request.method == "POST":
            self.sessions.close(request)
            return Response.redirect("/login", self.sessions.cookie(SESSION, "", 0))
        if request.path == "/" and request.method == "GET":
            rows = [summary(self.desk, i) for i in self.desk.warnings()]
            return Response.html(200, views.board(rows, account.name, session.csrf))
        if request.path.startswith("/w/"):
            return self._warning(request, account, session)
        return Response(404, b"not found\n")

    async def _login(self, request: Request) -> Response:
        if request.method == "GET":  # keep a token already set: another tab's form stays valid
            token = request.cookie(LOGIN) or secrets.token_urlsafe(16)
            return Response.html(200, views.login(csrf=token), self.sessions.cookie(LOGIN, token, 3600))
        form = request.form()
        if not _same(form.get("csrf"), request.cookie(LOGIN)):
            return Response(403, b"missing or wrong CSRF token: reload the login page\n")
        account = await self.desk.accounts.check(form.get("user", ""), form.get("password", ""))
        if account is None:
            token = secrets.token_urlsafe(16)
            page = views.login("用户名或密码错误 Wrong user name or password", token)
            return Response.html(401, page, self.sessions.cookie(LOGIN, token, 3600))
        key, _ = self.sessions.open(account.name)
        max_age = int(self.sessions.lifetime)
        return Response.redirect(
            "/", self.sessions.cookie(SESSION, key, max_age), self.sessions.cookie(LOGIN, "", 0)
        )

    def _warning(self, request: Request, account: Account, session: Session) -> Response:
        parts = [p for p in request.path.removeprefix("/w/").split("/") if p]
        if len(parts) not in {3, 4}:
            return Response(404, b"not found\n")
        episode = "/".join(parts[:3])
        error, status = "", 200
        try:
            if request.method == "POST" and len(parts) == 4:
                refused = self._act(request, account, episode, parts[3])
                if isinstance(refused, Response):
                    return refused
                error, status = refused, 409
            elif request.method != "GET" or len(parts) != 3:
                return Response(405, b"method not allowed\n")
            inst = self.desk.find(episode)
        except UnknownWarningError:
            return Response(404, b"no such warning\n")
        except ActionRefusedError as exc:
            return Response(409, f"{exc}\n".encode())
        page = views.detail(
            summary(self.desk, inst),
            self.desk.course(inst),
            account.name,
            session.csrf,
            can_act=account.role is Role.OPERATOR,
            operators=self.desk.accounts.operators(),
            error=error,
        )
        return Response.html(status, page)

    def _act(self, request: Request, account: Account, episode: str, name: str) -> Response | str:
        """Do one action: the redirect back to the warning, a refusal, or the reason for a 409 page."""
        if account.role is not Role.OPERATOR:
            return Response(403, b"read-only account: only operators act on warnings\n")
        try:
            action = Action(name)
        except ValueError:
            return Response(404, b"no such action\n")
        form = request.form()
        try:
            self.desk.act(
                episode, ActionRequest(account.name, action, form.get("note"), form.get("assignee"))
            )
        except ActionRefusedError as exc:
            return str(exc)
        return Response.redirect(f"/w/{episode}")
