"""The control channel: a tiny HTTP/1.1 endpoint (stdlib asyncio, loopback) that switches scenarios.

::

    GET  /scenarios                 -> 200 [{"name", "kind", "devices", "active", "started", "lasts"}, …]
    POST /scenarios/<name>/start    -> 200 {"name", "active": true}   (restarts it if it was running)
    POST /scenarios/<name>/stop     -> 200 {"name", "active": false}
    anything else                   -> 404 / 405 {"error": …}

Example: ``curl -X POST http://127.0.0.1:8710/scenarios/nh3n-event/start``. One request per
connection (``Connection: close``); request bodies are ignored; every read has a timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

from stationpipe.simulators.board import Board, UnknownScenarioError

log = logging.getLogger(__name__)
_TIMEOUT = 5.0
_MAX_HEADER = 8192
_REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed"}


def route(board: Board, method: str, path: str) -> tuple[int, Any]:
    """Status and JSON body for one request (pure apart from the board)."""
    parts = [p for p in path.split("?", 1)[0].split("/") if p]
    if parts == ["scenarios"]:
        return (200, board.describe()) if method == "GET" else (405, {"error": "use GET"})
    if len(parts) == 3 and parts[0] == "scenarios" and parts[2] in {"start", "stop"}:
        if method != "POST":
            return 405, {"error": "use POST"}
        name, verb = parts[1], parts[2]
        try:
            board.start(name) if verb == "start" else board.stop(name)
        except UnknownScenarioError:
            return 404, {"error": f"no scenario {name!r}", "known": sorted(board.scenarios)}
        return 200, {"name": name, "active": verb == "start"}
    return 404, {"error": "try GET /scenarios or POST /scenarios/<name>/start|stop"}


async def _read_head(reader: asyncio.StreamReader) -> tuple[str, str]:
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), _TIMEOUT)
    if len(head) > _MAX_HEADER:
        raise ValueError("header too long")
    method, path, _ = head.split(b"\r\n", 1)[0].decode("latin-1").split(" ", 2)
    return method.upper(), path


async def _handle(board: Board, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        try:
            method, path = await _read_head(reader)
            status, body = route(board, method, path)
        except (ValueError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            status, body = 400, {"error": "not an HTTP/1.1 request"}
        data = json.dumps(body, ensure_ascii=False).encode()
        writer.write(
            f"HTTP/1.1 {status} {_REASONS[status]}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(data)}\r\nConnection: close\r\n\r\n".encode()
            + data
        )
        await asyncio.wait_for(writer.drain(), _TIMEOUT)
    except (TimeoutError, ConnectionError):
        pass  # the client went away: nothing to answer
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError, TimeoutError):
            await asyncio.wait_for(writer.wait_closed(), _TIMEOUT)


async def serve(board: Board, host: str, port: int) -> None:
    """Serve the control channel until cancelled."""
    server = await asyncio.start_server(lambda r, w: _handle(board, r, w), host, port)
    log.info("control channel on http://%s:%d/scenarios", host, port)
    async with server:
        await server.serve_forever()
