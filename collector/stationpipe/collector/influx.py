"""InfluxDB writers. ``V1Writer`` speaks ``/write`` (1.x, and 2.x/3.x compatibility endpoints);
``stationpipe.collector.influx_v2.V2Writer`` speaks ``/api/v2/write`` through influxdb-client.

Responses are classified once, here, into the exception tree: 204 ok; 401/403 stop (``StoreAuthError``);
400 rejected points (``StoreRejectedError``, message = the server's full error text); 413 too large
(``StoreTooLargeError``); 429/503, other 5xx, 404 and connection errors retry (``StoreUnavailableError``,
with the Retry-After seconds when the server sent them).
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Mapping
from typing import Protocol

import httpx

from stationpipe.collector.config import InfluxSettings
from stationpipe.kernel.errors import (
    StoreAuthError,
    StoreRejectedError,
    StoreTooLargeError,
    StoreUnavailableError,
)


class Writer(Protocol):
    """Writes one batch of line-protocol lines, or raises a classified ``StationpipeError``."""

    async def write(self, lines: list[str]) -> None:
        """Write all lines in one request."""

    async def aclose(self) -> None:
        """Release connections."""


def retry_after(headers: Mapping[str, str] | None) -> float | None:
    """Seconds from an HTTP ``Retry-After`` header given in seconds; ``None`` when absent or a date."""
    if not headers:
        return None
    try:
        return max(0.0, float(headers["Retry-After"]))
    except (KeyError, ValueError):
        return None


def _error_text(body: str) -> str:
    """InfluxDB answers ``{"error": "..."}`` (1.x) or ``{"message": "..."}`` (2.x); else the raw body."""
    try:
        doc = json.loads(body)
    except ValueError:
        return body
    if isinstance(doc, dict):
        return str(doc.get("error") or doc.get("message") or body)
    return body


def raise_for_status(code: int, body: str, headers: Mapping[str, str] | None) -> None:
    """Raise the stationpipe error a write response means; return for success (2xx)."""
    if 200 <= code < 300:
        return
    text = _error_text(body)
    if code in (401, 403):
        raise StoreAuthError(f"InfluxDB refused our credentials ({code}): {text[:300]}")
    if code == 400:
        raise StoreRejectedError(text)
    if code == 413:
        raise StoreTooLargeError(f"request too large (413): {text[:300]}")
    raise StoreUnavailableError(f"InfluxDB answered {code}: {text[:300]}", retry_after=retry_after(headers))


def classify(resp: httpx.Response) -> None:
    """``raise_for_status`` for an httpx response."""
    raise_for_status(resp.status_code, resp.text, resp.headers)


class V1Writer:
    """Line protocol to ``POST /write?db=…&precision=ns`` with optional gzip and basic auth."""

    def __init__(self, settings: InfluxSettings, transport: httpx.AsyncBaseTransport | None = None) -> None:
        password = settings.password()
        auth = None
        if settings.username:
            auth = httpx.BasicAuth(settings.username, password.get_secret_value() if password else "")
        self._settings = settings
        # the query string once: httpx merges ``params`` into the URL anew on every request
        self._url = httpx.URL("/write", params={"db": settings.database or "", "precision": "ns"})
        self._client = httpx.AsyncClient(
            base_url=str(settings.url).rstrip("/"), auth=auth, timeout=settings.timeout, transport=transport
        )

    async def write(self, lines: list[str]) -> None:
        """Write one batch; raises a classified ``StationpipeError`` on failure."""
        body = "\n".join(lines).encode()
        headers = {"Content-Type": "text/plain; charset=utf-8"}
        if self._settings.gzip:
            body = gzip.compress(body, compresslevel=1)
            headers["Content-Encoding"] = "gzip"
        try:
            resp = await self._client.post(self._url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise StoreUnavailableError(f"InfluxDB unreachable: {exc!r}") from exc
        classify(resp)

    async def aclose(self) -> None:
        """Close the HTTP connection pool."""
        await self._client.aclose()


def make_writer(settings: InfluxSettings) -> Writer:
    """The writer the configuration asks for."""
    if settings.api == "v2":
        from stationpipe.collector.influx_v2 import V2Writer  # noqa: PLC0415 - influxdb-client only when used

        return V2Writer(settings)
    return V1Writer(settings)
