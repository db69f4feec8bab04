"""Debian's ``prometheus-alertmanager`` on a free loopback port, storage in a work folder (for tests).

Clustering is off (``--cluster.listen-address=``); the one route drops notifications (we only look at the
API). Readiness is polled on ``/-/ready`` with a deadline, like the other services in this folder.
"""

from __future__ import annotations

from typing import Any

import httpx

from stationpipe.testbed.services import Child, find_binary

BINARY = "prometheus-alertmanager"
_CONFIG = """route:
  receiver: "null"
  group_wait: 1s
  group_interval: 1s
receivers:
  - name: "null"
"""


class Alertmanager(Child):
    """One Alertmanager; ``start`` raises ``HarnessError`` (naming the package) when the binary is absent."""

    @property
    def url(self) -> str:
        """Base URL of the API."""
        return f"http://{self.host}:{self.port}"

    def _ready(self) -> bool:
        try:
            return httpx.get(f"{self.url}/-/ready", timeout=0.5).status_code == 200
        except httpx.HTTPError:
            return False

    def start(self, timeout: float = 30.0) -> None:
        """Start and wait until ``/-/ready`` answers 200."""
        binary = find_binary(BINARY, "prometheus-alertmanager")
        conf = self.workdir / "alertmanager.yml"
        conf.write_text(_CONFIG, encoding="utf-8")
        storage = self.workdir / "alertmanager-data"
        storage.mkdir(exist_ok=True)
        argv = [
            binary,
            f"--config.file={conf}",
            f"--storage.path={storage}",
            f"--web.listen-address={self.host}:{self.port}",
            "--cluster.listen-address=",
            "--log.level=warn",
        ]
        self.launch(argv, self._ready, timeout)

    def alerts(self) -> list[dict[str, Any]]:
        """The alerts the API lists now (active ones by default)."""
        resp = httpx.get(f"{self.url}/api/v2/alerts", timeout=5)
        resp.raise_for_status()
        result: list[dict[str, Any]] = resp.json()
        return result
