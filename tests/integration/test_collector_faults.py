"""The collector through faults: InfluxDB stopped for a while (spool, restart, drain), the collector
process SIGKILLed mid-stream (the broker redelivers; idempotent writes leave no duplicates), and the
broker SIGKILLed while the collector holds unwritten messages (it still stores them)."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from stationpipe.kernel import wire
from stationpipe.testbed.services import Mosquitto, Services
from tests.integration.test_collector import (
    PARAMS,
    collector_config,
    count,
    expected_values,
    messages,
    publish,
    publish_to,
    running,
    stored_values,
    wait_for,
)

pytestmark = pytest.mark.integration


async def test_influx_outage_spools_survives_a_restart_and_drains(services: Services, tmp_path: Path) -> None:
    station = "it-outage-01"
    first, second = messages(station, 150), messages(station, 150, start=150)
    config = collector_config(services, tmp_path, "it-outage")
    try:
        async with running(config) as metrics:
            services.influx.stop()
            await publish(services, [wire.encode(m) for m in first])
            # At least: retained warnings and derived results left on the shared broker by earlier tests
            # arrive on subscription and are spooled too.
            spooled = lambda: metrics.value("stationpipe_collector_spool_points") >= 150 * len(PARAMS)  # noqa: E731
            await wait_for(spooled, "every message spooled (and so acknowledged)")
        assert (tmp_path / "spool.sqlite3").exists()
        services.influx.start()
        async with running(config) as metrics:
            await publish(services, [wire.encode(m) for m in second])
            await wait_for(lambda: count(services, station) >= 300 * len(PARAMS), "spool drained, all stored")
            await wait_for(lambda: metrics.value("stationpipe_collector_spool_points") == 0, "spool empty")
            assert metrics.value("stationpipe_collector_batches_total", outcome="drained") >= 1
    finally:
        if services.influx.proc is None or services.influx.proc.poll() is not None:
            services.influx.start()
    assert stored_values(services, station) == expected_values(first + second)


async def test_a_killed_brokers_messages_held_in_a_batch_are_still_stored(
    services: Services, tmp_path: Path
) -> None:
    """A broker killed before it saved what it acknowledged cannot redeliver it: the collector makes the
    batches it holds unacknowledged durable when the connection drops (here the broker never returns)."""
    broker = Mosquitto("mosquitto-keep", tmp_path)
    broker.start()
    station, msgs = "it-keep-01", messages("it-keep-01", 20)
    config = collector_config(
        services,
        tmp_path / "state",
        "it-keep",
        mqtt={"port": broker.port, "client_id": "it-keep"},
        batch={"max_age": 60.0, "max_idle": 60.0, "gather": 60.0},  # in memory until the broker dies
    )
    try:
        async with running(config) as metrics:
            await publish_to(broker.port, [wire.encode(m) for m in msgs])
            held = lambda: metrics.value("stationpipe_collector_messages_total", kind="readings") >= len(msgs)  # noqa: E731
            await wait_for(held, "every message received into the batch")
            assert count(services, station) == 0
            broker.kill()
            await wait_for(lambda: count(services, station) == 20 * len(PARAMS), "the held batch stored")
    finally:
        broker.stop()
    assert stored_values(services, station) == expected_values(msgs)


@pytest.fixture
def collector_process(services: Services, tmp_path: Path) -> Iterator[list[subprocess.Popen[bytes]]]:
    """``python -m stationpipe collector --config …`` children (appended by the test); killed at the end."""
    procs: list[subprocess.Popen[bytes]] = []
    yield procs
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def _start(config: Path, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "stationpipe", "collector", "--config", str(config)],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )


async def test_sigkill_mid_stream_loses_nothing_and_duplicates_nothing(
    services: Services, tmp_path: Path, collector_process: list[subprocess.Popen[bytes]]
) -> None:
    station = "it-kill-01"
    msgs = messages(station, 1500)
    config = tmp_path / "collector.toml"
    config.write_text(
        f'kind = "collector"\ngroup = "it-kill"\nstate_dir = "{tmp_path / "state"}"\n'
        f'[mqtt]\nport = {services.mosquitto.port}\nclient_id = "it-kill"\n'
        f'[influx]\nurl = "{services.influx.url}"\ndatabase = "{services.influx.database}"\n'
        "[batch]\nmax_messages = 100\nmax_age = 0.2\n"
    )
    log = tmp_path / "collector.log"
    collector_process.append(_start(config, log))
    subscribed = lambda: log.read_text().count("collector subscribed") >= 1  # noqa: E731
    await wait_for(subscribed, "collector subscribed")
    publisher = asyncio.create_task(publish(services, [wire.encode(m) for m in msgs]))
    await wait_for(lambda: count(services, station) >= 200 * len(PARAMS), "some batches stored")
    collector_process[0].send_signal(signal.SIGKILL)
    collector_process[0].wait(10)
    stored_at_kill = count(services, station)
    collector_process.append(_start(config, log))
    await publisher
    await wait_for(lambda: count(services, station) >= 1500 * len(PARAMS), "everything stored after restart")
    assert stored_at_kill < 1500 * len(PARAMS), "killed too late to prove anything"
    assert stored_values(services, station) == expected_values(msgs)
    assert count(services, station) == 1500 * len(PARAMS)
