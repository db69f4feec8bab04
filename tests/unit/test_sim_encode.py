"""Encoding what an instrument shows: units, scale, NaN and sentinels, clipping, status words."""

from __future__ import annotations

import math

import pytest

from stationpipe.kernel.reading import Flag
from stationpipe.kernel.registermap import (
    DataType,
    Order,
    Point,
    Profile,
    RegisterType,
    StatusBit,
    from_registers,
)
from stationpipe.kernel.units import convert
from stationpipe.simulators.encode import point_registers, span, status_words


def point(**kw: object) -> Point:
    return Point.model_validate({"parameter": "do", "address": 0, "unit": "mg/L", **kw})


@pytest.mark.parametrize(
    ("kw", "value", "raw"),
    [
        ({"type": "float32", "order": "CDAB"}, 8.25, 8.25),
        ({"type": "int16", "scale": 0.001}, 8.25, 8250),
        ({"type": "int16", "scale": 0.001}, 40.0, 32767),  # clipped to the type
        ({"type": "uint16", "scale": 0.01}, -1.0, 0),
        ({"type": "int32", "scale": 0.1, "offset": 1.0}, 8.3, 73),
    ],
)
def test_values_encode_to_raw(kw: dict[str, object], value: float, raw: float) -> None:
    p = point(**kw)
    assert from_registers(point_registers(p, value), p.type, p.order) == raw


@pytest.mark.parametrize(
    ("kw", "words"),
    [
        ({"type": "float32"}, [0xFFFF, 0xFFFF]),
        ({"type": "float64", "order": "DCBA"}, [0xFFFF] * 4),
        ({"type": "int16", "sentinels": [-32768]}, [0x8000]),
        ({"type": "int16"}, [0x8000]),
        ({"type": "uint16", "sentinels": [65535]}, [0xFFFF]),
        ({"type": "float32", "sentinels": [-9999.0]}, [0xC61C, 0x3C00]),
    ],
)
def test_unavailable_is_nan_or_the_sentinel(kw: dict[str, object], words: list[int]) -> None:
    p = point(**kw)
    assert point_registers(p, math.nan) == words
    if p.sentinels or p.type in {DataType.FLOAT32, DataType.FLOAT64}:  # else the profile must name one
        assert p.is_unavailable(from_registers(words, p.type, p.order))


@pytest.mark.parametrize(
    ("parameter", "value", "unit", "expected"),
    [
        ("so2", 2.6186, "ppb", 1.0),  # 64.066 / 24.465 ug/m3 per ppb
        ("no2", 188.05, "ppb", 100.0),
        ("o3", 1.962, "ppb", 1.0),
        ("co", 1.1449, "ppb", 1000.0),  # CO in mg/m3
        ("co", 1.1449, "ppm", 1.0),
        ("pm25", 35.0, "ug/m3", 35.0),
        ("co", 1.5, "ug/m3", 1500.0),
    ],
)
def test_unit_conversion_at_the_reference_state(
    parameter: str, value: float, unit: str, expected: float
) -> None:
    assert convert(parameter, value, unit) == pytest.approx(expected, rel=1e-3)


def test_impossible_units_are_refused() -> None:
    with pytest.raises(ValueError, match="cannot convert nh3n"):
        convert("nh3n", 1.0, "ppb")


def test_status_words_and_span() -> None:
    profile = Profile(
        name="p",
        address_base=1,
        points=(point(address=1, register="input"),),
        status=(
            StatusBit(register="input", address=11, bit=0, flag=Flag.D),
            StatusBit(register="input", address=11, bit=2, flag=Flag.M),
        ),
    )
    assert status_words(profile, ()) == {(RegisterType.INPUT, 10): 0}
    assert status_words(profile, {Flag.M}) == {(RegisterType.INPUT, 10): 0b100}
    assert status_words(profile, {Flag.M, Flag.D, Flag.C}) == {(RegisterType.INPUT, 10): 0b101}
    assert span(profile, RegisterType.INPUT) == (0, 11)
    assert span(profile, RegisterType.HOLDING) is None
    assert DataType.FLOAT32.words == 2
    assert Order.ABCD


def test_the_edge_publishes_gases_in_the_catalogue_unit() -> None:
    from datetime import UTC, datetime  # noqa: PLC0415 - local to this one check

    from stationpipe.edge.decode import point_reading  # noqa: PLC0415
    from stationpipe.kernel.registermap import Point  # noqa: PLC0415

    co = Point.model_validate({"parameter": "co", "address": 0, "unit": "ppb", "range": [0, 50_000]})
    at = datetime(2026, 11, 22, tzinfo=UTC)
    reading = point_reading(co, 1000.0, "a1", at)
    # 1000 ppb CO at 298.15 K, 1013.25 hPa: 28.0101 g/mol / 24.465 L/mol = 1.145 mg/m3; the range is in ppb
    assert (reading.unit, round(reading.value or 0, 3), reading.flag.value) == ("mg/m3", 1.145, "N")
    assert convert("co", reading.value or 0, "ppb") == pytest.approx(1000.0)
