"""A small read-only InfluxQL client for the report (v1 ``/query``: InfluxDB 1.x, and 2.x/3.x through
their v1 compatibility API). Errors become ``ReportError`` naming the query's purpose."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx

from stationpipe.kernel.errors import FatalError


class ReportError(FatalError):
    """The report could not be made (database unreachable, refused, or a query failed)."""


@dataclass(frozen=True)
class InfluxSource:
    """Where to read: ``token`` (2.x/3.x) or ``username``/``password`` (1.x); secrets never in ``repr``."""

    url: str
    database: str
    token: str = field(default="", repr=False)
    username: str = ""
    password: str = field(default="", repr=False)
    timeout: float = 30.0

    def _auth(self) -> tuple[dict[str, str], dict[str, str]]:
        if self.token:
            return {"Authorization": f"Token {self.token}"}, {}
        if self.username:
            return {}, {"u": self.username, "p": self.password}
        return {}, {}

    def rows(self, query: str, what: str) -> list[dict[str, Any]]:
        """Run one InfluxQL statement; one dict per row with the series' tags merged in (``time`` in ns)."""
        headers, creds = self._auth()
        params = {"q": query, "db": self.database, "epoch": "ns", **creds}
        try:
            resp = httpx.post(f"{self.url}/query", params=params, headers=headers, timeout=self.timeout)
        except httpx.HTTPError as exc:
            raise ReportError(f"{what}: cannot reach InfluxDB at {self.url}: {exc}") from exc
        if resp.status_code >= 400:
            raise ReportError(f"{what}: InfluxDB answered {resp.status_code}: {resp.text[:200]}")
        result = resp.json()["results"][0]
        if "error" in result:
            raise ReportError(f"{what}: InfluxQL error: {result['error']}")
        out: list[dict[str, Any]] = []
        for series in result.get("series", []):
            tags = series.get("tags", {})
            out.extend({**tags, **dict(zip(series["columns"], row, strict=True))} for row in series["values"])
        return out
