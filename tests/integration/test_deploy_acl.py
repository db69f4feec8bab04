"""``stationpipe deploy acl`` against the real Mosquitto: with the generated password and ACL files a
station publishes under its own ``stations/<id>/`` and is refused anywhere else, a wrong password is
refused, and the collector user reads what stations publish. Both hashers (``mosquitto_passwd -U`` and
the Python PBKDF2-SHA512) are checked."""

from __future__ import annotations

import getpass
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode
from typer.testing import CliRunner

from stationpipe.ops.deploy.acl import deploy_app
from stationpipe.ops.deploy.mosquitto_auth import verify_password
from stationpipe.testbed.services import find_binary, free_port
from tests.integration.browser import binary

pytestmark = pytest.mark.integration
REGISTRY = """kind = "registry"
[[stations]]
id = "zj-a-01"
name = "甲断面"
kind = "water"
target_class = "III"
water_body = "river"
lat = 30.0
lon = 120.0
[[stations]]
id = "zj-b-02"
name = "乙站"
kind = "air"
lat = 30.1
lon = 120.1
"""
TIMEOUT = 10.0


@dataclass
class Client:
    """A paho MQTT v5 client whose connect result, PUBACK reason codes and messages can be awaited."""

    name: str
    password: str
    port: int
    connected: threading.Event = field(default_factory=threading.Event)
    subscribed: threading.Event = field(default_factory=threading.Event)
    connect_rc: ReasonCode | None = None
    acks: dict[int, ReasonCode] = field(default_factory=dict)
    messages: list[tuple[str, bytes]] = field(default_factory=list)
    got: threading.Condition = field(default_factory=threading.Condition)
    paho: Any = None

    def __post_init__(self) -> None:
        self.paho = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=self.name, protocol=mqtt.MQTTv5)
        self.paho.username_pw_set(self.name, self.password)
        self.paho.on_connect = self._on_connect
        self.paho.on_publish = self._on_publish
        self.paho.on_message = self._on_message
        self.paho.on_subscribe = lambda *_: self.subscribed.set()

    def _on_connect(self, _c: Any, _u: Any, _f: Any, rc: ReasonCode, _p: Any) -> None:
        self.connect_rc = rc
        self.connected.set()

    def _on_publish(self, _c: Any, _u: Any, mid: int, rc: ReasonCode, _p: Any) -> None:
        with self.got:
            self.acks[mid] = rc
            self.got.notify_all()

    def _on_message(self, _c: Any, _u: Any, msg: Any) -> None:
        with self.got:
            self.messages.append((msg.topic, msg.payload))
            self.got.notify_all()

    def connect(self) -> ReasonCode:
        self.paho.connect("127.0.0.1", self.port)
        self.paho.loop_start()
        assert self.connected.wait(TIMEOUT), f"{self.name}: no CONNACK"
        assert self.connect_rc is not None
        return self.connect_rc

    def publish(self, topic: str, payload: bytes) -> ReasonCode:
        info = self.paho.publish(topic, payload, qos=1)
        with self.got:
            assert self.got.wait_for(lambda: info.mid in self.acks, TIMEOUT), f"no PUBACK for {topic}"
            return self.acks[info.mid]

    def wait_messages(self, count: int) -> list[tuple[str, bytes]]:
        with self.got:
            assert self.got.wait_for(lambda: len(self.messages) >= count, TIMEOUT), self.messages
            return list(self.messages)

    def close(self) -> None:
        self.paho.disconnect()
        self.paho.loop_stop()


def _wait_port(port: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        assert proc.poll() is None, "mosquitto exited"
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)  # polling the port with a deadline
    pytest.fail("mosquitto did not listen in time")


@pytest.fixture(params=["python", "mosquitto_passwd"])
def broker(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[int, Path]]:
    """Mosquitto with the files written by ``stationpipe deploy acl`` (no anonymous access)."""
    hasher = str(request.param)
    if hasher == "mosquitto_passwd":
        binary("mosquitto_passwd", "mosquitto")
    registry = tmp_path / "registry.toml"
    registry.write_text(REGISTRY, encoding="utf-8")
    out = tmp_path / "auth"
    result = CliRunner().invoke(
        deploy_app, ["acl", "-r", str(registry), "--out", str(out), "--hasher", hasher]
    )
    assert result.exit_code == 0, result.output
    assert f"({hasher})" in result.output
    port = free_port()
    conf = tmp_path / "mosquitto.conf"
    conf.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous false\npassword_file {out / 'passwd'}\n"
        f"acl_file {out / 'acl'}\nuser {getpass.getuser()}\nlog_dest stderr\n",
        encoding="utf-8",
    )
    with (tmp_path / "mosquitto.log").open("wb") as log:
        proc = subprocess.Popen(
            [find_binary("mosquitto", "mosquitto"), "-c", str(conf)], stdout=log, stderr=log
        )
    try:
        _wait_port(port, proc)
        yield port, out
    finally:
        proc.terminate()
        proc.wait(TIMEOUT)


def _secret(out: Path, user: str) -> str:
    return (out / "secrets" / f"{user}.secret").read_text(encoding="utf-8").strip()


def test_station_publishes_only_under_its_own_prefix(broker: tuple[int, Path]) -> None:
    port, out = broker
    collector = Client("collector", _secret(out, "collector"), port)
    station = Client("zj-a-01", _secret(out, "zj-a-01"), port)
    try:
        assert collector.connect() == 0
        collector.paho.subscribe("stations/+/readings", qos=1)
        assert collector.subscribed.wait(TIMEOUT), "no SUBACK"
        assert station.connect() == 0
        assert station.publish("stations/zj-a-01/readings", b"own") == 0
        refused = station.publish("stations/zj-b-02/readings", b"foreign")
        assert refused.value == 135, refused  # Not authorized
        assert station.publish("warnings/zj-a-01/x", b"foreign").value == 135
        assert station.publish("stations/zj-a-01/readings", b"own-2") == 0
        got = collector.wait_messages(2)
        assert got == [("stations/zj-a-01/readings", b"own"), ("stations/zj-a-01/readings", b"own-2")]
    finally:
        station.close()
        collector.close()


def test_wrong_password_is_refused(broker: tuple[int, Path]) -> None:
    port, _ = broker
    intruder = Client("zj-a-01", "not-the-password", port)
    try:
        rc = intruder.connect()
        assert rc.is_failure, rc
    finally:
        intruder.close()


def test_secrets_are_private_and_hashes_verify(broker: tuple[int, Path]) -> None:
    _, out = broker
    assert (out / "passwd").stat().st_mode & 0o077 == 0
    lines = dict(line.split(":", 1) for line in (out / "passwd").read_text().splitlines())
    assert set(lines) == {"collector", "rules", "telegraf", "zj-a-01", "zj-b-02"}
    for user, hashed in lines.items():
        assert (out / "secrets" / f"{user}.secret").stat().st_mode & 0o077 == 0
        assert verify_password(_secret(out, user), hashed), user
    acl = (out / "acl").read_text()
    own = "topic write stations/zj-a-01/readings\ntopic write stations/zj-a-01/qc"
    assert f"user zj-a-01\n{own}\ntopic readwrite stations/zj-a-01/status" in acl


def test_rerun_keeps_existing_passwords(tmp_path: Path) -> None:
    registry = tmp_path / "registry.toml"
    registry.write_text(REGISTRY, encoding="utf-8")
    args = ["acl", "-r", str(registry), "--out", str(tmp_path / "a"), "--hasher", "python"]
    assert CliRunner().invoke(deploy_app, args).exit_code == 0
    first = _secret(tmp_path / "a", "zj-a-01")
    assert CliRunner().invoke(deploy_app, args).exit_code == 0
    assert _secret(tmp_path / "a", "zj-a-01") == first


def test_bad_registry_names_the_file(tmp_path: Path) -> None:
    registry = tmp_path / "registry.toml"
    registry.write_text('kind = "registry"\nstations = [{ id = "x" }]\n', encoding="utf-8")
    result = CliRunner().invoke(deploy_app, ["acl", "-r", str(registry), "--out", str(tmp_path / "a")])
    assert result.exit_code == 2
    assert "registry.toml" in result.output
