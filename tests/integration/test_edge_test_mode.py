"""``stationpipe edge --config F --test`` as a field engineer runs it: the real command as a subprocess
against simulated instruments (Modbus TCP, Modbus RTU on a pty and over TCP, an SPL/1 ASCII sensor on a pty
read through its template, a Bavarian-Hessen NO/NO2/NOx analyser on a pty, a weather transmitter pushing
its records over TCP, a GNSS receiver on a pty), with no broker: every reading one JSON line, the fence's
flag showing, nothing published (a listener on the broker's port sees no connection; the metrics port is
taken and nothing minds), no state file created; exit 1 with a dead device while the other still prints,
exit 2 for a bad configuration."""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from stationpipe.kernel.config import load
from stationpipe.simulators.config import SimConfig
from stationpipe.simulators.harness import serving
from stationpipe.testbed.modbus import Image, static_server
from stationpipe.testbed.services import free_port
from tests.integration.edge_helpers import until, write_toml_profile

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]
LAT, LON = 30.25, 120.16
INT16 = "water_sonde_int16"


def _value(value: Any) -> str:
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_value(v)}" for k, v in value.items()) + " }"
    return json.dumps(value)


def _write_config(path: Path, broker: int, devices: list[dict[str, Any]], **tables: dict[str, Any]) -> Path:
    """An edge config file for station ``it-test``: the broker on ``broker``, state beside the file."""
    lines = ['kind = "edge"', 'station = "it-test"', 'state_dir = "state"']
    tables = {"mqtt": {"port": broker, "client_id": "edge-test", "timeout": 1.0}, **tables}
    for name, table in tables.items():
        lines += [f"[{name}]", *(f"{k} = {_value(v)}" for k, v in table.items())]
    for device in devices:
        lines += ["[[devices]]", *(f"{k} = {_value(v)}" for k, v in device.items())]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


async def _edge_test(config: Path, within: float = 30.0) -> tuple[int, list[dict[str, Any]], str]:
    """Run ``python -m stationpipe edge --config F --test``: its exit code, JSON lines and stderr."""
    argv = [sys.executable, "-m", "stationpipe", "edge", "--config", str(config), "--test"]
    proc = await asyncio.create_subprocess_exec(*argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        async with asyncio.timeout(within):
            out, err = await proc.communicate()
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode is not None
    records = [json.loads(line) for line in out.decode().splitlines()]
    return proc.returncode, records, err.decode()


def _of(records: list[dict[str, Any]], device: str) -> dict[str, dict[str, Any]]:
    return {r["parameter"]: r for r in records if r["device"] == device}


@contextlib.asynccontextmanager
async def _listener() -> AsyncIterator[tuple[int, list[int]]]:
    """A TCP listener standing in for the broker: its port, and one entry per connection it accepted."""
    accepted: list[int] = []

    async def take(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(1)
        writer.close()

    server = await asyncio.start_server(take, "127.0.0.1", 0)
    async with server:
        yield server.sockets[0].getsockname()[1], accepted


def _sim(tmp_path: Path, rs485: Path, ascii_link: Path, gps_link: Path, ports: tuple[int, int]) -> SimConfig:
    rtu_tcp, met = ports
    devices = "".join(
        f'[[devices]]\nname = "{name}"\nstation = "it-test"\n{values}\n{where}\n'
        f'unit = {unit}\nseed = {unit}\nwater_class = "II"\n'
        for name, values, where, unit in (
            ("a", f'profile = "{INT16}"', 'transport = "serial"\nline = "rs485"', 1),
            ("c", 'template = "spl1-water-five"', 'transport = "serial"\nline = "ascii"', 3),
            ("d", f'profile = "{INT16}"', f'transport = "rtu-tcp"\nport = {rtu_tcp}', 4),
            ("w", 'template = "vaisala-wxt520-auto"', 'transport = "serial"\nline = "met"', 1),
            ("n", 'profile = "nox_hessen"', 'transport = "serial"\nline = "bh"', 2),
        )
    )
    path = tmp_path / "sim.toml"
    path.write_text(
        f'kind = "sim"\n[[lines]]\nname = "rs485"\nlink = "{rs485}"\n'
        f'[[lines]]\nname = "ascii"\nprotocol = "template"\nlink = "{ascii_link}"\n'
        f'[[lines]]\nname = "met"\nprotocol = "template"\nport = {met}\nperiod = 0.5\n'
        f'[[lines]]\nname = "bh"\nprotocol = "hessen"\nlink = "{rs485}-bh"\n{devices}'
        f'[[gnss]]\nname = "gps"\nstation = "it-test"\nlat = {LAT}\nlon = {LON}\nlink = "{gps_link}"\n'
        "period = 0.25\njitter = 0.3\n",
        encoding="utf-8",
    )
    return load(path, SimConfig)


async def test_every_driver_once_without_a_broker(tmp_path: Path) -> None:
    rs485, ascii_link, gps_link, rtu_tcp = (
        tmp_path / "rs485",
        tmp_path / "ascii",
        tmp_path / "gps",
        free_port(),
    )
    tcp, met = free_port(), free_port()
    profile = write_toml_profile(
        tmp_path / "tcp.toml",
        [
            {
                "parameter": "do",
                "register": "input",
                "address": 0,
                "type": "uint16",
                "scale": 0.001,
                "unit": "mg/L",
            },
            {
                "parameter": "ph",
                "register": "input",
                "address": 1,
                "type": "uint16",
                "scale": 0.01,
                "unit": "pH",
            },
        ],
    )
    common = {"interval": 5.0, "timeout": 1.0}
    devices = [
        {"name": "tcp", "profile": str(profile), **common, "protocol": "modbus_tcp",
         "link": {"type": "tcp", "host": "127.0.0.1", "port": tcp}},
        {"name": "rtu", "profile": INT16, **common,
         "transport": {"type": "rtu", "port": str(rs485), "unit": 1, "baudrate": 19200}},
        {"name": "ascii", "template": "spl1-water-five", **common, "protocol": "ascii_template",
         "link": {"type": "serial", "port": str(ascii_link)}, "unit": 3},
        {"name": "wxt", "template": "vaisala-wxt520-auto", **common, "protocol": "ascii_template",
         "link": {"type": "tcp", "host": "127.0.0.1", "port": met}, "unit": 1},
        {"name": "gateway", "profile": INT16, **common,
         "transport": {"type": "rtu_over_tcp", "host": "127.0.0.1", "port": rtu_tcp, "unit": 4}},
        {"name": "nox", "profile": "nox_hessen", **common, "protocol": "hessen",
         "link": {"type": "serial", "port": f"{rs485}-bh"}, "unit": 2},
    ]  # fmt: skip
    far = {"lat": LAT + 0.01, "lon": LON, "radius": 50.0}  # the station is 1.1 km from its registered place
    gnss = {"name": "gps", "port": str(gps_link), "interval": 5.0, "max_age": 5.0, "fence": far}
    sim = _sim(tmp_path, rs485, ascii_link, gps_link, (rtu_tcp, met))
    async with _listener() as (broker, accepted), static_server(tcp, {1: Image(inputs=[7512, 712])}):
        config = _write_config(tmp_path / "edge.toml", broker, devices, gnss=gnss, metrics={"port": broker})
        async with serving(sim):
            await until(gps_link.exists, 10, "the GNSS pty link")
            code, records, err = await _edge_test(config)
        assert accepted == []  # no connection to the broker, and the metrics port (taken) never bound
    assert code == 0, err
    assert {r["device"] for r in records} == {"tcp", "rtu", "ascii", "gateway", "wxt", "gps", "nox"}
    assert all(r["station"] == "it-test" and r["ts"].endswith("Z") for r in records)
    tcp_readings = _of(records, "tcp")
    assert (tcp_readings["do"]["value"], tcp_readings["do"]["unit"]) == (pytest.approx(7.512), "mg/L")
    assert tcp_readings["ph"]["value"] == pytest.approx(7.12)
    for device in ("tcp", "rtu", "ascii", "gateway"):  # read outside the fence: flagged D by the fence step
        assert {r["flag"] for r in _of(records, device).values()} == {"D"}, (device, records)
        assert 6 < _of(records, device)["ph"]["value"] < 9 or device == "tcp"
    nox = _of(records, "nox")  # Bavarian-Hessen: one DA request, three channels
    assert set(nox) == {"no", "no2", "nox"}
    assert {r["flag"] for r in nox.values()} == {"D"}, nox
    weather = _of(records, "wxt")  # pushed: the first record that came in
    assert {r["flag"] for r in weather.values()} == {"D"}, weather
    assert set(weather) == {"wind_dir", "wind_speed", "air_temp", "rh", "pressure", "rain"}
    assert 950 < weather["pressure"]["value"] < 1050
    position = _of(records, "gps")
    assert {r["flag"] for r in position.values()} == {"N"}, position
    assert position["fence_dist"]["value"] > 1000
    assert not (tmp_path / "state").exists()


async def test_a_dead_device_exits_1_and_the_other_still_prints(tmp_path: Path) -> None:
    live, dead, broker = free_port(), free_port(), free_port()  # nothing listens on dead nor broker
    profile = write_toml_profile(
        tmp_path / "p.toml",
        [{"parameter": "do", "register": "input", "address": 0, "type": "uint16", "unit": "mg/L"}],
    )
    devices = [
        {
            "name": name,
            "profile": str(profile),
            "timeout": 0.5,
            "transport": {"host": "127.0.0.1", "port": port},
        }
        for name, port in (("live", live), ("dead", dead))
    ]
    config = _write_config(tmp_path / "edge.toml", broker, devices)
    async with static_server(live, {1: Image(inputs=[8])}):
        code, records, err = await _edge_test(config)
    assert code == 1
    assert _of(records, "live")["do"]["value"] == 8
    assert _of(records, "live")["do"]["flag"] == "N"
    assert _of(records, "dead")["do"] == {
        "station": "it-test",
        "device": "dead",
        "parameter": "do",
        "value": None,
        "unit": "mg/L",
        "flag": "B",
        "ts": _of(records, "dead")["do"]["ts"],
    }
    assert "device dead did not answer" in err
    assert "device live" not in err
    assert not (tmp_path / "state").exists()


async def test_a_bad_config_exits_2_naming_file_key_and_reason(tmp_path: Path) -> None:
    devices = [{"name": "x", "profile": INT16, "transport": {"host": "127.0.0.1", "port": 70000}}]
    config = _write_config(tmp_path / "edge.toml", free_port(), devices)
    code, records, err = await _edge_test(config)
    assert code == 2
    assert records == []
    assert "edge.toml" in err
    assert "port" in err
    assert not (tmp_path / "state").exists()
