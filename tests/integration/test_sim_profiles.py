"""Every profile, served over Modbus TCP, decodes to the intended engineering values through pymodbus'
own client (``convert_from_registers``), not our edge code: the model's value at the served instant,
in the profile's unit, within the resolution of the register type."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from pymodbus.client import AsyncModbusTcpClient

from stationpipe.kernel.config import load
from stationpipe.kernel.registermap import Order, Point, Profile, RegisterType, load_profile
from stationpipe.kernel.registry import WaterClass
from stationpipe.kernel.units import convert
from stationpipe.simulators.config import SimConfig
from stationpipe.simulators.encode import span
from stationpipe.simulators.harness import serving
from stationpipe.simulators.model import StationModel
from stationpipe.testbed.services import free_port

pytestmark = [pytest.mark.integration, pytest.mark.timeout(30)]
DT = AsyncModbusTcpClient.DATATYPE


def _config(tmp_path: Path, profile: str, port: int) -> SimConfig:
    path = tmp_path / "sim.toml"
    path.write_text(
        f'kind = "sim"\n[[devices]]\nname = "dev"\nstation = "st"\nprofile = "{profile}"\n'
        f'port = {port}\nunit = 7\nseed = 11\nwater_class = "III"\nair_level = 1.3\n'
    )
    return load(path, SimConfig)


def _decode(client: AsyncModbusTcpClient, point: Point, words: list[int]) -> float:
    assert point.order in {Order.ABCD, Order.CDAB}  # what pymodbus' word_order can express
    raw = client.convert_from_registers(
        words, DT[point.type.name], word_order="little" if point.order is Order.CDAB else "big"
    )
    assert isinstance(raw, int | float)
    return raw * point.scale + point.offset


async def _read(client: AsyncModbusTcpClient, profile: Profile, table: RegisterType) -> list[int]:
    bounds = span(profile, table)
    assert bounds is not None
    read = client.read_holding_registers if table is RegisterType.HOLDING else client.read_input_registers
    resp = await read(bounds[0], count=bounds[1] - bounds[0], device_id=7)
    assert not resp.isError(), resp
    return list(resp.registers)


@pytest.mark.parametrize(
    "name",
    ["water_five", "water_nutrients", "water_sonde_int16", "water_algae", "air_station", "weather_station"],
)
async def test_profile_decodes_to_the_model_values(tmp_path: Path, name: str) -> None:
    port = free_port()
    profile = load_profile(name)
    model = StationModel.typical(WaterClass.III, 11, 1.3)
    served: list[dict[str, Any]] = []
    async with serving(_config(tmp_path, name, port), served.append):
        client = AsyncModbusTcpClient("127.0.0.1", port=port, timeout=3)
        await client.connect()
        try:
            tables = {p.table for p in profile.points}
            words = {t: await _read(client, profile, t) for t in tables}
        finally:
            client.close()
    assert len(served) == len(tables)
    for point in profile.points:
        entry = next(e for e in served if e["table"] == point.table.value)
        start = span(profile, point.table)[0]  # type: ignore[index]
        at = datetime.fromisoformat(entry["ts"])
        offset = profile.pdu_address(point.address) - start
        got = _decode(client, point, words[point.table][offset : offset + point.words])
        want = convert(point.parameter, model.value(point.parameter, at), point.unit)
        tolerance = point.scale / 2 if point.type.name.startswith(("INT", "UINT")) else abs(want) * 1e-6
        assert got == pytest.approx(want, abs=tolerance), point.parameter
        assert point.range is None or point.range[0] <= got <= point.range[1], point.parameter
    status = list(profile.status)
    for sb in status:  # no scenario: every status bit is clear
        start = span(profile, RegisterType(sb.table))[0]  # type: ignore[index]
        assert not words[RegisterType(sb.table)][profile.pdu_address(sb.address) - start] & (1 << sb.bit)
