"""Instruments answering badly, against the real edge agent: Modbus exception codes from a real pymodbus
server, and line noise and broken frames on serial lines (pseudo-terminals) for the RTU and the SPL/1
drivers. The affected points are flagged B (no value), each device's trouble is logged once with its
reason, healthy neighbours keep reporting N, and the agent stays up and recovers when the answers do.
"""

from __future__ import annotations

import asyncio
import logging
import random
from pathlib import Path

import pytest

from stationpipe.edge.agent import run
from stationpipe.kernel.nmea0183 import frame
from stationpipe.testbed.faulty_devices import (
    exception_server,
    rtu_exception,
    rtu_reply,
    scripted_line,
    spl_reply,
)
from stationpipe.testbed.modbus import Image
from stationpipe.testbed.services import Services, free_port
from tests.integration.edge_helpers import Probe, edge_config, running, write_toml_profile

pytestmark = [pytest.mark.integration, pytest.mark.timeout(90)]
#: Modbus exception codes a device may answer (Modbus Application Protocol v1.1b3, section 7).
CODES = (1, 2, 3, 4, 5, 6, 10, 11)
PH = 725  # pH 7.25 as int16 x 0.01


def _ph_profile(tmp_path: Path) -> Path:
    points = [
        {"parameter": "ph", "address": 0, "unit": "pH", "type": "int16", "scale": 0.01, "range": [0, 14]}
    ]
    return write_toml_profile(tmp_path / "ph.toml", points)


def _flags(probe: Probe, device: str) -> set[str]:
    return {p["flag"] for m in probe.of(device) for p in m["readings"].values()}


async def test_modbus_exception_codes_flag_points_b_and_the_agent_goes_on(
    services: Services, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="stationpipe.edge.poller")
    port, profile = free_port(), _ph_profile(tmp_path)
    units: dict[int, int | Image] = {code: code for code in CODES}
    units[20] = Image(holding=[PH])
    devices = [
        {
            "name": f"unit-{unit}",
            "profile": str(profile),
            "interval": 0.3,
            "timeout": 0.5,
            "transport": {"host": "127.0.0.1", "port": port, "unit": unit},
        }
        for unit in units
    ]
    probe = Probe(services.mosquitto.port, station="fz-exc", client_id="probe-fz-exc")
    cfg = edge_config(tmp_path, services.mosquitto.port, devices, station="fz-exc")
    async with exception_server(port, units), probe, running(run(cfg)):  # a crash would surface here
        for device in (f"unit-{unit}" for unit in units):
            await probe.wait_for(3, 30, device)
    for code in CODES:
        readings = [p for m in probe.of(f"unit-{code}") for p in m["readings"].values()]
        assert {(p["flag"], p["value"]) for p in readings} == {("B", None)}, code
        assert f"device unit-{code} unavailable (backing off): " in caplog.text
        assert f"unit {code}: exception code {code}" in caplog.text
    assert _flags(probe, "unit-20") == {"N"}
    assert probe.of("unit-20")[-1]["readings"]["ph"]["value"] == pytest.approx(7.25)


def _rtu_noise(rng: random.Random, request: bytes) -> bytes:
    unit, function = request[0], request[1]
    good = rtu_reply(unit, function, [PH])
    return rng.choice(
        [
            rng.randbytes(rng.randrange(1, 64)),
            good[:-1] + bytes([good[-1] ^ 0xFF]),  # CRC broken
            good[: rng.randrange(1, len(good) - 1)],  # cut short
            rtu_reply(unit + 1, function, [PH]),  # another unit answers
            rtu_reply(unit, function, [PH, PH, PH]),  # wrong length
            rtu_exception(unit, function, rng.choice(CODES)),  # a well-formed exception
            b"",  # silence
        ]
    )


#: An SPL/1 sensor with one value, as an inline template (SPL/1 is a template now, not a protocol).
SPL_PH = {
    "name": "spl1-ph",
    "source": "the SPL/1 example template, cut to one value",
    "request": "${unit},RD*{checksum}\r\n",
    "pattern": r"\$(?P<unit>\d+),RD,ph=(?P<ph>[^,*]*),FL=(?P<status>[A-Z])\*(?P<checksum>[0-9A-Fa-f]{2})",
    "address": "unit",
    "error": r"\$(?P<unit>\d+),ER,E?(?P<code>[^*]*)\*[0-9A-Fa-f]{2}",
    "record": "${unit},RD,ph={ph:.2f},FL={status}*{checksum}",
    "checksum": {"kind": "xor", "start": 1, "gap": 1},
    "status": {"flags": {"N": "N", "D": "D", "C": "C", "M": "M"}},
    "fields": [{"group": "ph", "parameter": "ph", "unit": "pH"}],
}


def _spl_noise(rng: random.Random, request: bytes) -> bytes:
    good = frame("3,RD,ph=7.25,FL=N")
    return rng.choice(
        [
            rng.randbytes(rng.randrange(1, 64)) + b"\n",
            good.replace(b"7.25", b"7.35"),  # checksum no longer matches
            good[:6] + bytes([rng.randrange(0x80, 0x100)]) + good[6:],  # a high byte inside the frame
            frame("4,RD,ph=7.25,FL=N"),  # another sensor
            frame("3,ER,E4"),  # instrument exception
            frame("3,RD,ph=abc,FL=N"),
            b"$3,RD,ph=7.25" + b"\n",  # no checksum
        ]
    )


async def test_garbage_on_serial_lines_flags_b_then_recovers(
    services: Services, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="stationpipe.edge.poller")
    rng, noisy = random.Random(7), {"on": True}

    def rtu(request: bytes) -> bytes:
        return _rtu_noise(rng, request) if noisy["on"] else rtu_reply(request[0], request[1], [PH])

    def spl(request: bytes) -> bytes:
        return _spl_noise(rng, request) if noisy["on"] else spl_reply("3,RD,ph=7.25,FL=N")

    profile = str(_ph_profile(tmp_path))
    probe = Probe(services.mosquitto.port, station="fz-serial", client_id="probe-fz-serial")
    async with (
        scripted_line(rtu, lambda buf: len(buf) >= 8) as rtu_path,
        scripted_line(spl, lambda buf: buf.endswith(b"\n")) as spl_path,
    ):
        devices = [
            {
                "name": "rtu",
                "profile": profile,
                "interval": 0.3,
                "timeout": 0.3,
                "transport": {"type": "rtu", "port": rtu_path, "unit": 1, "baudrate": 19200},
            },
            {
                "name": "spl",
                "template": SPL_PH,
                "interval": 0.3,
                "timeout": 0.3,
                "protocol": "ascii_template",
                "link": {"type": "serial", "port": spl_path},
                "unit": 3,
            },
        ]
        cfg = edge_config(tmp_path, services.mosquitto.port, devices, station="fz-serial")
        async with probe, running(run(cfg)):
            for device in ("rtu", "spl"):
                await probe.wait_for(6, 30, device)
            noisy["on"] = False
            for device in ("rtu", "spl"):
                seen = len(probe.of(device))
                await probe.wait_for(seen + 1, 30, device)
                async with asyncio.timeout(40):
                    while probe.of(device)[-1]["readings"]["ph"]["flag"] != "N":
                        await probe.wait_for(len(probe.of(device)) + 1, 30, device)
    for device in ("rtu", "spl"):
        flags = [m["readings"]["ph"]["flag"] for m in probe.of(device)]
        assert set(flags) <= {"B", "N"}, flags
        assert "B" in flags[:6], flags  # the noise was noticed
        assert flags[-1] == "N"  # and the device came back
        assert probe.of(device)[-1]["readings"]["ph"]["value"] == pytest.approx(7.25)
        assert f"device {device} unavailable (backing off)" in caplog.text
        assert f"device {device} available: answering again" in caplog.text
