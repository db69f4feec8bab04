"""Register codec (word and byte orders) and edge decoding: tables and properties."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stationpipe.edge.decode import MAX_REGISTERS, decode_point, decode_request, plan_requests
from stationpipe.kernel.catalogue import CATALOGUE
from stationpipe.kernel.reading import Flag
from stationpipe.kernel.registermap import DataType, Order, Point, Profile, from_registers, to_registers

F32, I16 = DataType.FLOAT32, DataType.INT16


@pytest.mark.parametrize(
    ("value", "dtype", "order", "words"),
    [
        (1.0, F32, Order.ABCD, [0x3F80, 0x0000]),
        (1.0, F32, Order.CDAB, [0x0000, 0x3F80]),
        (1.0, F32, Order.BADC, [0x803F, 0x0000]),
        (1.0, F32, Order.DCBA, [0x0000, 0x803F]),
        (-2.5, F32, Order.ABCD, [0xC020, 0x0000]),
        (0x12345678, DataType.UINT32, Order.ABCD, [0x1234, 0x5678]),
        (0x12345678, DataType.UINT32, Order.CDAB, [0x5678, 0x1234]),
        (0x12345678, DataType.UINT32, Order.BADC, [0x3412, 0x7856]),
        (0x12345678, DataType.UINT32, Order.DCBA, [0x7856, 0x3412]),
        (-1, I16, Order.ABCD, [0xFFFF]),
        (0x1234, DataType.UINT16, Order.BADC, [0x3412]),
        (1.0, DataType.FLOAT64, Order.ABCD, [0x3FF0, 0, 0, 0]),
        (1.0, DataType.FLOAT64, Order.CDAB, [0, 0, 0, 0x3FF0]),
    ],
)
def test_known_vectors(value: float, dtype: DataType, order: Order, words: list[int]) -> None:
    assert to_registers(value, dtype, order) == words
    assert from_registers(words, dtype, order) == value


_RANGES = {
    DataType.INT16: (-(2**15), 2**15 - 1),
    DataType.UINT16: (0, 2**16 - 1),
    DataType.INT32: (-(2**31), 2**31 - 1),
    DataType.UINT32: (0, 2**32 - 1),
}


@given(st.sampled_from(DataType), st.sampled_from(Order), st.data())
def test_round_trip_every_type_and_order(dtype: DataType, order: Order, data: st.DataObject) -> None:
    if dtype in _RANGES:
        value: float = data.draw(st.integers(*_RANGES[dtype]))
    else:
        value = data.draw(st.floats(width=32 if dtype is F32 else 64, allow_nan=False))
    words = to_registers(value, dtype, order)
    assert len(words) == dtype.words
    assert all(0 <= w <= 0xFFFF for w in words)
    assert from_registers(words, dtype, order) == value


def test_nan_registers_decode_to_nan_and_are_unavailable() -> None:
    point = Point(parameter="do", address=0, unit="mg/L")
    raw = from_registers([0xFFFF, 0xFFFF], F32, Order.ABCD)
    assert math.isnan(raw)
    assert point.is_unavailable(raw)


TS = datetime(2026, 11, 22, tzinfo=UTC)


@pytest.mark.parametrize(
    ("point", "raw", "value", "flag"),
    [
        (Point(parameter="do", address=0, type=I16, scale=0.001, unit="mg/L"), 8123, 8.123, Flag.N),
        (Point(parameter="temp", address=0, type=I16, scale=0.01, unit="degC"), -150, -1.5, Flag.N),
        (Point(parameter="ph", address=0, unit="pH", range=(0, 14)), 14.5, 14.5, Flag.T),
        (Point(parameter="ph", address=0, unit="pH", offset=-1.0), 8.0, 7.0, Flag.N),
        (
            Point(parameter="nh3n", address=0, type=I16, unit="mg/L", sentinels=(-32768,)),
            -32768,
            None,
            Flag.D,
        ),
        (Point(parameter="nh3n", address=0, unit="mg/L"), math.nan, None, Flag.D),
    ],
)
def test_decode_point(point: Point, raw: float, value: float | None, flag: Flag) -> None:
    reading = decode_point(point, raw, "s1", TS)
    assert reading.flag is flag
    assert reading.value == (pytest.approx(value) if value is not None else None)
    assert reading.ts == TS


def _profile(*addresses: int, base: int = 0) -> Profile:
    codes = ["temp", "ph", "do", "cond", "turb", "codmn", "nh3n", "tp", "tn", "chla"]
    return Profile(
        name="t",
        address_base=base,
        points=tuple(
            Point(parameter=codes[i], address=a, unit=CATALOGUE[codes[i]].unit)
            for i, a in enumerate(addresses)
        ),
    )


@pytest.mark.parametrize(
    ("addresses", "gap", "expected"),
    [
        ((0, 2, 4), 0, [(0, 6)]),
        ((0, 2, 10), 4, [(0, 4), (10, 2)]),
        ((0, 2, 8), 4, [(0, 10)]),
        ((0, 200), 100, [(0, 2), (200, 2)]),  # one read may not exceed 125 registers
        ((0, 122), 200, [(0, 124)]),
        ((0, 124), 200, [(0, 2), (124, 2)]),
    ],
)
def test_plan_coalesces_within_gap_and_limit(
    addresses: tuple[int, ...], gap: int, expected: list[tuple[int, int]]
) -> None:
    plan = plan_requests(_profile(*addresses), gap)
    assert [(r.address, r.count) for r in plan] == expected
    assert all(r.count <= MAX_REGISTERS for r in plan)


def test_one_based_profiles_read_the_pdu_address() -> None:
    profile = _profile(1, 3, base=1)
    (req,) = plan_requests(profile, 0)
    assert (req.address, req.count) == (0, 4)
    regs = to_registers(7.5, F32, Order.ABCD) + to_registers(6.25, F32, Order.ABCD)
    assert [r.value for r in decode_request(profile, req, regs, "s", TS)] == [7.5, 6.25]


def test_one_request_per_point_escape_hatch() -> None:
    plan = plan_requests(_profile(0, 2, 4), 10, one_per_point=True)
    assert [(r.address, r.count) for r in plan] == [(0, 2), (2, 2), (4, 2)]


def test_coils_and_discrete_inputs_read_as_bits() -> None:
    profile = Profile(
        name="bits",
        points=(
            Point(parameter="ph", register="coil", address=3, unit="pH"),
            Point(parameter="do", register="discrete", address=0, unit="mg/L"),
            Point(parameter="temp", register="discrete", address=5, unit="degC"),
        ),
    )
    coils, discrete = plan_requests(profile, 4)
    assert (coils.table.value, coils.address, coils.count) == ("coil", 3, 1)
    assert (discrete.address, discrete.count) == (0, 6)
    assert [r.value for r in decode_request(profile, discrete, [1, 0, 0, 0, 0, 0], "s", TS)] == [1.0, 0.0]
