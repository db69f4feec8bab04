"""The v2 writer (``/api/v2/write`` through influxdb-client) against a real server that implements it:
VictoriaMetrics (Debian package ``victoria-metrics``), read back through its export API. Also: bad
credentials (401) stop the collector with a clear error."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from stationpipe.collector.config import CollectorConfig
from stationpipe.collector.metrics import Metrics
from stationpipe.collector.service import run
from stationpipe.kernel import wire
from stationpipe.kernel.errors import StoreAuthError
from stationpipe.testbed.services import Services
from stationpipe.testbed.victoria import Victoria, available, running_victoria
from tests.integration.test_collector import PARAMS, messages, publish, running, wait_for

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def victoria() -> Iterator[Victoria]:
    """A VictoriaMetrics server for this module (scripts/test installs it; a missing one fails)."""
    if not available():
        pytest.fail("Debian's victoria-metrics is needed: apt-get install victoria-metrics")
    with running_victoria() as server:
        yield server


def _config(services: Services, url: str, state: Path, name: str, **influx: Any) -> CollectorConfig:
    return CollectorConfig.model_validate(
        {
            "group": name,
            "state_dir": str(state),
            "mqtt": {"port": services.mosquitto.port, "client_id": name},
            "influx": {"api": "v2", "url": url, "org": "stations", "bucket": "stationpipe", **influx},
            "batch": {"max_age": 0.2},
        }
    )


def _values(victoria: Victoria, station: str) -> dict[tuple[int, str], float]:
    series = victoria.export(f'{{__name__="readings_value",station="{station}"}}')
    return {
        (ts, s.labels["parameter"]): value
        for s in series
        for ts, value in zip(s.timestamps, s.values, strict=True)
    }


async def test_v2_writer_stores_exactly_the_points(
    services: Services, victoria: Victoria, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IT_V2_TOKEN", "not-checked-by-victoria")
    station = "it-v2-01"
    msgs = messages(station, 200)
    config = _config(services, victoria.url, tmp_path, "it-v2", token_env="IT_V2_TOKEN")
    async with running(config) as metrics:
        await publish(services, [wire.encode(m) for m in msgs])
        done = lambda: metrics.value("stationpipe_collector_points_written_total") >= 200 * len(PARAMS)  # noqa: E731
        await wait_for(done, "every point written")
    expected = {(int(r.ts.timestamp() * 1000), r.parameter): r.value for m in msgs for r in m.readings}
    await wait_for(lambda: _values(victoria, station) == expected, "exported points equal the sent ones")


def _leaves(exc: BaseException) -> list[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for inner in exc.exceptions for leaf in _leaves(inner)]
    return [exc]


async def test_bad_credentials_stop_the_collector_with_a_clear_error(
    services: Services, tmp_path: Path
) -> None:
    (tmp_path / "tok").write_text("wrong\n")
    with running_victoria(username="collector", password="right") as guarded:
        config = _config(services, guarded.url, tmp_path, "it-v2-auth", token_file=str(tmp_path / "tok"))
        ready = asyncio.Event()
        task = asyncio.create_task(run(config, ready, Metrics()))
        async with asyncio.timeout(30):
            await ready.wait()
            await publish(services, [wire.encode(m) for m in messages("it-v2-auth-01", 1)])
            with pytest.raises(ExceptionGroup) as caught:
                await task
    leaves = _leaves(caught.value)
    assert any(isinstance(e, StoreAuthError) and "401" in str(e) for e in leaves), leaves
