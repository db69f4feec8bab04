"""VictoriaMetrics (Debian package ``victoria-metrics``) as a child process: a real server implementing
InfluxDB's ``/api/v2/write``, to test the collector's v2 writer without InfluxDB 2.

Points are read back through its export API (``/api/v1/export``): each line-protocol field becomes a series
``<measurement>_<field>`` with the tags as labels, timestamps in milliseconds. String fields are not kept
as text (VictoriaMetrics stores numbers only).
"""

from __future__ import annotations

import contextlib
import json
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from stationpipe.testbed.services import Child, HarnessError, find_binary

BINARY = "victoria-metrics"
PACKAGE = "victoria-metrics"


def available() -> bool:
    """True when the binary is installed (tests that need it skip otherwise)."""
    try:
        find_binary(BINARY, PACKAGE)
    except HarnessError:
        return False
    return True


@dataclass(frozen=True, slots=True)
class Series:
    """One exported series: its labels (``__name__`` included), values and millisecond timestamps."""

    labels: dict[str, str]
    values: list[float]
    timestamps: list[int]


class Victoria(Child):
    """VictoriaMetrics on a free loopback port, data in the work folder; optional basic auth."""

    username: str | None = None
    password: str | None = None

    @property
    def url(self) -> str:
        """Base URL of the HTTP API (``/api/v2/write``, ``/api/v1/export``)."""
        return f"http://{self.host}:{self.port}"

    def _auth(self) -> httpx.BasicAuth | None:
        return httpx.BasicAuth(self.username, self.password or "") if self.username else None

    def _healthy(self) -> bool:
        try:
            return httpx.get(f"{self.url}/health", timeout=0.5, auth=self._auth()).status_code == 200
        except httpx.HTTPError:
            return False

    def start(self, timeout: float = 30.0) -> None:
        """Start (or restart, keeping data) and wait for ``/health``."""
        argv = [
            find_binary(BINARY, PACKAGE),
            f"-httpListenAddr={self.host}:{self.port}",
            f"-storageDataPath={self.workdir / 'victoria-data'}",
            "-retentionPeriod=100y",
            "-search.latencyOffset=0s",
            "-search.disableCache",
            "-loggerLevel=ERROR",
        ]
        if self.username:
            argv += [f"-httpAuth.username={self.username}", f"-httpAuth.password={self.password or ''}"]
        self.launch(argv, self._healthy, timeout)

    def export(self, match: str) -> list[Series]:
        """Flush recent writes, then export every series matching the selector (e.g. ``{station="a"}``)."""
        auth = self._auth()
        httpx.get(f"{self.url}/internal/force_flush", timeout=10, auth=auth).raise_for_status()
        resp = httpx.post(
            f"{self.url}/api/v1/export", data={"match[]": match, "start": "0"}, timeout=30, auth=auth
        )
        resp.raise_for_status()
        out = []
        for text in resp.text.splitlines():
            doc: dict[str, Any] = json.loads(text)
            out.append(Series(dict(doc["metric"]), list(doc["values"]), list(doc["timestamps"])))
        return out


@contextlib.contextmanager
def running_victoria(username: str | None = None, password: str | None = None) -> Iterator[Victoria]:
    """A VictoriaMetrics server in a fresh temporary folder, stopped and removed afterwards."""
    workdir = Path(tempfile.mkdtemp(prefix="stationpipe-vm-"))
    server = Victoria("victoria-metrics", workdir)
    server.username, server.password = username, password
    try:
        server.start()
        yield server
    finally:
        with contextlib.suppress(OSError):
            server.stop()
        shutil.rmtree(workdir, ignore_errors=True)
