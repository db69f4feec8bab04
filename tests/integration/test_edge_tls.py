"""The edge agent over TLS with a client certificate, a username and a password (from the environment),
against a real Mosquitto that requires all three."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiomqtt
import pytest

from stationpipe.edge.agent import run
from stationpipe.testbed.modbus import Image, static_server
from stationpipe.testbed.services import Mosquitto, find_binary, free_port
from stationpipe.testbed.tls import make_pki
from tests.integration.edge_helpers import Probe, edge_config, running, write_toml_profile

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]


async def test_tls_client_certificate_and_password(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pki = make_pki(tmp_path / "pki")
    passwords = tmp_path / "passwd"
    passwd = await asyncio.create_subprocess_exec(
        find_binary("mosquitto_passwd", "mosquitto"), "-b", "-c", str(passwords), "it-edge", "s3cret"
    )
    assert await asyncio.wait_for(passwd.wait(), 30) == 0
    broker = Mosquitto(
        "mosquitto-tls",
        tmp_path,
        anonymous=False,
        listener_conf=(
            f"cafile {pki.ca}\ncertfile {pki.server_cert}\nkeyfile {pki.server_key}\n"
            "require_certificate true\n"
        ),
        conf=f"password_file {passwords}\n",
    )
    broker.start()
    monkeypatch.setenv("IT_EDGE_MQTT_PASSWORD", "s3cret")
    profile = write_toml_profile(tmp_path / "one.toml", [{"parameter": "ph", "address": 0, "unit": "pH"}])
    port = free_port()
    device = {
        "name": "sonde",
        "profile": str(profile),
        "interval": 0.3,
        "timeout": 0.5,
        "transport": {"host": "127.0.0.1", "port": port},
    }
    cfg = edge_config(tmp_path, broker.port, [device])
    mqtt = cfg.mqtt.model_copy(
        update={
            "ca_file": pki.ca,
            "cert_file": pki.client_cert,
            "key_file": pki.client_key,
            "username": "it-edge",
            "password_env": "IT_EDGE_MQTT_PASSWORD",
        }
    )
    cfg = cfg.model_copy(update={"mqtt": mqtt})
    tls = aiomqtt.TLSParameters(
        ca_certs=str(pki.ca), certfile=str(pki.client_cert), keyfile=str(pki.client_key)
    )
    probe = Probe(broker.port, client_id="probe-tls", tls=tls, username="it-edge", password="s3cret")
    try:
        async with (
            static_server(port, {1: Image(holding=[0x40E8, 0])}),
            probe,
            running(run(cfg)),
        ):
            await probe.wait_for(2, 20)
        assert probe.messages[0]["readings"]["ph"] == {"value": 7.25, "unit": "pH", "flag": "N"}
        for wrong in ({"password": "nope"}, {"tls_params": aiomqtt.TLSParameters(ca_certs=str(pki.ca))}):
            args: dict[str, Any] = {"username": "it-edge", "password": "s3cret", "tls_params": tls, **wrong}
            with pytest.raises(aiomqtt.MqttError):
                async with aiomqtt.Client("127.0.0.1", broker.port, timeout=5, **args):
                    pass
    finally:
        broker.stop()
