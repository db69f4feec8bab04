"""``stationpipe grafana push`` against a stand-in for grafana-client's ``GrafanaApi``.

No Grafana server can run here (Debian has no ``grafana`` package and the network is loopback only), so
only the third-party client is replaced: ``GrafanaApi.from_url`` returns a recorder that behaves like the
API (404 for what does not exist yet, then stores what was created). Our own code runs unchanged.
"""

from __future__ import annotations

from typing import Any

import pytest
from grafana_client.api import GrafanaApi
from grafana_client.client import GrafanaClientError, GrafanaUnauthorizedError
from typer.testing import CliRunner

from stationpipe.ops.grafana.generate import BUILDERS
from stationpipe.ops.grafana.push import FOLDER_UID, grafana_app

TOKEN = "glsa_secret_token_value"


class _Section:
    def __init__(self, grafana: FakeGrafana) -> None:
        self.g = grafana


class _Datasources(_Section):
    def get_datasource_by_uid(self, uid: str) -> dict[str, Any]:
        if uid not in self.g.datasources:
            raise GrafanaClientError(404, None, "Data source not found")  # type: ignore[no-untyped-call]
        return self.g.datasources[uid]

    def create_datasource(self, body: dict[str, Any]) -> None:
        self.g.calls.append("create_datasource")
        self.g.datasources[body["uid"]] = body

    def update_datasource_by_uid(self, uid: str, body: dict[str, Any]) -> None:
        self.g.calls.append("update_datasource")
        self.g.datasources[uid] = body


class _Folders(_Section):
    def get_folder(self, uid: str) -> dict[str, Any]:
        if self.g.unauthorized:
            raise GrafanaUnauthorizedError("invalid API key")  # type: ignore[no-untyped-call]
        if uid not in self.g.folders:
            raise GrafanaClientError(404, None, "folder not found")  # type: ignore[no-untyped-call]
        return {"uid": uid, "title": self.g.folders[uid]}

    def create_folder(self, title: str, uid: str | None = None) -> None:
        self.g.calls.append("create_folder")
        assert uid is not None
        self.g.folders[uid] = title


class _Dashboards(_Section):
    def update_dashboard(self, body: dict[str, Any]) -> None:
        self.g.calls.append("update_dashboard")
        assert body["overwrite"] is True
        self.g.dashboards[body["dashboard"]["uid"]] = body


class FakeGrafana:
    """What the test inspects: objects by uid, the calls made, and how the client was built."""

    def __init__(self) -> None:
        self.datasources: dict[str, dict[str, Any]] = {}
        self.folders: dict[str, str] = {}
        self.dashboards: dict[str, dict[str, Any]] = {}
        self.calls: list[str] = []
        self.connected: list[tuple[str, Any]] = []
        self.unauthorized = False
        self.datasource = _Datasources(self)
        self.folder = _Folders(self)
        self.dashboard = _Dashboards(self)


@pytest.fixture
def grafana(monkeypatch: pytest.MonkeyPatch) -> FakeGrafana:
    fake = FakeGrafana()

    def from_url(url: str, credential: Any = None, timeout: float = 0) -> FakeGrafana:
        fake.connected.append((url, credential))
        return fake

    monkeypatch.setattr(GrafanaApi, "from_url", staticmethod(from_url))
    return fake


def _push(*extra: str, env: dict[str, str] | None = None) -> Any:
    args = ["push", "--url", "http://127.0.0.1:3000", *extra]
    return CliRunner().invoke(grafana_app, args, env={"GRAFANA_TOKEN": TOKEN, **(env or {})})


def test_first_push_creates_everything(grafana: FakeGrafana) -> None:
    result = _push(
        "--influx-url", "http://influxdb:8086", env={"STATIONPIPE_INFLUX_READ_TOKEN": "influx-tok"}
    )
    assert result.exit_code == 0, result.output
    assert grafana.connected == [("http://127.0.0.1:3000", TOKEN)]  # token taken from the environment
    ds = grafana.datasources["stationpipe-influxdb"]
    assert ds["type"] == "influxdb"
    assert ds["jsonData"]["version"] == "InfluxQL"
    assert ds["jsonData"]["dbName"] == "stationpipe"
    assert ds["secureJsonData"] == {"httpHeaderValue1": "Token influx-tok"}
    assert grafana.folders == {FOLDER_UID: "站点监测 Stations"}
    assert len(grafana.dashboards) == len(BUILDERS)
    assert all(b["folderUid"] == FOLDER_UID for b in grafana.dashboards.values())
    assert grafana.calls[:2] == ["create_datasource", "create_folder"]
    assert TOKEN not in result.output


def test_second_push_updates_in_place(grafana: FakeGrafana) -> None:
    assert _push().exit_code == 0
    grafana.calls.clear()
    result = _push("--database", "telemetry")
    assert result.exit_code == 0, result.output
    assert grafana.calls == ["update_datasource"] + ["update_dashboard"] * len(BUILDERS)
    assert grafana.datasources["stationpipe-influxdb"]["jsonData"]["dbName"] == "telemetry"
    assert "secureJsonData" not in grafana.datasources["stationpipe-influxdb"]  # no token given: 1.x


def test_refusal_names_the_step_and_exits_1(grafana: FakeGrafana) -> None:
    grafana.unauthorized = True
    result = _push()
    assert result.exit_code == 1
    assert "folder" in result.output
    assert "401" in result.output
    assert TOKEN not in result.output


def test_token_is_required(grafana: FakeGrafana) -> None:
    result = CliRunner().invoke(
        grafana_app, ["push", "--url", "http://127.0.0.1:3000"], env={"GRAFANA_TOKEN": ""}
    )
    assert result.exit_code != 0
    assert grafana.connected == []
