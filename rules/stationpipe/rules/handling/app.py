"""The operators' console as one HTTP service on ``[api] host:port``: the warnings API (``/api/v1/warnings``),
the audit API (``/api/v1/audit``), the desk's page and the audit page (``/audit``)."""

from __future__ import annotations

import asyncio
import logging

from stationpipe.rules.audit.api import PREFIX as AUDIT_API
from stationpipe.rules.audit.api import AuditApi
from stationpipe.rules.audit.page import AuditPage, stored_reviews
from stationpipe.rules.audit.store import SINK, AuditStore
from stationpipe.rules.config import ApiSettings
from stationpipe.rules.handling import api
from stationpipe.rules.handling.desk import Desk
from stationpipe.rules.handling.httpserver import Request, Response, start
from stationpipe.rules.handling.page import Page, Sessions

log = logging.getLogger(__name__)


async def serve(desk: Desk, settings: ApiSettings, bound: asyncio.Future[int] | None = None) -> None:
    """Serve the API and the page until cancelled; ``bound`` gets the port (useful with port 0)."""
    store = AuditStore(desk.state, lambda: desk.wake((SINK,)))
    audit_api = AuditApi(store, desk.accounts, desk.stations)
    audit_page = AuditPage(store, desk.stations, stored_reviews(store))
    sessions = Sessions(settings.session_for.total_seconds(), secure=settings.secure_cookies)
    page = Page(desk, sessions, audit_page.handle)

    async def handler(request: Request) -> Response:
        if request.path == AUDIT_API or request.path.startswith(AUDIT_API + "/"):
            return await audit_api.handle(request)
        if request.path.startswith("/api/"):
            return await api.handle(desk, request)
        return await page.handle(request)

    if not desk.accounts.users().users:  # read now: a broken users file stops the engine with its reason
        log.warning("no accounts in %s yet: add one with 'stationpipe rules user add'", settings.users)
    server = await start(handler, settings.host, settings.port)
    port = int(server.sockets[0].getsockname()[1])
    log.info("operators' desk on http://%s:%d/ (API under /api/v1/)", settings.host, port)
    if bound is not None and not bound.done():
        bound.set_result(port)
    async with server:
        await server.serve_forever()
