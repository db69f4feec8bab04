"""HJ 212 analysers through the real edge agent to a real broker, against simulated analysers: one on a
pty that writes every frame in two parts, puts line noise before every other one and a bad CRC on every
third (split frames reassembled, bad CRCs answered 9011 QnRtn=9 and counted, noise skipped); an
HJ 212-2025 analyser encrypting with its SM4 key over TCP; one answering CN 2011 requests; and one that
stays silent (B) while the others go on. Uploads asking for a reply get their 9014."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from stationpipe.edge.agent import run
from stationpipe.edge.drivers.hj212 import Hj212Driver
from stationpipe.hj212 import QnRtn
from stationpipe.simulators.board import Board
from stationpipe.simulators.config import HjAnalyserSim
from stationpipe.simulators.hj212_analyser import Analyser, serve_analyser
from stationpipe.simulators.scenarios import Silent
from stationpipe.testbed.services import Services, free_port
from tests.integration.edge_helpers import Probe, edge_config, running, until

pytestmark = [pytest.mark.integration, pytest.mark.timeout(90)]
KEY = "00112233445566778899AABBCCDDEEFF"
MN = {"codmn": "MN-CODMN", "nh3n": "MN-NH3N", "tp": "MN-TP", "quiet": "MN-QUIET"}


def _analysers(tmp_path: Path, ports: dict[str, int]) -> list[HjAnalyserSim]:
    common = {"interval": 0.4, "baudrate": 115200}
    return [
        HjAnalyserSim.model_validate(
            {
                "name": "codmn",
                "mn": MN["codmn"],
                "parameters": ["codmn"],
                "link": str(tmp_path / "codmn"),
                "split_every": 1,
                "noise_every": 2,
                "bad_crc_every": 3,
                **common,
            }
        ),
        HjAnalyserSim.model_validate(
            {
                "name": "nh3n",
                "mn": MN["nh3n"],
                "parameters": ["nh3n", "tp"],
                "version": "2025",
                "key_env": "IT_HJ212_KEY",
                "port": ports["nh3n"],
                **common,
            }
        ),
        HjAnalyserSim.model_validate(
            {"name": "tp", "mn": MN["tp"], "parameters": ["tp"], "mode": "request", "port": ports["tp"]}
        ),
        HjAnalyserSim.model_validate(
            {"name": "quiet", "mn": MN["quiet"], "parameters": ["tn"], "link": str(tmp_path / "quiet")}
        ),
    ]


@contextlib.asynccontextmanager
async def _serving(analysers: list[Analyser]) -> AsyncIterator[None]:
    tasks = [asyncio.create_task(serve_analyser(a)) for a in analysers]
    try:
        await until(lambda: all(_listening(a.cfg) for a in analysers), 10, "the analysers serving")
        yield
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def _listening(cfg: HjAnalyserSim) -> bool:
    """Its pty link exists, or its TCP port accepts a connection."""
    if cfg.port is None:
        return cfg.link is not None and cfg.link.exists()
    try:
        socket.create_connection((cfg.host, cfg.port), timeout=0.2).close()
    except OSError:
        return False
    return True


def _device(name: str, link: dict[str, Any], **hj212: Any) -> dict[str, Any]:
    table = {"mn": MN[name], **hj212}
    return {"name": name, "protocol": "hj212", "link": link, "interval": 0.5, "timeout": 1.0, "hj212": table}


def _errors(exposition: str, device: str, kind: str) -> float:
    pattern = rf'stationpipe_edge_request_errors_total\{{device="{device}",kind="{kind}"\}} (\S+)'
    found = re.search(pattern, exposition)
    return float(found.group(1)) if found else 0.0


def _readings(message: dict[str, Any]) -> dict[str, dict[str, Any]]:
    readings = message["readings"]
    assert isinstance(readings, dict)
    return readings


async def test_analysers_push_and_answer_through_noise_split_frames_bad_crc_and_silence(
    services: Services, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IT_HJ212_KEY", KEY)
    ports = {"nh3n": free_port(), "tp": free_port()}
    board = Board.of((Silent(name="mute", kind="silent", devices=("quiet",), active=True),))
    sims = [Analyser(cfg, board) for cfg in _analysers(tmp_path, ports)]
    by_name = {a.cfg.name: a for a in sims}
    serial = {"type": "serial", "baudrate": 115200}
    devices = [
        _device("codmn", {**serial, "port": str(tmp_path / "codmn")}, expect=["w01019"], max_age=2.0),
        _device(
            "nh3n",
            {"type": "tcp", "host": "127.0.0.1", "port": ports["nh3n"]},
            version="2025",
            key_env="IT_HJ212_KEY",
        ),
        _device("tp", {"type": "tcp", "host": "127.0.0.1", "port": ports["tp"]}, mode="request"),
        _device("quiet", {**serial, "port": str(tmp_path / "quiet")}, expect=["w21001"]),
    ]
    metrics_port = free_port()
    cfg = edge_config(tmp_path, services.mosquitto.port, devices, metrics={"port": metrics_port})
    probe = Probe(services.mosquitto.port, client_id="probe-hj212-in")
    async with _serving(sims), probe, running(run(cfg)), httpx.AsyncClient() as http:
        for device in ("codmn", "nh3n", "tp", "quiet"):
            await probe.wait_for(8, 30, device)
        await until(lambda: by_name["codmn"].sent >= 9, 20, "nine frames from the CODMn analyser")
        exposition = (await http.get(f"http://127.0.0.1:{metrics_port}/metrics")).text

    codmn = [_readings(m)["codmn"] for m in probe.of("codmn")]
    good = [r for r in codmn if r["flag"] == "N"]
    assert len(good) >= len(codmn) - 2, codmn  # split frames reassembled, noise skipped: fresh values
    assert all(r["unit"] == "mg/L" and 0 < r["value"] < 20 for r in good)
    assert QnRtn.CRC_ERROR in by_name["codmn"].refused  # the bad CRC answered 9011 QnRtn=9 ...
    assert _errors(exposition, "codmn", "checksum") >= 1  # ... and counted on the device
    assert len(by_name["codmn"].acked) >= 3  # the good uploads asked for 9014 and got it

    nh3n = _readings(probe.of("nh3n")[-1])
    assert set(nh3n) == {"nh3n", "tp"}  # no expect: whatever comes
    assert {r["flag"] for r in nh3n.values()} == {"N"}
    assert by_name["nh3n"].acked  # 9014 in HJ 212-2025

    tp = [_readings(m)["tp"] for m in probe.of("tp")]
    assert by_name["tp"].requests >= 3  # the edge asked
    assert [r["flag"] for r in tp[-3:]] == ["N", "N", "N"], tp

    quiet = [_readings(m) for m in probe.of("quiet")]
    assert all(r["tn"]["flag"] == "B" and r["tn"]["value"] is None for r in quiet)
    assert _errors(exposition, "quiet", "no_answer") >= 1


def _toml(value: Any) -> str:
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + " }"
    return json.dumps(value)


async def _edge_test(config: Path) -> tuple[int, list[dict[str, Any]], str]:
    """``python -m stationpipe edge --config F --test``: its exit code, JSON lines and stderr."""
    argv = [sys.executable, "-m", "stationpipe", "edge", "--config", str(config), "--test"]
    proc = await asyncio.create_subprocess_exec(*argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        async with asyncio.timeout(40):
            out, err = await proc.communicate()
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode is not None
    return proc.returncode, [json.loads(line) for line in out.decode().splitlines()], err.decode()


async def test_edge_test_mode_reads_each_analyser_once_and_exits_1_for_a_silent_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IT_HJ212_KEY", KEY)
    ports = {"nh3n": free_port(), "tp": free_port()}
    board = Board.of((Silent(name="mute", kind="silent", devices=("quiet",), active=True),))
    sims = [Analyser(cfg, board) for cfg in _analysers(tmp_path, ports) if cfg.name != "nh3n"]
    serial = {"type": "serial", "baudrate": 115200}
    devices = [
        _device("codmn", {**serial, "port": str(tmp_path / "codmn")}, expect=["w01019"]),
        _device("tp", {"type": "tcp", "host": "127.0.0.1", "port": ports["tp"]}, mode="request"),
        _device("quiet", {**serial, "port": str(tmp_path / "quiet")}, expect=["w21001"]),
    ]
    lines = ['kind = "edge"', 'station = "it-test"', 'state_dir = "state"', "[mqtt]", f"port = {free_port()}"]
    lines.append('client_id = "edge-test"')
    for device in devices:
        hj212 = device.pop("hj212")
        lines += ["[[devices]]", *(f"{k} = {_toml(v)}" for k, v in device.items())]
        lines += ["[devices.hj212]", *(f"{k} = {_toml(v)}" for k, v in hj212.items())]
    config = tmp_path / "edge.toml"
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    async with _serving(sims):
        code, records, err = await _edge_test(config)
    by_device = {r["device"]: r for r in records}
    assert code == 1, err
    assert by_device["codmn"]["parameter"] == "codmn"
    assert by_device["codmn"]["flag"] == "N"
    assert by_device["tp"]["flag"] == "N"
    assert (by_device["quiet"]["flag"], by_device["quiet"]["value"]) == ("B", None)
    assert "device quiet did not answer" in err
    assert not (tmp_path / "state").exists()


async def test_an_analyser_that_drops_its_connection_is_b_until_the_edge_reconnects(
    services: Services, tmp_path: Path
) -> None:
    port = free_port()
    cfg = HjAnalyserSim.model_validate(
        {"name": "tp", "mn": MN["tp"], "parameters": ["tp"], "port": port, "interval": 0.3}
    )
    device = _device("tp", {"type": "tcp", "host": "127.0.0.1", "port": port}, expect=["w21011"], max_age=1.0)
    edge = edge_config(tmp_path, services.mosquitto.port, [device])
    probe = Probe(services.mosquitto.port, client_id="probe-hj212-drop")

    def flags() -> list[str]:
        return [_readings(m)["tp"]["flag"] for m in probe.of("tp")]

    async with probe, running(run(edge)):
        async with _serving([Analyser(cfg, Board.of(()))]):
            await until(lambda: "N" in flags(), 20, "a first reading")
        down = len(flags())
        await until(lambda: "B" in flags()[down:], 20, "B while the analyser is gone")
        async with _serving([Analyser(cfg, Board.of(()))]):
            back = len(flags())
            await until(lambda: "N" in flags()[back:], 30, "N again after the edge reconnected")


async def test_a_link_that_stays_silent_is_reopened(tmp_path: Path) -> None:
    """A serial device server that restarted leaves a half-open connection: no byte ever comes again."""
    accepted: list[asyncio.StreamWriter] = []

    async def silent(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(writer)

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    device = _device("tp", {"type": "tcp", "host": "127.0.0.1", "port": port}, max_age=0.3)
    config = edge_config(tmp_path, free_port(), [device])
    driver = Hj212Driver(config, config.lines()[0])
    assert driver.idle == pytest.approx(0.9)
    async with server, running(driver.run()):
        await until(lambda: len(accepted) >= 2, 15, "a second connection after the silence")
    driver.close()
    for writer in accepted:
        writer.close()
