"""InfluxDB with authentication on: the collector writes through a write-only account that cannot read;
the read-only account cannot write; anonymous requests are refused; a wrong password stops the
collector with one clear line (``StoreAuthError``, exit 1), never a retry loop or a traceback."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from stationpipe.collector.config import CollectorConfig
from stationpipe.collector.service import run
from stationpipe.kernel import wire
from stationpipe.kernel.config import load
from stationpipe.kernel.reading import Flag, Reading, StationMessage
from tests.access.conftest import SecureBroker, SecureInflux
from tests.access.secured import Service, collector_toml
from tests.waiting import service

pytestmark = [pytest.mark.integration, pytest.mark.timeout(90)]
TS = datetime(2026, 11, 22, 3, 4, 5, tzinfo=UTC)


def _message(seq: int, station: str = "acc-a") -> tuple[str, bytes]:
    ts = TS.replace(second=seq % 60, minute=seq // 60)
    return wire.encode(
        StationMessage(
            station, "sonde", seq, ts, (Reading(station, "ph", 7.0 + seq / 100, "pH", ts, Flag.N),)
        )
    )


def _points(influx: SecureInflux, station: str) -> int:
    rows = influx.influx.query(f"SELECT count(value) FROM readings WHERE station = '{station}'")
    return int(rows[0]["values"][0][1]) if rows else 0


def _query_as(influx: SecureInflux, auth: tuple[str, str] | None, q: str) -> httpx.Response:
    return httpx.post(
        f"{influx.influx.url}/query", params={"q": q, "db": influx.influx.database}, auth=auth, timeout=10
    )


def _write_as(influx: SecureInflux, auth: tuple[str, str] | None, line: str) -> httpx.Response:
    return httpx.post(
        f"{influx.influx.url}/write",
        params={"db": influx.influx.database},
        content=line,
        auth=auth,
        timeout=10,
    )


@contextlib.asynccontextmanager
async def _collector(config: CollectorConfig) -> AsyncIterator[asyncio.Task[None]]:
    async with service(lambda ready: run(config, ready)) as task:
        yield task


async def test_collector_writes_through_a_write_only_account(
    secure_broker: SecureBroker, secure_influx: SecureInflux, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ACC_COLLECTOR_INFLUX_PW", secure_influx.writer[1])
    path = tmp_path / "collector.toml"
    path.write_text(
        collector_toml(
            secure_broker,
            secure_influx,
            tmp_path / "state",
            f'password_file = "{secure_broker.secret_file("collector")}"',
            'password_env = "ACC_COLLECTOR_INFLUX_PW"',
            "inproc",
        ),
        encoding="utf-8",
    )
    station = secure_broker.client("acc-a")
    assert station.connect() == 0
    try:
        async with _collector(load(path, CollectorConfig)) as task:
            for seq in range(20):
                await asyncio.to_thread(station.publish, *_message(seq))
            async with asyncio.timeout(30):
                while _points(secure_influx, "acc-a") < 20:
                    assert not task.done(), task
                    await asyncio.sleep(0.1)
    finally:
        station.close()
    assert _points(secure_influx, "acc-a") == 20


def test_each_account_does_only_its_job(secure_influx: SecureInflux) -> None:
    writer, reader = secure_influx.writer, secure_influx.reader
    line = "readings,station=acc-x,parameter=ph value=7 1795000000000000000"
    assert _write_as(secure_influx, writer, line).status_code == 204
    refused = _query_as(secure_influx, writer, "SELECT * FROM readings")
    assert refused.status_code == 403, refused.text
    assert "not authorized" in refused.text
    assert _query_as(secure_influx, writer, "SHOW USERS").status_code == 403  # no admin either
    assert _query_as(secure_influx, reader, "SELECT count(value) FROM readings").status_code == 200
    assert _write_as(secure_influx, reader, line).status_code == 403
    assert _write_as(secure_influx, None, line).status_code == 401
    assert _query_as(secure_influx, None, "SELECT * FROM readings").status_code == 401
    assert _write_as(secure_influx, (writer[0], "wrong"), line).status_code == 401


@pytest.mark.parametrize("with_registry", [False, True], ids=["on-first-batch", "at-start-up"])
def test_wrong_password_stops_the_collector_with_one_clear_line(
    secure_broker: SecureBroker,
    secure_influx: SecureInflux,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    with_registry: bool,
) -> None:
    wrong = "wrong-" + secure_influx.writer[1][::-1]
    monkeypatch.setenv("ACC_WRONG_INFLUX_PW", wrong)
    text = collector_toml(
        secure_broker,
        secure_influx,
        tmp_path / "state",
        f'password_file = "{secure_broker.secret_file("collector")}"',
        'password_env = "ACC_WRONG_INFLUX_PW"',
        f"wrong-{with_registry}",
    )
    if with_registry:  # the registry is written to the `stations` measurement at start-up
        text = text.replace(
            'kind = "collector"\n', f'kind = "collector"\nregistry = "{secure_broker.registry}"\n'
        )
    path = tmp_path / "collector.toml"
    path.write_text(text, encoding="utf-8")
    collector = Service("collector-wrong", tmp_path)
    collector.run("collector", path, None if with_registry else "collector subscribed as")
    if not with_registry:
        station = secure_broker.client("acc-a")
        assert station.connect() == 0
        try:
            station.publish(*_message(59))
        finally:
            station.close()
    assert collector.wait_exit(30) == 1
    log = collector.log_text()
    assert "collector stopped: InfluxDB refused our credentials (401)" in log, log
    assert "Traceback" not in log
    assert wrong not in log
