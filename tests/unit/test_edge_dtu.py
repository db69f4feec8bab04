"""DTUs that dial in: registration and heartbeat rules, the listener's configuration, and the hub with raw
sockets standing in for DTUs (takeover, heartbeat replies, refusals, idle timeout, Modbus RTU frames)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from pymodbus.framer import FramerRTU
from pymodbus.pdu import DecodePDU, ExceptionResponse
from pymodbus.pdu.register_message import ReadHoldingRegistersResponse
from typer.testing import CliRunner

from stationpipe.cli import app
from stationpipe.edge.agent import build_drivers
from stationpipe.edge.config import EdgeConfig
from stationpipe.edge.drivers import DRIVERS
from stationpipe.edge.drivers.dtu import DtuListenerDriver, connection
from stationpipe.edge.drivers.modbus_stream import ModbusStreamDriver
from stationpipe.edge.dtu import Identified, Packet, Refused, Registration
from stationpipe.kernel.errors import DeviceChecksumError, DeviceExceptionError, DeviceOfflineError
from stationpipe.kernel.registermap import RegisterType
from stationpipe.simulators.config import SimConfig
from stationpipe.testbed.services import free_port

ROOT = Path(__file__).resolve().parents[2]
INT16 = "water_sonde_int16"
KNOWN = {"865000000000001", "dtu-7"}


def test_a_text_registration_is_the_id_itself() -> None:
    rule = Registration()
    assert rule.identify(b"dtu-7\r\n", KNOWN) == Identified("dtu-7")
    assert rule.identify(b"dtu", KNOWN) is None  # the start of a known id: wait for the rest
    assert rule.identify(b"dtu-8", KNOWN) == Refused("dtu-8")


def test_a_hex_registration_is_compared_as_hex_digits() -> None:
    rule = Registration(format="hex")
    known = {rule.normal("7e 01 a2 ff")}
    assert rule.identify(bytes.fromhex("7E01A2FF"), known) == Identified("7E01A2FF")
    assert rule.identify(bytes.fromhex("7E01"), known) is None
    assert isinstance(rule.identify(bytes.fromhex("7E02"), known), Refused)
    with pytest.raises(ValueError, match="not hex"):
        rule.normal("dtu-7")


def test_a_regex_registration_takes_its_id_group_and_keeps_what_follows() -> None:
    rule = Registration(format="regex", pattern=r"IMEI:(?P<id>\d{15})")
    assert rule.identify(b"IMEI:865000000000001\x01\x03", KNOWN) == Identified("865000000000001", b"\x01\x03")
    assert rule.identify(b"IMEI:8650", KNOWN) is None
    assert rule.identify(b"IMEI:865999999999999", KNOWN) == Refused("865999999999999")
    first_group = Registration(format="regex", pattern=r"^REG([\w-]+);")
    assert first_group.identify(b"REGdtu-7;", {"dtu-7"}) == Identified("dtu-7")
    with pytest.raises(ValidationError):
        Registration(format="regex")


def test_a_heartbeat_is_removed_at_a_packets_start_and_end_never_inside() -> None:
    beat = Packet(text="www.usr.cn")
    assert beat.strip(b"www.usr.cn") == (b"", 1)
    assert beat.strip(b"www.usr.cnwww.usr.cn\x01\x03") == (b"\x01\x03", 2)
    assert beat.strip(b"\x01\x03\x02www.usr.cn") == (b"\x01\x03\x02", 1)
    assert beat.strip(b"\x01www.usr.cn\x02") == (b"\x01www.usr.cn\x02", 0)
    by_regex = Packet(regex=r"HB\d{3}")
    assert by_regex.strip(b"HB001\x01\x03HB002") == (b"\x01\x03", 2)
    assert Packet(hex="FE FE").strip(b"\xfe\xfe\x01") == (b"\x01", 1)
    for bad in ({"hex": "FE"}, {"text": "x", "hex": "FEFE"}, {"regex": "("}, {}):
        with pytest.raises(ValidationError):
            Packet.model_validate(bad)


def _edge(tmp_path: Path, devices: list[dict[str, Any]], **dtu: Any) -> dict[str, Any]:
    return {
        "station": "s1",
        "state_dir": str(tmp_path),
        "mqtt": {"client_id": "edge-s1"},
        "devices": devices,
        **({"dtu": dtu} if dtu else {}),
    }


def _on(dtu_id: str, name: str, protocol: str = "modbus_rtu", unit: int = 1) -> dict[str, Any]:
    return {
        "name": name,
        "profile": str(INT16),
        "protocol": protocol,
        "link": {"type": "dtu", "id": dtu_id},
        "unit": unit,
        "timeout": 0.5,
    }


@pytest.mark.parametrize(
    ("devices", "dtu", "reason"),
    [
        ([_on("d1", "a")], {}, "add a \\[dtu\\] listener"),
        ([_on("d1", "a"), _on("d1", "b", "hessen")], {"port": 9000}, "one protocol per DTU"),
        ([_on("dtu1", "a")], {"port": 9000, "registration": {"format": "hex"}}, "not hex"),
        ([_on("d1", "a")], {"port": 9000, "heartbeat_reply": {"text": "OK"}}, "needs heartbeat"),
        ([_on("d1", "a", "modbus_tcp")], {"port": 9000}, "does not run over a dtu link"),
    ],
)
def test_dtu_configurations_that_cannot_work_are_refused(
    tmp_path: Path, devices: list[dict[str, Any]], dtu: dict[str, Any], reason: str
) -> None:
    with pytest.raises(ValidationError, match=reason):
        EdgeConfig.model_validate(_edge(tmp_path, devices, **dtu))


def test_check_accepts_the_dtu_examples() -> None:
    examples = [ROOT / "deploy/config/edge.dtu.example.toml", ROOT / "deploy/config/sim.dtu.example.toml"]
    result = CliRunner().invoke(app, ["check", *map(str, examples)])
    assert result.exit_code == 0, result.output
    assert result.output.count("ok ") == 2


def test_devices_on_dtus_make_one_line_per_dtu_and_the_listeners_line(tmp_path: Path) -> None:
    cfg = EdgeConfig.model_validate(
        _edge(tmp_path, [_on("d1", "a", unit=1), _on("d1", "b", unit=2), _on("d2", "c")], port=9000)
    )
    lines = cfg.lines()
    assert [ln.connection.line for ln in lines] == ["modbus_rtu+dtu://d1", "modbus_rtu+dtu://d2"]
    assert [len(ln.devices) for ln in lines] == [2, 1]
    kinds = [type(d).__name__ for d in build_drivers(cfg)]
    assert kinds == ["ModbusStreamDriver", "ModbusStreamDriver", "DtuListenerDriver"]
    assert cfg.dtu_ids() == ("d1", "d2")
    assert cfg.devices[0].connection.gap == 0.05


@contextlib.asynccontextmanager
async def _listening(tmp_path: Path, **dtu: Any) -> AsyncIterator[tuple[EdgeConfig, DtuListenerDriver]]:
    port = free_port()
    cfg = EdgeConfig.model_validate(
        _edge(tmp_path, [_on("d1", "a"), _on("d2", "b", unit=2)], host="127.0.0.1", port=port, **dtu)
    )
    driver = DtuListenerDriver(cfg)
    task = asyncio.create_task(driver.run())
    try:
        for _ in range(100):
            with contextlib.suppress(OSError):
                _, w = await asyncio.open_connection("127.0.0.1", port)
                w.close()
                break
            await asyncio.sleep(0.02)  # the listener's start-up, bounded by the loop
        yield cfg, driver
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _dial(cfg: EdgeConfig, registration: bytes) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    assert cfg.dtu is not None
    reader, writer = await asyncio.open_connection("127.0.0.1", cfg.dtu.port)
    writer.write(registration)
    await writer.drain()
    return reader, writer


async def _registered(dtu_id: str, writer: asyncio.StreamWriter | None = None) -> None:
    async with asyncio.timeout(5):
        while True:
            with contextlib.suppress(DeviceOfflineError):
                conn = connection(dtu_id)
                if writer is None or conn.peer.endswith(f":{writer.get_extra_info('sockname')[1]}"):
                    return
            await asyncio.sleep(0.01)  # registration is a callback on the loop: a few turns


async def test_a_dtu_that_dials_in_again_takes_its_line_over(tmp_path: Path) -> None:
    async with _listening(tmp_path) as (cfg, _):
        with pytest.raises(DeviceOfflineError, match="not connected"):
            connection("d1")
        old_r, _old_w = await _dial(cfg, b"d1")
        await _registered("d1")
        _, new_w = await _dial(cfg, b"d1")
        await _registered("d1", new_w)
        async with asyncio.timeout(5):
            assert await old_r.read() == b""  # the old connection is closed by the edge
        new_w.close()
        async with asyncio.timeout(5):
            while True:
                with contextlib.suppress(DeviceOfflineError):
                    connection("d1")
                    await asyncio.sleep(0.01)
                    continue
                break


async def test_heartbeats_are_answered_and_never_reach_a_reply(tmp_path: Path) -> None:
    beat = {"heartbeat": {"text": "HB"}, "heartbeat_reply": {"text": "ok"}}
    async with _listening(tmp_path, **beat) as (cfg, _):
        reader, writer = await _dial(cfg, b"d1")
        await _registered("d1")
        writer.write(b"HB")
        await writer.drain()
        async with asyncio.timeout(5):
            assert await reader.readexactly(2) == b"ok"
        conn = connection("d1")
        conn.send(b"ask")
        assert await reader.readexactly(3) == b"ask"
        writer.write(b"HBreply")
        await writer.drain()
        assert await conn.receive(2.0) == b"reply"
        assert conn.heartbeats == 2


async def test_unknown_and_late_registrations_are_refused(tmp_path: Path) -> None:
    async with _listening(tmp_path, register_timeout=0.3) as (cfg, driver):
        for _ in range(3):
            reader, _w = await _dial(cfg, b"intruder")
            async with asyncio.timeout(5):
                assert await reader.read() == b""
        reader, _w = await asyncio.open_connection("127.0.0.1", driver.hub.settings.port)
        async with asyncio.timeout(5):
            assert await reader.read() == b""  # nothing sent: closed after register_timeout
        assert driver.hub.refusals == 4


async def test_a_connection_silent_past_idle_timeout_is_closed(tmp_path: Path) -> None:
    async with _listening(tmp_path, idle_timeout=0.2) as (cfg, _):
        reader, _w = await _dial(cfg, b"d1")
        await _registered("d1")
        async with asyncio.timeout(5):
            assert await reader.read() == b""
        with pytest.raises(DeviceOfflineError):
            connection("d1")


def _reply(frame_of: Any) -> bytes:
    return FramerRTU(DecodePDU(is_server=True)).buildFrame(frame_of)


async def test_modbus_rtu_over_a_dtu_reads_registers_and_tells_crc_and_exception_replies(
    tmp_path: Path,
) -> None:
    async with _listening(tmp_path) as (cfg, _):
        reader, writer = await _dial(cfg, b"d2")
        await _registered("d2")
        line = next(ln for ln in cfg.lines() if ln.connection.line == "modbus_rtu+dtu://d2")
        driver = DRIVERS["modbus_rtu"](cfg, line)
        assert isinstance(driver, ModbusStreamDriver)
        good = _reply(ReadHoldingRegistersResponse(registers=[7, 8], dev_id=2))
        garbled = good[:-1] + bytes([good[-1] ^ 0xFF])
        refused = _reply(ExceptionResponse(3, 2, device_id=2))
        outcomes: list[object] = []
        for answer in (good, garbled, refused):
            read = asyncio.create_task(driver.read(RegisterType.HOLDING, 10, 2, 2, 1.0))
            request = await reader.readexactly(8)
            assert request[:2] == b"\x02\x03"
            writer.write(answer)
            await writer.drain()
            try:
                outcomes.append(await read)
            except (DeviceChecksumError, DeviceExceptionError) as exc:
                outcomes.append(type(exc))
        assert outcomes == [[7, 8], DeviceChecksumError, DeviceExceptionError]
        assert driver.requests == 3


@pytest.mark.parametrize(
    ("dtu", "reason"),
    [
        ({"port": 9000, "target_port": 5030}, "give registration"),
        ({"port": 9000, "registration": "x", "registration_hex": "FF", "target_port": 5030}, "not both"),
        ({"port": 9000, "registration": "x"}, "give line or target_port"),
        (
            {"port": 9000, "registration": "x", "target_port": 5030, "split_replies": True},
            "needs a heartbeat",
        ),
        ({"port": 9000, "registration": "x", "target_port": 5031}, "no rtu-tcp device is served"),
        ({"port": 9000, "registration": "x", "line": "nowhere"}, "is not in \\[\\[lines\\]\\]"),
    ],
)
def test_simulated_dtus_that_cannot_work_are_refused(dtu: dict[str, Any], reason: str) -> None:
    sim = {
        "devices": [
            {"name": "u1", "station": "s", "profile": str(INT16), "transport": "rtu-tcp", "port": 5030},
        ],
        "dtus": [{"name": "dtu-1", **dtu}],
    }
    with pytest.raises(ValidationError, match=reason):
        SimConfig.model_validate(sim)
