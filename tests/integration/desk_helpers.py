"""The operators' desk as real processes: ``stationpipe collector`` and ``stationpipe rules`` (with
``[api]``) on the test broker and InfluxDB, accounts made with ``stationpipe rules user``, and an MQTT
recorder of the action and warning topics."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from stationpipe.kernel import wire
from stationpipe.kernel.messages import WarningAction, WarningEvent
from stationpipe.kernel.reading import Reading, StationMessage
from stationpipe.testbed.pipeline import collector_toml
from stationpipe.testbed.services import Services, free_port, tcp_open, wait_until
from stationpipe.testbed.webhook import Receiver

REGISTRY = """kind = "registry"
[[stations]]
id = "dw1"
name = "钱塘江闸口"
kind = "water"
city = "杭州"
river = "钱塘江"
section = "闸口"
target_class = "III"
water_body = "river"
lat = 30.2
lon = 120.1
[[stations]]
id = "dw2"
name = "甬江三江口"
kind = "water"
city = "宁波"
river = "甬江"
section = "三江口"
target_class = "III"
water_body = "river"
lat = 29.9
lon = 121.5
[[stations]]
id = "dw3"
name = "曹娥江上浦闸"
kind = "water"
city = "绍兴"
river = "曹娥江"
section = "上浦闸"
target_class = "III"
water_body = "river"
lat = 29.9
lon = 120.8
"""
SECRET_ENV = "DESK_TEST_WEBHOOK_SECRET"
PASSWORDS = {
    "li": ("operator", "li-secret-1"),
    "wang": ("operator", "wang-secret-2"),
    "zhao": ("viewer", "zhao-secret-3"),
}


def rules_toml(mqtt_port: int, api_port: int, hook: str) -> str:
    token = secrets.token_hex(4)
    return (
        f'kind = "rules"\ngroup = "rules{token}"\nregistry = "registry.toml"\nstate = "state.sqlite3"\n'
        f'[mqtt]\nport = {mqtt_port}\nclient_id = "rules-{token}"\n[evaluation]\ntick = "0.2s"\n'
        f'[api]\nport = {api_port}\nusers = "users.json"\n'
        f'[delivery]\nretry_cap = 1.0\n[delivery.webhook]\nurl = "{hook}"\nsecret_env = "{SECRET_ENV}"\n'
        '[[rules]]\nname = "section"\nkind = "section"\nparameters = ["nh3n"]\n'
    )


@dataclass
class Recorder:
    """Every action record and every warning state seen on the broker since it connected."""

    actions: list[WarningAction] = field(default_factory=list)
    warnings: list[WarningEvent] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def on_message(self, _client: object, _userdata: object, message: paho.MQTTMessage) -> None:
        msg = wire.decode(message.topic, bytes(message.payload))
        with self.lock:
            if isinstance(msg, WarningAction):
                self.actions.append(msg)
            elif isinstance(msg, WarningEvent):
                self.warnings.append(msg)


@dataclass
class Desk:
    """The running desk: its URL, the processes, the recorder, the broker client."""

    url: str
    workdir: Path
    services: Services
    recorder: Recorder
    mqtt: paho.Client
    procs: dict[str, subprocess.Popen[bytes]]
    database: str
    webhook: Receiver
    port: int

    def publish(self, station: str, value: float, seq: int = 1, age: float = 30.0) -> None:
        """One NH3-N reading of ``value`` at ``station``, ``age`` seconds old."""
        ts = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=age)
        msg = StationMessage(station, "dev", seq, ts, (Reading(station, "nh3n", value, "mg/L", ts),))
        topic, payload = wire.encode(msg)
        self.mqtt.publish(topic, payload, qos=1).wait_for_publish(10)

    def restart_rules(self) -> None:
        """Kill the engine (SIGKILL: no clean shutdown) and start it again on the same files."""
        self.procs["rules"].kill()
        self.procs["rules"].wait(10)
        self.procs["rules"] = _start(
            self.workdir, "rules", "rules", self.workdir / "rules.toml", self.webhook
        )
        wait_until(
            lambda: tcp_open("127.0.0.1", self.port), timeout=30, what="the desk", proc=self.procs["rules"]
        )

    def fire(self, station: str, value: float = 2.5) -> str:
        """Publish an NH3-N reading that fires the section rule at ``station``; its episode once listed."""
        self.publish(station, value)
        found: list[str] = []

        def listed() -> bool:
            got = httpx.get(f"{self.url}/api/v1/warnings", auth=self.basic("li"), timeout=10).json()
            found[:] = [w["episode"] for w in got["warnings"] if w["station"] == station]
            return bool(found)

        wait_until(listed, timeout=30, what=f"a warning at {station}", proc=self.procs["rules"])
        return found[0]

    @staticmethod
    def basic(user: str) -> tuple[str, str]:
        return user, PASSWORDS[user][1]

    def log(self, name: str) -> str:
        return (self.workdir / f"{name}.log").read_text(encoding="utf-8", errors="replace")[-4000:]


def _user(workdir: Path, name: str, role: str, password: str) -> None:
    argv = [sys.executable, "-m", "stationpipe", "rules", "user", "add", name, "--role", role]
    argv += ["--users", str(workdir / "users.json"), "--password-stdin"]
    subprocess.run(argv, input=f"{password}\n".encode(), check=True, capture_output=True, timeout=60)


def _start(workdir: Path, name: str, verb: str, config: Path, hook: Receiver) -> subprocess.Popen[bytes]:
    log = (workdir / f"{name}.log").open("ab")
    argv = [sys.executable, "-m", "stationpipe", verb, "--config", str(config)]
    env = {**os.environ, SECRET_ENV: hook.secret}
    return subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, cwd=workdir, env=env)


@dataclass
class _Stack:
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def stop(self) -> None:
        for proc in self.procs.values():
            proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)


def running_desk(services: Services, workdir: Path) -> Iterator[Desk]:
    """Start the collector and the engine with its desk; yield once both are subscribed and serving."""
    (workdir / "registry.toml").write_text(REGISTRY, encoding="utf-8")
    for name, (role, password) in PASSWORDS.items():
        _user(workdir, name, role, password)
    database = f"desk{secrets.token_hex(3)}"
    services.influx.query(f'CREATE DATABASE "{database}"')
    collector = collector_toml(services.mosquitto.port, services.influx.url, database)
    (workdir / "collector.toml").write_text(collector, encoding="utf-8")
    api_port, hook = free_port(), Receiver()
    hook.start()
    rules = rules_toml(services.mosquitto.port, api_port, hook.url)
    (workdir / "rules.toml").write_text(rules, encoding="utf-8")
    stack = _Stack()
    recorder = Recorder()
    mqtt = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"desk-test-{secrets.token_hex(4)}")
    mqtt.on_message = recorder.on_message
    try:
        stack.procs["collector"] = _start(workdir, "collector", "collector", workdir / "collector.toml", hook)
        stack.procs["rules"] = _start(workdir, "rules", "rules", workdir / "rules.toml", hook)
        wait_until(
            lambda: tcp_open("127.0.0.1", api_port), timeout=30, what="the desk", proc=stack.procs["rules"]
        )
        mqtt.connect("127.0.0.1", services.mosquitto.port)
        mqtt.subscribe([("warnings/actions/#", 1), ("warnings/+/+", 1)])
        mqtt.loop_start()
        procs = stack.procs
        url = f"http://127.0.0.1:{api_port}"
        yield Desk(url, workdir, services, recorder, mqtt, procs, database, hook, api_port)
    finally:
        mqtt.loop_stop()
        mqtt.disconnect()
        stack.stop()
        hook.stop()


def stored(desk: Desk, query: str) -> list[dict[str, object]]:
    """Rows of an InfluxQL query on the desk's database."""
    resp = httpx.get(
        f"{desk.services.influx.url}/query", params={"q": query, "db": desk.database}, timeout=10
    ).json()
    rows: list[dict[str, object]] = []
    for result in resp.get("results", []):
        for series in result.get("series", []):
            rows.extend(dict(zip(series["columns"], values, strict=True)) for values in series["values"])
    return rows


def dumps(obj: object) -> str:
    return json.dumps(obj, ensure_ascii=False)
