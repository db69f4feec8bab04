"""Modbus RTU (and Bavarian-Hessen) through 4G DTUs that dial in: the real edge agent, its ``[dtu]``
listener and a real broker, against simulated DTUs (simulators/dtu.py) that register, send heartbeats,
bridge bytes to simulated instruments (an rtu-tcp endpoint, a pty line), drop and redial."""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import math
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from stationpipe.edge.agent import run
from stationpipe.kernel.config import load
from stationpipe.simulators.config import SimConfig
from stationpipe.simulators.harness import serving
from stationpipe.testbed.services import Services, free_port
from tests.integration.edge_helpers import Probe, edge_config, running, until

pytestmark = [pytest.mark.integration, pytest.mark.timeout(90)]
INT16 = "water_sonde_int16"
NOX = "nox_hessen"
INTERVAL = 0.5
IMEI_A, IMEI_B = "865000000000001", "865000000000002"


def _sim(tmp_path: Path, text: str) -> SimConfig:
    path = tmp_path / "sim.toml"
    path.write_text('kind = "sim"\n' + text)
    return load(path, SimConfig)


def _units(dtu: str, port: int, units: tuple[int, ...]) -> str:
    """Simulated RTU units on an rtu-tcp endpoint (the bus behind DTU ``dtu``)."""
    return "".join(
        f'[[devices]]\nname = "{dtu}-u{u}"\nstation = "it-edge"\nprofile = "{INT16}"\ntransport = "rtu-tcp"\n'
        f"port = {port}\nunit = {u}\nseed = {u}\n"
        for u in units
    )


def _dtu(name: str, listener: int, registration: str, **extra: Any) -> str:
    lines = [f'[[dtus]]\nname = "{name}"\nport = {listener}\nregistration = "{registration}"']
    lines += [f"{k} = {json.dumps(v)}" for k, v in {"redial": 0.2, "redial_cap": 1.0, **extra}.items()]
    return "\n".join(lines) + "\n"


def _device(name: str, dtu_id: str, unit: int, protocol: str = "modbus_rtu", **extra: Any) -> dict[str, Any]:
    profile = NOX if protocol == "hessen" else INT16
    return {
        "name": name,
        "profile": str(profile),
        "protocol": protocol,
        "link": {"type": "dtu", "id": dtu_id},
        "unit": unit,
        "interval": INTERVAL,
        "timeout": 0.5,
        **extra,
    }


def _flags(message: dict[str, Any]) -> set[str]:
    return {v["flag"] for v in message["readings"].values()}


def _refusals(caplog: pytest.LogCaptureFixture) -> int:
    return sum("refused a DTU" in r.getMessage() for r in caplog.records)


def _ts(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


def _ticks(messages: list[dict[str, Any]]) -> list[float]:
    """The poll instant of each message (its timestamp), in seconds on the grid."""
    stamps = [_ts(m["ts"]) for m in messages]
    return [math.floor(s / INTERVAL) * INTERVAL for s in stamps]


async def test_two_dtus_register_by_regex_and_their_units_are_polled_through_heartbeats(
    services: Services, tmp_path: Path
) -> None:
    """DTU A bridges to an rtu-tcp endpoint with two units and puts a heartbeat in the middle of every
    reply; DTU B bridges to a pty RS-485 line; both send heartbeats every 0.2 s and the edge answers
    them: every reading is N, no reply is corrupted."""
    listener, endpoint, rs485 = free_port(), free_port(), tmp_path / "rs485"
    beat = {"heartbeat": "www.usr.cn", "heartbeat_interval": 0.2, "heartbeat_reply": "OK+HB"}
    sim = _sim(
        tmp_path,
        f'[[lines]]\nname = "bus-b"\nlink = "{rs485}"\n'
        + _units("a", endpoint, (1, 2))
        + f'[[devices]]\nname = "b-u3"\nstation = "it-edge"\nprofile = "{INT16}"\ntransport = "serial"\n'
        'line = "bus-b"\nunit = 3\nseed = 3\n'
        + _dtu("dtu-a", listener, f"IMEI:{IMEI_A}\\r\\n", target_port=endpoint, split_replies=True, **beat)
        + _dtu("dtu-b", listener, f"IMEI:{IMEI_B}\\r\\n", line="bus-b", **beat),
    )
    devices = [_device("a1", IMEI_A, 1), _device("a2", IMEI_A, 2), _device("b3", IMEI_B, 3)]
    dtu = {
        "host": "127.0.0.1",
        "port": listener,
        "registration": {"format": "regex", "pattern": r"^IMEI:(?P<id>\d{15})"},
        "heartbeat": {"text": "www.usr.cn"},
        "heartbeat_reply": {"text": "OK+HB"},
    }
    cfg = edge_config(tmp_path, services.mosquitto.port, devices, dtu=dtu)
    probe = Probe(services.mosquitto.port, client_id="probe-dtu-two")
    async with serving(sim), probe, running(run(cfg)):
        for device in ("a1", "a2", "b3"):
            await probe.wait_for(8, 30, device)
    for device in ("a1", "a2", "b3"):
        answered = [m for m in probe.of(device) if _flags(m) != {"B"}]
        # B: the polls before the DTU first dialled in, and (rarely, on a loaded machine) a reply whose
        # heartbeat arrived glued inside it, which its CRC rejects; never a wrong value
        assert len(answered) >= len(probe.of(device)) - 3, device
        for message in answered[1:]:
            assert _flags(message) == {"N"}, (device, message)
            assert 6 < message["readings"]["ph"]["value"] < 9


async def test_a_dtu_that_drops_and_redials_loses_no_reading_and_flags_the_polls_it_missed(
    services: Services, tmp_path: Path
) -> None:
    """DTU A goes offline for 2 s (control channel), DTU B stays: every poll of A's unit has a message
    (the missed ones B), the sequence has no gap, A's unit reads N again after the redial, B never
    misses a reading."""
    listener, port_a, port_b, control = free_port(), free_port(), free_port(), free_port()
    sim = _sim(
        tmp_path,
        f"[control]\nport = {control}\n"
        + _units("a", port_a, (1,))
        + _units("b", port_b, (1,))
        + _dtu("dtu-a", listener, IMEI_A, target_port=port_a)
        + _dtu("dtu-b", listener, IMEI_B, target_port=port_b)
        + '[[scenarios]]\nname = "no-signal"\nkind = "offline"\ndevices = ["dtu-a"]\nduration = 2.0\n',
    )
    devices = [_device("a1", IMEI_A, 1), _device("b1", IMEI_B, 1)]
    cfg = edge_config(tmp_path, services.mosquitto.port, devices, dtu={"host": "127.0.0.1", "port": listener})
    probe = Probe(services.mosquitto.port, client_id="probe-dtu-drop")
    async with serving(sim), probe, running(run(cfg)), httpx.AsyncClient() as http:
        await probe.wait_for(6, 30, "a1")
        while _flags(probe.of("a1")[-1]) != {"N"}:
            await probe.wait_for(len(probe.of("a1")) + 1, 10, "a1")
        reply = await http.post(f"http://127.0.0.1:{control}/scenarios/no-signal/start")
        assert reply.status_code == 200
        cut = len(probe.of("a1"))
        await probe.wait_for(cut + 2, 10, "a1")
        while _flags(probe.of("a1")[-1]) != {"N"} or len(probe.of("a1")) < cut + 8:
            await probe.wait_for(len(probe.of("a1")) + 1, 15, "a1")
    after = [_flags(m) for m in probe.of("a1")[cut:]]
    assert {"B"} in after, after  # the polls the DTU missed are flagged
    assert after[-1] == {"N"}
    for device in ("a1", "b1"):
        ticks = _ticks(probe.of(device))
        steps = {round(b - a, 3) for a, b in itertools.pairwise(ticks)}
        assert steps <= {INTERVAL}, (device, sorted(steps))  # one message a tick, none missing
    assert sorted(probe.seqs()) == list(range(min(probe.seqs()), max(probe.seqs()) + 1))
    first_n = next(i for i, m in enumerate(probe.of("b1")) if _flags(m) == {"N"})
    assert all(_flags(m) == {"N"} for m in probe.of("b1")[first_n:])


async def test_an_unknown_dtu_is_refused_and_logged_once(
    services: Services, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A DTU registering as an id no device names is closed at once, every time it redials, and the
    edge says so once; the known DTU is read as usual."""
    caplog.set_level(logging.DEBUG, logger="stationpipe.edge.drivers.dtu")
    listener, port_a, port_x = free_port(), free_port(), free_port()
    sim = _sim(
        tmp_path,
        _units("a", port_a, (1,))
        + _units("x", port_x, (1,))
        + _dtu("dtu-a", listener, IMEI_A, target_port=port_a)
        + _dtu("dtu-x", listener, "865999999999999", target_port=port_x, redial=0.1, redial_cap=0.2),
    )
    cfg = edge_config(
        tmp_path,
        services.mosquitto.port,
        [_device("a1", IMEI_A, 1)],
        dtu={"host": "127.0.0.1", "port": listener},
    )
    probe = Probe(services.mosquitto.port, client_id="probe-dtu-unknown")
    async with serving(sim), probe, running(run(cfg)):
        await probe.wait_for(6, 30, "a1")
        await until(lambda: _refusals(caplog) >= 3, 20, "the unknown DTU refused three times")
    unknown = [r for r in caplog.records if "865999999999999" in r.getMessage()]
    warnings = [r for r in unknown if r.levelno == logging.WARNING]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]
    assert _flags(probe.of("a1")[-1]) == {"N"}


async def test_a_silent_dtu_is_flagged_b_while_the_other_goes_on(services: Services, tmp_path: Path) -> None:
    """DTU S stays connected (heartbeats) but its bus is dead: its unit is B, backed off; DTU A's unit is
    read on every tick all the while."""
    listener, port_a, port_s = free_port(), free_port(), free_port()
    sim = _sim(
        tmp_path,
        _units("a", port_a, (1,))
        + _units("s", port_s, (1,))
        + _dtu("dtu-a", listener, IMEI_A, target_port=port_a)
        + _dtu("dtu-s", listener, IMEI_B, target_port=port_s, heartbeat="hb", heartbeat_interval=0.3)
        + '[[scenarios]]\nname = "dead-bus"\nkind = "silent"\ndevices = ["dtu-s"]\nactive = true\n',
    )
    devices = [_device("a1", IMEI_A, 1), _device("s1", IMEI_B, 1)]
    dtu = {"host": "127.0.0.1", "port": listener, "heartbeat": {"text": "hb"}}
    cfg = edge_config(tmp_path, services.mosquitto.port, devices, dtu=dtu)
    probe = Probe(services.mosquitto.port, client_id="probe-dtu-silent")
    async with serving(sim), probe, running(run(cfg)):
        await probe.wait_for(12, 30, "a1")
        await probe.wait_for(8, 10, "s1")
    assert {frozenset(_flags(m)) for m in probe.of("s1")} == {frozenset({"B"})}
    a = probe.of("a1")
    first_n = next(i for i, m in enumerate(a) if _flags(m) == {"N"})
    assert all(_flags(m) == {"N"} for m in a[first_n:])
    ticks = _ticks(a[first_n:])
    assert {round(y - x, 3) for x, y in itertools.pairwise(ticks)} <= {INTERVAL}


async def test_bavarian_hessen_analysers_behind_a_dtu(services: Services, tmp_path: Path) -> None:
    """A StreamLine protocol runs over a DTU unchanged: Bavarian-Hessen analysers on a pty line that a
    simulated DTU bridges, registered by hex."""
    listener, line = free_port(), tmp_path / "bh"
    sim = _sim(
        tmp_path,
        f'[[lines]]\nname = "bh"\nprotocol = "hessen"\nlink = "{line}"\n'
        f'[[devices]]\nname = "nox"\nstation = "it-edge"\nprofile = "{NOX}"\ntransport = "serial"\n'
        'line = "bh"\nunit = 7\nseed = 7\n'
        f'[[dtus]]\nname = "dtu-h"\nport = {listener}\nregistration_hex = "7E 01 A2 FF"\nline = "bh"\n'
        "redial = 0.2\nredial_cap = 1.0\n",
    )
    dtu = {"host": "127.0.0.1", "port": listener, "registration": {"format": "hex"}}
    device = _device("nox", "7e01a2ff", 7, protocol="hessen", timeout=1.0)
    cfg = edge_config(tmp_path, services.mosquitto.port, [device], dtu=dtu)
    probe = Probe(services.mosquitto.port, client_id="probe-dtu-hessen")
    async with serving(sim), probe, running(run(cfg)):
        await probe.wait_for(6, 30, "nox")
        while _flags(probe.of("nox")[-1]) != {"N"}:
            await probe.wait_for(len(probe.of("nox")) + 1, 10, "nox")
    good = probe.of("nox")[-1]["readings"]
    assert set(good) == {"no", "no2", "nox"}
    assert all(0 <= v["value"] < 1000 for v in good.values()), good  # NO is 0 at times


def _edge_file(path: Path, broker: int, listener: int) -> Path:
    devices = "".join(
        f'[[devices]]\nname = "{name}"\nprofile = "{INT16}"\nprotocol = "modbus_rtu"\n'
        f'link = {{ type = "dtu", id = "{dtu_id}" }}\nunit = 1\n'
        for name, dtu_id in (("a1", IMEI_A), ("b1", IMEI_B))
    )
    path.write_text(
        f'kind = "edge"\nstation = "it-test"\nstate_dir = "state"\n'
        f'[mqtt]\nport = {broker}\nclient_id = "edge-test"\n'
        f'[dtu]\nhost = "127.0.0.1"\nport = {listener}\ntest_wait = 10.0\n{devices}',
        encoding="utf-8",
    )
    return path


async def test_edge_test_mode_waits_for_the_dtus_to_dial_in(tmp_path: Path) -> None:
    """``edge --test`` listens, waits (bounded) until both DTUs have registered, reads each unit once."""
    listener, port_a, port_b = free_port(), free_port(), free_port()
    sim = _sim(
        tmp_path,
        _units("a", port_a, (1,))
        + _units("b", port_b, (1,))
        + _dtu("dtu-a", listener, IMEI_A, target_port=port_a, redial=0.5, redial_cap=0.5)
        + _dtu("dtu-b", listener, IMEI_B, target_port=port_b, redial=1.5, redial_cap=1.5),
    )
    config = _edge_file(tmp_path / "edge.toml", free_port(), listener)
    argv = [sys.executable, "-m", "stationpipe", "edge", "--config", str(config), "--test"]
    async with serving(sim):
        proc = await asyncio.create_subprocess_exec(*argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        async with asyncio.timeout(40):
            out, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()
    records = [json.loads(line) for line in out.decode().splitlines()]
    assert {r["device"] for r in records} == {"a1", "b1"}
    assert {r["flag"] for r in records} == {"N"}, records
    assert not (tmp_path / "state").exists()


async def test_template_ascii_instruments_polled_and_pushing_behind_dtus(
    services: Services, tmp_path: Path
) -> None:
    """Template ASCII over DTUs: a polled SPL/1 sensor behind one DTU (StreamLine.exchange) and a Vaisala
    WXT520 pushing its records behind another (StreamLine.listen), both on pty lines the DTUs bridge."""
    listener = free_port()
    sim = _sim(
        tmp_path,
        f'[[lines]]\nname = "spl"\nprotocol = "template"\nlink = "{tmp_path / "spl"}"\n'
        f'[[lines]]\nname = "met"\nprotocol = "template"\nlink = "{tmp_path / "met"}"\nperiod = 0.2\n'
        '[[devices]]\nname = "spl"\nstation = "it-edge"\ntemplate = "spl1-water-five"\ntransport = "serial"\n'
        'line = "spl"\nunit = 3\nseed = 3\n'
        '[[devices]]\nname = "wxt"\nstation = "it-edge"\ntemplate = "vaisala-wxt520-auto"\n'
        'transport = "serial"\nline = "met"\nunit = 1\nseed = 1\n'
        + _dtu("dtu-a", listener, IMEI_A, line="spl")
        + _dtu("dtu-b", listener, IMEI_B, line="met"),
    )
    devices = [
        {**_device("spl", IMEI_A, 3, protocol="ascii_template"), "template": "spl1-water-five"},
        {**_device("wxt", IMEI_B, 1, protocol="ascii_template"), "template": "vaisala-wxt520-auto"},
    ]
    for entry in devices:
        del entry["profile"]
    cfg = edge_config(tmp_path, services.mosquitto.port, devices, dtu={"host": "127.0.0.1", "port": listener})
    probe = Probe(services.mosquitto.port, client_id="probe-dtu-template")
    async with serving(sim), probe, running(run(cfg)):
        for device in ("spl", "wxt"):
            await probe.wait_for(4, 30, device)
            while _flags(probe.of(device)[-1]) != {"N"}:
                await probe.wait_for(len(probe.of(device)) + 1, 10, device)
    assert 6 < probe.of("spl")[-1]["readings"]["ph"]["value"] < 9
    assert probe.of("wxt")[-1]["readings"]
