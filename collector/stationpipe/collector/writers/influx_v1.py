"""InfluxDB ``POST /write?db=…&precision=ns`` (1.x; 2.x/3.x compatibility endpoints): ``api = "v1"``.

Line protocol as the batch carries it, gzip optional, basic auth when a username is configured.
"""

from __future__ import annotations

import gzip

import httpx

from stationpipe.collector.config import InfluxSettings
from stationpipe.collector.writers.influx_answers import SERVER, raise_for_status
from stationpipe.kernel.errors import StoreUnavailableError


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
            raise StoreUnavailableError(f"{SERVER} unreachable: {exc!r}") from exc
        raise_for_status(resp.status_code, resp.text, resp.headers, lines)

    async def aclose(self) -> None:
        """Close the HTTP connection pool."""
        await self._client.aclose()
