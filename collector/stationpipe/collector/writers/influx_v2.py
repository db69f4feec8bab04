"""InfluxDB ``/api/v2/write`` through influxdb-client (InfluxDB 2.x, 3.x, 1.8+ and compatible servers):
``api = "v2"``.

influxdb-client's asynchronous client needs aiohttp, which stationpipe does not depend on, so the
synchronous client runs in a worker thread: the event loop never blocks on a write. Its exceptions are
translated here, once, into the exception tree (the same classification as the v1 writer:
:mod:`stationpipe.collector.writers.influx_answers`). Importing influxdb-client takes a good part of a
second, so :data:`stationpipe.collector.writers.WRITERS` imports this module only when it is configured.
"""

from __future__ import annotations

import asyncio
from typing import Any

import urllib3
from influxdb_client.client.influxdb_client import InfluxDBClient
from influxdb_client.client.write_api import SYNCHRONOUS
from influxdb_client.rest import ApiException

from stationpipe.collector.config import InfluxSettings
from stationpipe.collector.writers.influx_answers import SERVER, raise_for_status
from stationpipe.kernel.errors import StoreUnavailableError


def _body_text(exc: ApiException) -> str:
    body: Any = exc.body
    if isinstance(body, bytes):
        return body.decode("utf-8", errors="replace")
    return str(body or exc.reason or "")


class V2Writer:
    """Line protocol to ``POST /api/v2/write?org=…&bucket=…&precision=ns`` with a token; gzip optional."""

    def __init__(self, settings: InfluxSettings) -> None:
        token = settings.token()
        self._org = settings.org or ""
        self._bucket = settings.bucket or ""
        self._client = InfluxDBClient(
            url=str(settings.url).rstrip("/"),
            token=token.get_secret_value() if token else "",
            org=self._org,
            timeout=int(settings.timeout * 1000),
            enable_gzip=settings.gzip,
            retries=False,  # the collector's own policy retries (and spools); never twice
        )
        self._api = self._client.write_api(write_options=SYNCHRONOUS)

    def _write_blocking(self, lines: list[str]) -> None:
        try:
            # the client's default precision is nanoseconds, the precision of every line we format
            self._api.write(bucket=self._bucket, org=self._org, record="\n".join(lines))
        except ApiException as exc:
            headers = dict(exc.headers) if exc.headers else None
            raise_for_status(int(exc.status or 0), _body_text(exc), headers, lines)
            raise StoreUnavailableError(f"{SERVER} v2 write failed: {exc.status}") from exc
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise StoreUnavailableError(f"{SERVER} unreachable: {exc!r}") from exc

    async def write(self, lines: list[str]) -> None:
        """Write one batch in a worker thread; raises a classified ``StationpipeError`` on failure."""
        await asyncio.to_thread(self._write_blocking, lines)

    async def aclose(self) -> None:
        """Close the client's connection pool."""
        await asyncio.to_thread(self._client.close)
