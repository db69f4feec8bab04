"""The thinnest real path, as real processes: Modbus TCP simulator -> edge agent -> Mosquitto ->
collector -> InfluxDB. What InfluxDB returns must be exactly what the simulator served, at the read
instant (UTC), flagged N: each float32 register as float32's shortest decimal (docs/design.md#values),
which reads back as the very float32 served."""

from __future__ import annotations

import json
import struct
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from stationpipe.kernel.precision import clean, float32_shortest
from stationpipe.kernel.registermap import DataType, Profile, from_registers, load_profile
from stationpipe.testbed.pipeline import Pipeline, SimStation
from stationpipe.testbed.services import Services

pytestmark = pytest.mark.integration
POLLS = 3
PARAMS = {"temp", "ph", "do", "cond", "turb", "codmn", "nh3n", "tp", "tn"}


def _wait_for_polls(services: Services, station: str, polls: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = services.influx.query(
            f"SELECT count(flag) FROM readings WHERE station = '{station}' GROUP BY parameter"
        )
        if len(rows) == len(PARAMS) and all(r["values"][0][1] >= polls for r in rows):
            return
        time.sleep(0.2)  # polling the database with a deadline
    pytest.fail(f"fewer than {polls} polls of every parameter reached InfluxDB within {timeout} s")


def _served(journal: Path) -> list[dict[str, Any]]:
    entries = [json.loads(line) for line in journal.read_text().splitlines()]
    for e in entries:
        e["at"] = datetime.fromisoformat(e["ts"])
    return entries


def _expected(entry: dict[str, Any], profile: Profile, parameter: str) -> float:
    point = next(p for p in profile.points if p.parameter == parameter)
    offset = profile.pdu_address(point.address) - entry["address"]
    raw = from_registers(entry["registers"][offset : offset + point.words], point.type, point.order)
    if point.type is DataType.FLOAT32:
        short = float32_shortest(raw)
        assert struct.pack(">f", short) == struct.pack(">f", raw), (parameter, raw, short)
        raw = short
    if (point.scale, point.offset) == (1.0, 0.0):
        return raw
    return clean(raw * point.scale + point.offset)


def test_influx_holds_exactly_what_the_simulator_served(services: Services, tmp_path: Path) -> None:
    station = SimStation("it-thin-01", "II", seed=5)
    journal = tmp_path / "served.jsonl"
    with Pipeline(services, [station], interval=1.0, journal=journal) as pipe:
        _wait_for_polls(services, station.id, POLLS, timeout=30)
        codes = pipe.stop()
    assert codes == {"sim": 0, "collector": 0, f"edge-{station.id}": 0}, codes

    profiles = {
        1: load_profile("water_five"),
        2: load_profile("water_nutrients"),
    }
    unit_of = {p.parameter: unit for unit, prof in profiles.items() for p in prof.points}
    served = _served(journal)
    rows = services.influx.query(
        f"SELECT value, flag, parameter FROM readings WHERE station = '{station.id}'"
    )[0]
    checked = 0
    for ts_ns, value, flag, parameter in rows["values"]:
        read_at = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=ts_ns // 1000)
        assert ts_ns % 1000 == 0
        unit = unit_of[parameter]
        # the request the edge stamped at read_at is the first one served to that unit after it
        entry = min((e for e in served if e["unit"] == unit and e["at"] >= read_at), key=lambda e: e["at"])
        assert entry["at"] - read_at < timedelta(seconds=0.5), (parameter, read_at, entry["at"])
        assert value == _expected(entry, profiles[unit], parameter), parameter
        assert flag == "N"
        checked += 1
    assert checked >= POLLS * len(PARAMS)
    assert {r[3] for r in rows["values"]} == PARAMS
