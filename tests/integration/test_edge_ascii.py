"""Template ASCII instruments through the real edge agent to a real broker, against the template simulator:
polled SPL/1 sensors on a pty (status field -> M and D; one silent at first: B and backed off while its
neighbours on the line go on), a polled Vaisala WMT700 over TCP (a serial device
server) whose records sometimes carry a bad checksum (that poll B and counted, not backed off), and two
Vaisala WXT520s pushing their records on ptys, one of them silent at first (B while the other goes on N,
then back)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from stationpipe.edge.agent import run
from stationpipe.kernel.config import load
from stationpipe.simulators.config import SimConfig
from stationpipe.simulators.harness import serving
from stationpipe.testbed.services import Services, free_port
from tests.integration.edge_helpers import Probe, edge_config, running

pytestmark = [pytest.mark.integration, pytest.mark.timeout(90)]
SILENT_FOR = 3.0
WXT = "vaisala-wxt520-auto"


def _sim(tmp_path: Path, wind_port: int) -> SimConfig:
    devices = "".join(
        f'[[devices]]\nname = "{name}"\nstation = "it-edge"\ntemplate = "{template}"\ntransport = "serial"\n'
        f'line = "{line}"\nunit = {unit}\nseed = {unit}\n'
        for name, template, line, unit in (
            ("spl", "spl1-water-five", "spl", 3),
            ("spl-m", "spl1-water-five", "spl", 4),
            ("spl-d", "spl1-water-five", "spl", 5),
            ("spl-quiet", "spl1-water-five", "spl", 6),
            ("wind", "vaisala-wmt700-mwv", "wind", 1),
            ("wxt", WXT, "met", 1),
            ("wxt-quiet", WXT, "met2", 2),
        )
    )
    scenarios = (
        '[[scenarios]]\nname = "service"\nkind = "maintenance"\ndevices = ["spl-m"]\nactive = true\n'
        '[[scenarios]]\nname = "broken"\nkind = "fault"\ndevices = ["spl-d"]\nactive = true\n'
        '[[scenarios]]\nname = "quiet"\nkind = "silent"\ndevices = ["wxt-quiet", "spl-quiet"]\n'
        "active = true\n"
        f"duration = {SILENT_FOR}\n"
    )
    lines = (
        f'[[lines]]\nname = "spl"\nprotocol = "template"\nbaudrate = 19200\nlink = "{tmp_path / "spl"}"\n'
        f'[[lines]]\nname = "wind"\nprotocol = "template"\nport = {wind_port}\n'
        "checksum_errors = 0.4\nseed = 3\n"
        f'[[lines]]\nname = "met"\nprotocol = "template"\nlink = "{tmp_path / "met"}"\nperiod = 0.2\n'
        f'[[lines]]\nname = "met2"\nprotocol = "template"\nlink = "{tmp_path / "met2"}"\nperiod = 0.2\n'
    )
    path = tmp_path / "sim.toml"
    path.write_text(f'kind = "sim"\n{lines}{devices}{scenarios}')
    return load(path, SimConfig)


def _device(name: str, template: str, link: dict[str, Any], unit: int) -> dict[str, object]:
    return {
        "name": name,
        "template": template,
        "protocol": "ascii_template",
        "link": link,
        "unit": unit,
        "interval": 0.5,
        "timeout": 0.5,
    }


def _errors(exposition: str, device: str, kind: str) -> float:
    pattern = rf'stationpipe_edge_request_errors_total\{{device="{device}",kind="{kind}"\}} (\S+)'
    found = re.search(pattern, exposition)
    return float(found.group(1)) if found else 0.0


def _flags(message: dict[str, Any]) -> set[str]:
    return {v["flag"] for v in message["readings"].values()}


async def test_polled_and_pushed_instruments_through_their_templates(
    services: Services, tmp_path: Path
) -> None:
    wind_port, metrics_port = free_port(), free_port()
    spl = {"type": "serial", "port": str(tmp_path / "spl"), "baudrate": 19200}
    devices = [
        _device("spl", "spl1-water-five", spl, 3),
        _device("spl-m", "spl1-water-five", spl, 4),
        _device("spl-d", "spl1-water-five", spl, 5),
        _device("spl-quiet", "spl1-water-five", spl, 6),
        _device("wind", "vaisala-wmt700-mwv", {"type": "tcp", "host": "127.0.0.1", "port": wind_port}, 1),
        _device("wxt", WXT, {"type": "serial", "port": str(tmp_path / "met")}, 1),
        _device("wxt-quiet", WXT, {"type": "serial", "port": str(tmp_path / "met2")}, 2),
    ]
    cfg = edge_config(tmp_path, services.mosquitto.port, devices, metrics={"port": metrics_port})
    probe = Probe(services.mosquitto.port, client_id="probe-ascii")
    async with serving(_sim(tmp_path, wind_port)), probe, running(run(cfg)), httpx.AsyncClient() as http:
        for device in ("spl", "spl-m", "spl-d", "wind", "wxt"):
            await probe.wait_for(12, 30, device)
        exposition = (await http.get(f"http://127.0.0.1:{metrics_port}/metrics")).text
        for quiet_one in ("wxt-quiet", "spl-quiet"):
            while not probe.of(quiet_one) or _flags(probe.of(quiet_one)[-1]) != {"N"}:  # back after silence
                await probe.wait_for(len(probe.of(quiet_one)) + 1, 15, quiet_one)

    sonde = probe.of("spl")[-1]["readings"]
    assert set(sonde) == {"temp", "ph", "do", "cond", "turb"}
    assert _flags(probe.of("spl")[-1]) == {"N"}
    assert 6 < sonde["ph"]["value"] < 9
    assert {frozenset(_flags(m)) for m in probe.of("spl-m")} == {frozenset({"M"})}  # status field FL=M
    assert {frozenset(_flags(m)) for m in probe.of("spl-d")} == {frozenset({"D"})}  # FL=D
    silent = [m["ts"] for m in probe.of("spl-quiet") if _flags(m) == {"B"}]
    assert silent, [_flags(m) for m in probe.of("spl-quiet")]
    assert _errors(exposition, "spl-quiet", "no_answer") < len(silent)  # backed off: fewer requests
    alongside = [m for m in probe.of("spl") if silent[0] <= m["ts"] <= silent[-1]]
    assert alongside, "the neighbour reported while the silent sensor was B"
    assert all(_flags(m) == {"N"} for m in alongside)

    wind_flags = [_flags(m) for m in probe.of("wind")]
    assert {"B"} in wind_flags, wind_flags
    assert {"N"} in wind_flags, wind_flags
    after_bad = [wind_flags[i + 1] for i, f in enumerate(wind_flags[:-1]) if f == {"B"}]
    assert {"N"} in after_bad  # a bad checksum is that poll only
    assert _errors(exposition, "wind", "checksum") >= 1
    assert _errors(exposition, "wind", "no_answer") == 0  # a garbled record is an answer: no backoff
    good_wind = next(m["readings"] for m in reversed(probe.of("wind")) if _flags(m) == {"N"})
    assert good_wind["wind_speed"]["unit"] == "m/s"
    assert 0 < good_wind["wind_speed"]["value"] < 20

    weather = probe.of("wxt")
    assert all(_flags(m) == {"N"} for m in weather[1:]), [_flags(m) for m in weather]  # pushed, every tick
    assert 950 < weather[-1]["readings"]["pressure"]["value"] < 1050
    quiet = [_flags(m) for m in probe.of("wxt-quiet")]
    assert quiet[0] == {"B"}, quiet  # silent at first
    assert quiet[-1] == {"N"}, quiet  # then back
    assert _errors(exposition, "wxt-quiet", "no_answer") >= 1
