"""The operators' desk as one HTTP service: ``/api/v1/…`` (JSON) and the page, on ``[api] host:port``."""

from __future__ import annotations

import asyncio
import logging

from stationpipe.rules.config import ApiSettings
from stationpipe.rules.handling import api
from stationpipe.rules.handling.desk import Desk
from stationpipe.rules.handling.httpserver import Request, Response, start
from stationpipe.rules.handling.page import Page, Sessions

log = logging.getLogger(__name__)


async def serve(desk: Desk, settings: ApiSettings, bound: asyncio.Future[int] | None = None) -> None:
    """Serve the API and the page until cancelled; ``bound`` gets the port (useful with port 0)."""
    page = Page(desk, Sessions(settings.session_for.total_seconds(), secure=settings.secure_cookies))

    async def handler(request: Request) -> Response:
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
