"""A float32 register leaves the edge as float32's shortest decimal, and a scaled one at its scale's
decimals, the same on every path: the MQTT payload, HJ 212 Rtd/Min/Max, and ``--test``."""

from __future__ import annotations

import json
import struct
from datetime import UTC, datetime

from rich.console import Console

from stationpipe.edge.decode import decode_request, plan_requests
from stationpipe.edge.hj212_records import Aggregator, realtime
from stationpipe.edge.oneshot import Outcome, json_lines, table
from stationpipe.hj212 import encode
from stationpipe.kernel import wire
from stationpipe.kernel.reading import Flag, Reading, StationMessage
from stationpipe.kernel.registermap import DataType, Order, Point, Profile, to_registers
from stationpipe.kernel.units import convert

TS = datetime(2026, 12, 7, 4, 0, tzinfo=UTC)
READ = struct.unpack(">f", struct.pack(">f", 7.594095))[0]  # 7.594095230102539, what the register holds


def _decode(*points: Point, registers: list[int]) -> dict[str, float | None]:
    profile = Profile(name="t", points=points)
    (req,) = plan_requests(profile, 10)
    return {r.parameter: r.value for r in decode_request(profile, req, registers, "s1", TS)}


def _readings(ph: float, do: float = 0.3, ts: datetime = TS) -> list[Reading]:
    return [Reading("s1", "ph", ph, "pH", ts, Flag.N), Reading("s1", "do", do, "mg/L", ts, Flag.N)]


def test_a_float32_register_decodes_to_its_shortest_decimal() -> None:
    assert repr(READ) == "7.594095230102539"
    values = _decode(
        Point(parameter="ph", address=0, type=DataType.FLOAT32, unit="pH"),
        Point(parameter="do", address=2, type=DataType.FLOAT32, order=Order.CDAB, unit="mg/L"),
        registers=to_registers(READ, DataType.FLOAT32, Order.ABCD)
        + to_registers(0.1, DataType.FLOAT32, Order.CDAB),
    )
    assert (repr(values["ph"]), repr(values["do"])) == ("7.594095", "0.1")


def test_a_float32_sentinel_matches_written_short_or_in_full() -> None:
    full = struct.unpack(">f", struct.pack(">f", -9999.9))[0]  # -9999.900390625
    values = _decode(
        Point(parameter="ph", address=0, sentinels=(-9999.9,), unit="pH"),
        Point(parameter="do", address=2, sentinels=(full,), unit="mg/L"),
        Point(parameter="temp", address=4, sentinels=(3.4028235e38,), unit="degC"),
        registers=[w for _ in range(2) for w in to_registers(full, DataType.FLOAT32, Order.ABCD)]
        + to_registers(3.4028234663852886e38, DataType.FLOAT32, Order.ABCD),
    )
    assert values == {"ph": None, "do": None, "temp": None}


def test_scaled_and_offset_registers_come_out_at_their_decimals() -> None:
    values = _decode(
        Point(parameter="do", address=0, type=DataType.INT16, scale=0.1, unit="mg/L"),
        Point(parameter="temp", address=1, type=DataType.INT16, scale=0.01, offset=-10.0, unit="degC"),
        Point(parameter="ph", address=2, type=DataType.FLOAT32, scale=0.001, unit="pH"),
        registers=[3, 2345, *to_registers(READ * 1000, DataType.FLOAT32, Order.ABCD)],
    )
    assert (repr(values["do"]), repr(values["temp"]), repr(values["ph"])) == ("0.3", "13.45", "7.594095")


def test_a_converted_value_has_no_noise_and_converts_back() -> None:
    values = _decode(
        Point(parameter="so2", address=0, type=DataType.FLOAT32, unit="ppb"),
        registers=to_registers(12.3, DataType.FLOAT32, Order.ABCD),
    )
    so2 = values["so2"]
    assert so2 is not None
    assert so2 == float(f"{so2:.15g}")
    assert abs(convert("so2", so2, "ppb") - 12.3) < 1e-12


def test_the_mqtt_payload_carries_the_short_decimal() -> None:
    (value,) = _decode(
        Point(parameter="ph", address=0, unit="pH"),
        registers=to_registers(READ, DataType.FLOAT32, Order.ABCD),
    ).values()
    assert value is not None
    _, payload = wire.encode(StationMessage("s1", "sonde", 1, TS, tuple(_readings(value))))
    assert b'"ph":{"value":7.594095,' in payload


def test_hj212_rtd_min_and_max_are_the_published_values() -> None:
    segment = realtime(_readings(7.594095, 1e-07), "21", "MN1", "pw", TS)
    assert segment is not None
    frame = encode(segment).decode()
    assert "w01001-Rtd=7.594095" in frame
    assert "w01009-Rtd=0.0000001" in frame  # not rounded away at six decimals
    agg = Aggregator("2051", 60.0, "21", "MN1", "pw")
    agg.add(_readings(7.594095, 1e-07), TS)
    agg.add(_readings(7.594097, 3e-07), TS)
    (record,) = agg.add(_readings(7.0, ts=TS.replace(minute=1)), TS)
    by_code = {f.code: f for f in record.cp.factors}
    ph, do = by_code["w01001"], by_code["w01009"]
    assert (ph.avg, ph.min, ph.max) == (7.594096, 7.594095, 7.594097)
    assert (do.avg, do.min, do.max) == (2e-07, 1e-07, 3e-07)


def test_test_mode_prints_the_short_decimal_in_json_and_the_table() -> None:
    outcome = Outcome("sonde", _readings(7.594095))
    (line, _) = json_lines([outcome])
    assert '"value": 7.594095' in line
    assert json.loads(line)["value"] == 7.594095
    console = Console(record=True, width=200)
    console.print(table([outcome]))
    text = console.export_text()
    assert "7.594095" in text
    assert " 0.3 " in text
