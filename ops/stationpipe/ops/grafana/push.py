"""``stationpipe grafana push``: provision the datasource, the folder and the dashboards through
Grafana's HTTP API (grafana-client), for sites that manage Grafana by API rather than by files.

Idempotent: existing objects (found by uid) are updated, missing ones created.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

import typer
from rich.console import Console

from stationpipe.kernel.errors import FatalError
from stationpipe.ops.grafana.generate import dashboards
from stationpipe.ops.grafana.panels import DATASOURCE, JSON

FOLDER_UID = "stationpipe"
FOLDER_TITLE = "站点监测 Stations"
err = Console(stderr=True, highlight=False, soft_wrap=True)
grafana_app = typer.Typer(
    help="Grafana: provision datasource, folder and dashboards by API.", no_args_is_help=True
)


@grafana_app.callback()
def _group() -> None:
    """Grafana: provision datasource, folder and dashboards by API."""


class GrafanaPushError(FatalError):
    """Grafana refused or could not be reached; the message says which step failed (never the token)."""


@dataclass(frozen=True, slots=True)
class InfluxTarget:
    """Where the datasource points; ``token`` (2.x/3.x) is sent as ``Authorization: Token …``."""

    url: str
    database: str
    token: str = ""


def datasource_body(influx: InfluxTarget) -> JSON:
    """The datasource as the API takes it: the same uid and settings as the provisioning file."""
    body: JSON = {
        "uid": DATASOURCE["uid"],
        "name": "InfluxDB stationpipe",
        "type": "influxdb",
        "access": "proxy",
        "url": influx.url,
        "isDefault": True,
        "jsonData": {
            "version": "InfluxQL",
            "dbName": influx.database,
            "httpMode": "POST",
            "timeInterval": "10s",
        },
    }
    if influx.token:
        body["jsonData"]["httpHeaderName1"] = "Authorization"
        body["secureJsonData"] = {"httpHeaderValue1": f"Token {influx.token}"}
    return body


def _not_found(exc: Exception) -> bool:
    return getattr(exc, "status_code", None) == 404


def _upsert_datasource(api: Any, body: JSON) -> str:
    from grafana_client.client import GrafanaClientError  # noqa: PLC0415 - optional dependency

    try:
        api.datasource.get_datasource_by_uid(body["uid"])
    except GrafanaClientError as exc:
        if not _not_found(exc):
            raise
        api.datasource.create_datasource(body)
        return "created"
    api.datasource.update_datasource_by_uid(body["uid"], body)
    return "updated"


def _ensure_folder(api: Any) -> str:
    from grafana_client.client import GrafanaClientError  # noqa: PLC0415

    try:
        api.folder.get_folder(FOLDER_UID)
    except GrafanaClientError as exc:
        if not _not_found(exc):
            raise
        api.folder.create_folder(FOLDER_TITLE, uid=FOLDER_UID)
        return "created"
    return "exists"


def push(api: Any, influx: InfluxTarget) -> list[str]:
    """Provision everything through ``api`` (a ``grafana_client.GrafanaApi``); returns what was done.

    Raises ``GrafanaPushError`` naming the failed step.
    """
    from grafana_client.client import GrafanaException  # noqa: PLC0415

    done: list[str] = []
    step = "datasource"
    try:
        done.append(f"datasource {DATASOURCE['uid']}: {_upsert_datasource(api, datasource_body(influx))}")
        step = "folder"
        done.append(f"folder {FOLDER_UID}: {_ensure_folder(api)}")
        for name, board in dashboards().items():
            step = f"dashboard {name}"
            body = {
                "dashboard": board,
                "folderUid": FOLDER_UID,
                "overwrite": True,
                "message": "stationpipe push",
            }
            api.dashboard.update_dashboard(body)
            done.append(f"dashboard {board['uid']}: pushed")
    except GrafanaException as exc:
        raise GrafanaPushError(f"grafana push failed at {step}: {exc.status_code} {exc.message}") from exc
    except OSError as exc:  # the HTTP layer's connection errors are OSErrors
        raise GrafanaPushError(f"grafana push failed at {step}: cannot reach Grafana ({exc})") from exc
    return done


def connect(url: str, token: str, timeout: float) -> Any:
    """A ``GrafanaApi`` for ``url`` authenticated by a service-account ``token``."""
    try:
        from grafana_client.api import GrafanaApi  # noqa: PLC0415
    except ImportError as exc:
        raise GrafanaPushError("grafana-client is not installed: pip install 'stationpipe[grafana]'") from exc
    return GrafanaApi.from_url(url, credential=token, timeout=timeout)


@grafana_app.command("push")
def push_command(  # noqa: PLR0917 - one option per setting
    url: Annotated[str, typer.Option(help="Grafana base URL", envvar="GRAFANA_URL")],
    token: Annotated[
        str,
        typer.Option(
            help="service-account token (env GRAFANA_TOKEN)", envvar="GRAFANA_TOKEN", show_default=False
        ),
    ],
    influx_url: Annotated[
        str, typer.Option(help="InfluxDB URL as Grafana reaches it")
    ] = "http://influxdb:8086",
    database: Annotated[
        str, typer.Option(help="InfluxQL database (2.x: the DBRP-mapped name)")
    ] = "stationpipe",
    influx_token: Annotated[
        str,
        typer.Option(
            help="read token for InfluxDB 2.x/3.x (env STATIONPIPE_INFLUX_READ_TOKEN)",
            envvar="STATIONPIPE_INFLUX_READ_TOKEN",
            show_default=False,
        ),
    ] = "",
    timeout: Annotated[float, typer.Option(help="seconds per API request")] = 10.0,
) -> None:
    """Create or update the InfluxDB datasource, the folder and the five dashboards in Grafana."""
    try:
        done = push(connect(url, token, timeout), InfluxTarget(influx_url, database, influx_token))
    except GrafanaPushError as exc:
        err.print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(1) from None
    for line in done:
        err.print(f"[green]ok[/] {line}")
