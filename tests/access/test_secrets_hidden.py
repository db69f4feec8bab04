"""Secrets never in logs or process arguments: the edge agent, the collector and the rules engine run as
real processes (DEBUG logging) with their passwords taken from files and the environment, each logged
in as its own least-privileged user on the TLS broker and InfluxDB; data flows end to end; then every
secret is looked for in their output and in ``/proc/<pid>/cmdline`` (readable by every local user), and
the file-held secrets in ``/proc/<pid>/environ``. A refused login logs the refusal, not the password."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest

from stationpipe.kernel.reading import utc_now
from stationpipe.kernel.wire import rfc3339
from stationpipe.testbed.modbus import Image, static_server
from stationpipe.testbed.services import free_port
from tests.access.conftest import AUDIT, SecureBroker, SecureInflux
from tests.access.secured import Service, collector_toml, edge_toml, mqtt_table
from tests.waiting import until

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]
#: temp 20 °C, pH 7.25, DO 8 mg/L, conductivity 500 µS/cm, turbidity 5 NTU (float32 ABCD, input registers)
SONDE = Image(inputs=[0x41A0, 0, 0x40E8, 0, 0x4100, 0, 0x43FA, 0, 0x40A0, 0])


def _rules_toml(broker: SecureBroker, state: Path) -> str:
    return (
        f'kind = "rules"\ngroup = "acc-rules"\nregistry = "{broker.registry}"\nstate = "{state}"\n'
        'status_every = 1.0\n[evaluation]\ntick = "0.5s"\n[derived]\nheadline_every = "1s"\n'
        + mqtt_table(broker, "rules", "rules-acc", f'password_file = "{broker.secret_file("rules")}"')
        + '[[rules]]\nname = "section"\nkind = "section"\nparameters = ["ph"]\n'
    )


async def _until(check: Callable[[], bool], what: str, within: float = 30.0) -> None:
    await until(check, what, within, period=0.2)  # a database and log files: nothing to subscribe to


def _stored_since(influx: SecureInflux, station: str, since: datetime) -> int:
    """Readings of ``station`` stamped after ``since`` (the database is shared by the session)."""
    rows = influx.influx.query(
        f"SELECT count(value) FROM readings WHERE station = '{station}' AND time > '{rfc3339(since)}'"
    )
    return int(rows[0]["values"][0][1]) if rows else 0


async def test_services_log_in_for_real_and_never_show_their_secrets(
    secure_broker: SecureBroker, secure_influx: SecureInflux, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started = utc_now()
    collector_mqtt = secure_broker.secret("collector")
    monkeypatch.setenv("ACC_COLLECTOR_MQTT_PW", collector_mqtt)
    influx_file = tmp_path / "influx.secret"
    influx_file.write_text(secure_influx.writer[1] + "\n", encoding="utf-8")
    influx_file.chmod(0o600)
    files = {
        "edge.toml": edge_toml(
            secure_broker,
            "acc-a",
            tmp_path / "edge",
            modbus := free_port(),
            f'password_file = "{secure_broker.secret_file("acc-a")}"',
        ),
        "collector.toml": collector_toml(
            secure_broker,
            secure_influx,
            tmp_path / "collector",
            'password_env = "ACC_COLLECTOR_MQTT_PW"',
            f'password_file = "{influx_file}"',
            "secrets",
        ),
        "rules.toml": _rules_toml(secure_broker, tmp_path / "rules.sqlite3"),
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    procs = {
        "edge": Service("edge", tmp_path),
        "collector": Service("collector", tmp_path),
        "rules": Service("rules", tmp_path),
    }
    ready = {"edge": "connected to broker", "collector": "collector subscribed as", "rules": "subscribed as"}
    audit = secure_broker.client(AUDIT)
    assert audit.connect() == 0
    audit.subscribe("#")
    try:
        async with static_server(modbus, {1: SONDE}):
            for name, proc in procs.items():
                await asyncio.to_thread(proc.run, name, tmp_path / f"{name}.toml", ready[name])
            await _until(lambda: _stored_since(secure_influx, "acc-a", started) >= 10, "readings stored")
            await _until(
                lambda: (
                    {"stations/_collector-secrets/status", "stations/_rules-acc/status"}
                    <= {topic for topic, _ in audit.messages}
                ),
                "both components' health lines arrived (their own status topic is writable)",
            )
            await _until(
                lambda: any(topic.startswith("derived/") for topic, _ in audit.messages),
                "the rules engine published derived results under its account",
            )
            cmdlines = {name: proc.cmdline() for name, proc in procs.items()}
            environs = {name: proc.environ() for name, proc in procs.items()}
    finally:
        audit.close()
        for proc in procs.values():
            proc.stop()
    for proc in procs.values():
        assert "Traceback" not in proc.log_text(), proc.log_text()
    secret_values = {
        "edge MQTT password (file)": secure_broker.secret("acc-a"),
        "collector MQTT password (env)": collector_mqtt,
        "collector InfluxDB password (file)": secure_influx.writer[1],
        "rules MQTT password (file)": secure_broker.secret("rules"),
    }
    for what, value in secret_values.items():
        for name, proc in procs.items():
            assert value not in proc.log_text(), f"{what} in the {name} log"
            assert value.encode() not in cmdlines[name], f"{what} in the {name} command line"
            if "(file)" in what:
                assert value.encode() not in environs[name], f"{what} in the {name} environment"


async def test_a_refused_login_logs_the_refusal_not_the_password(
    secure_broker: SecureBroker, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wrong = "Wrong-" + secrets.token_urlsafe(12)
    monkeypatch.setenv("ACC_EDGE_WRONG_PW", wrong)
    config = tmp_path / "edge.toml"
    config.write_text(
        edge_toml(
            secure_broker, "acc-b", tmp_path / "state", free_port(), 'password_env = "ACC_EDGE_WRONG_PW"'
        ),
        encoding="utf-8",
    )
    edge = Service("edge-wrong", tmp_path)
    try:
        await asyncio.to_thread(edge.run, "edge", config, "broker unavailable")
        cmdline = edge.cmdline()
    finally:
        edge.stop()
    log = edge.log_text()
    assert "broker unavailable ([code:135] Not authorized)" in log, log
    assert wrong not in log
    assert wrong.encode() not in cmdline
