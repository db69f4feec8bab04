"""InfluxDB writers. The v1 ``/write`` API speaks to InfluxDB 1.x and to 2.x/3.x compatibility endpoints.

Responses are classified once, here, into the exception tree: 204 ok; 401/403 stop (``StoreAuthError``);
400 rejected points (``StoreRejectedError``); 429/503 and other 5xx or connection errors retry
(``StoreUnavailableError`` with Retry-After when the server sent one).
"""

from __future__ import annotations

import gzip

import httpx

from collector.config import InfluxSettings
from station.errors import StoreAuthError, StoreRejectedError, StoreUnavailableError


def _retry_after(resp: httpx.Response) -> float | None:
    try:
        return float(resp.headers["Retry-After"])
    except (KeyError, ValueError):
        return None


def classify(resp: httpx.Response) -> None:
    """Raise the stationpipe error a write response means; return for success."""
    code = resp.status_code
    if code in (200, 204):
        return
    body = resp.text[:500]
    if code in (401, 403):
        raise StoreAuthError(f"InfluxDB refused our credentials ({code}): {body}")
    if code == 400:
        raise StoreRejectedError(f"InfluxDB rejected points: {body}")
    raise StoreUnavailableError(f"InfluxDB answered {code}: {body}", retry_after=_retry_after(resp))


class V1Writer:
    """Line protocol to ``POST /write?db=…&precision=ns`` with optional gzip and basic auth."""

    def __init__(self, settings: InfluxSettings) -> None:
        password = settings.password()
        auth = None
        if settings.username:
            auth = httpx.BasicAuth(settings.username, password.get_secret_value() if password else "")
        self._settings = settings
        self._client = httpx.AsyncClient(
            base_url=str(settings.url).rstrip("/"), auth=auth, timeout=settings.timeout
        )

    async def write(self, lines: list[str]) -> None:
        """Write one batch; raises a classified ``StationpipeError`` on failure."""
        body = "\n".join(lines).encode()
        headers = {"Content-Type": "text/plain; charset=utf-8"}
        if self._settings.gzip:
            body = gzip.compress(body, compresslevel=1)
            headers["Content-Encoding"] = "gzip"
        try:
            resp = await self._client.post(
                "/write",
                params={"db": self._settings.database, "precision": "ns"},
                content=body,
                headers=headers,
            )
        except httpx.HTTPError as exc:
            raise StoreUnavailableError(f"InfluxDB unreachable: {exc!r}") from exc
        classify(resp)

    async def aclose(self) -> None:
        """Close the HTTP connection pool."""
        await self._client.aclose()
