"""A small HTTP/1.1 server on asyncio streams: one request per connection, bounded, every read timed out.

Enough for the operators' API and page (a handful of people, small requests): request line, headers,
a ``Content-Length`` body (no chunked uploads), ``Connection: close`` on every answer. It runs on the
engine's event loop, so handlers touch the engine's state without locks.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from http.cookies import CookieError, SimpleCookie
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from stationpipe.kernel.errors import RejectedError

log = logging.getLogger(__name__)
_HEAD_LIMIT = 16 * 1024
_BODY_LIMIT = 64 * 1024
_TIMEOUT = 10.0


class BadRequestError(RejectedError):
    """The request is malformed or too large (answered 400 or 413)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True, slots=True)
class Request:
    """One request: ``path`` percent-decoded, ``headers`` with lower-case names."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    peer: str = ""

    def cookie(self, name: str) -> str | None:
        """One cookie's value."""
        jar = SimpleCookie()
        with contextlib.suppress(CookieError):
            jar.load(self.headers.get("cookie", ""))
        morsel = jar.get(name)
        return None if morsel is None else morsel.value

    def form(self) -> dict[str, str]:
        """An ``application/x-www-form-urlencoded`` body (the last value of each name)."""
        fields = parse_qs(self.body.decode("utf-8", "replace"), keep_blank_values=True)
        return {k: v[-1] for k, v in fields.items()}

    def json(self) -> dict[str, Any]:
        """A JSON object body (an empty body is ``{}``); ``BadRequestError`` otherwise."""
        if not self.body.strip():
            return {}
        try:
            data = json.loads(self.body)
        except ValueError as exc:
            raise BadRequestError(f"the body is not JSON: {exc}") from None
        if not isinstance(data, dict):
            raise BadRequestError("the body must be a JSON object")
        return data


@dataclass
class Response:
    """One answer."""

    status: int
    body: bytes = b""
    content_type: str = "text/plain; charset=utf-8"
    headers: list[tuple[str, str]] = field(default_factory=list)

    @classmethod
    def json(cls, status: int, data: object, *headers: tuple[str, str]) -> Response:
        """A JSON answer."""
        raw = json.dumps(data, ensure_ascii=False).encode()
        return cls(status, raw, "application/json; charset=utf-8", list(headers))

    @classmethod
    def html(cls, status: int, text: str, *headers: tuple[str, str]) -> Response:
        """An HTML page."""
        return cls(status, text.encode(), "text/html; charset=utf-8", list(headers))

    @classmethod
    def redirect(cls, location: str, *headers: tuple[str, str]) -> Response:
        """303 See Other (after a form POST)."""
        return cls(303, b"", headers=[("Location", location), *headers])

    def encode(self) -> bytes:
        """The bytes on the wire (a header value holding a line break is refused: no header injection)."""
        if any("\r" in v or "\n" in v for _, v in self.headers):
            raise ValueError("a header value must not hold a line break")
        reason = HTTPStatus(self.status).phrase
        lines = [
            f"HTTP/1.1 {self.status} {reason}",
            f"Content-Type: {self.content_type}",
            f"Content-Length: {len(self.body)}",
            "Connection: close",
            "Cache-Control: no-store",
            "X-Content-Type-Options: nosniff",
            *(f"{k}: {v}" for k, v in self.headers),
        ]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + self.body


Handler = Callable[[Request], Awaitable[Response]]


async def _read(reader: asyncio.StreamReader, peer: str) -> Request:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.LimitOverrunError:
        raise BadRequestError("headers too large", 431) from None
    lines = head.decode("latin-1").split("\r\n")
    try:
        method, target, _version = lines[0].split(" ")
    except ValueError:
        raise BadRequestError(f"bad request line {lines[0][:80]!r}") from None
    headers = {}
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    try:
        length = int(headers.get("content-length", "0"))
    except ValueError:
        raise BadRequestError("bad Content-Length") from None
    if length < 0 or length > _BODY_LIMIT:
        raise BadRequestError("body too large", 413)
    body = await reader.readexactly(length) if length else b""
    url = urlsplit(target)
    query = {k: v[-1] for k, v in parse_qs(url.query).items()}
    return Request(method.upper(), unquote(url.path), query, headers, body, peer)


def _connection(handler: Handler) -> Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]:
    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = str(writer.get_extra_info("peername"))
        try:
            try:
                async with asyncio.timeout(_TIMEOUT):
                    request = await _read(reader, peer)
                response = await handler(request)
            except BadRequestError as exc:
                response = Response(exc.status, f"{exc}\n".encode())
            except (TimeoutError, asyncio.IncompleteReadError, ConnectionError):
                return
            except Exception:
                log.exception("the operators' API failed on a request")
                response = Response(500, b"internal error\n")
            writer.write(response.encode())
            async with asyncio.timeout(_TIMEOUT):
                await writer.drain()
        except (TimeoutError, ConnectionError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    return serve


async def start(handler: Handler, host: str, port: int) -> asyncio.Server:
    """Listen on ``host:port`` (0: a free port) and answer with ``handler``."""
    return await asyncio.start_server(_connection(handler), host, port, limit=_HEAD_LIMIT)
