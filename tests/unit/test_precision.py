"""Values as the instrument meant them: float32's shortest decimal and float64 noise dropped, checked
against golden values and, for every float32 hypothesis draws, against the exact search."""

from __future__ import annotations

import math
import struct
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stationpipe.kernel.precision import (
    FLT_MIN,
    _exact_shortest,
    clean,
    decimals,
    float32_shortest,
    is_float32,
)


def f32(x: float) -> float:
    """The float32 nearest ``x``, as a Python float."""
    return float(struct.unpack("<f", struct.pack("<f", x))[0])


def bits(x: float) -> float:
    """The float32 whose bit pattern is ``x``."""
    return float(struct.unpack("<f", struct.pack("<I", int(x)))[0])


def digits(x: float) -> int:
    """Significant digits of ``repr(x)`` (``100.0`` has one, ``0.0025`` two)."""
    mantissa = repr(abs(x)).partition("e")[0]
    return len(mantissa.replace(".", "").strip("0")) or 1


GOLDEN = [  # (float32, repr of the published value); the right column is what Java's Float.toString and
    # numpy's float32 repr (shortest round trip) give for the same float32
    (f32(7.594095), "7.594095"),  # 7.594095230102539
    (7.594094753265381, "7.5940948"),  # issue 21's example is the float32 one below: 7.594095 is not it
    (f32(0.1), "0.1"),
    (f32(1e-7), "1e-07"),
    (f32(16777217.0), "16777216.0"),  # 2**24 + 1 is not a float32: it is read as 2**24
    (f32(16777218.0), "16777218.0"),
    (f32(3.3), "3.3"),
    (f32(-0.15625), "-0.15625"),
    (f32(123456.79), "123456.79"),
    (f32(2.0**-20), "9.536743e-07"),  # a power of two: the float32 below is nearer than the one above
    (f32(33554432.0), "33554432.0"),
    (3.4028234663852886e38, "3.4028235e+38"),  # the largest float32
    (FLT_MIN, "1.1754944e-38"),  # the smallest normal
    (bits(0x007FFFFF), "1.1754942e-38"),  # the largest subnormal
    (bits(1), "1e-45"),  # the smallest subnormal
    (bits(0x00000003), "4e-45"),
]


@pytest.mark.parametrize(("value", "text"), GOLDEN)
def test_golden_float32_values(value: float, text: str) -> None:
    out = float32_shortest(value)
    assert repr(out) == text
    assert f32(out) == value  # reads back as the same float32


def test_nan_infinities_and_zeros_are_kept() -> None:
    assert math.isnan(float32_shortest(math.nan))
    assert float32_shortest(math.inf) == math.inf
    assert float32_shortest(-math.inf) == -math.inf
    assert repr(float32_shortest(0.0)) == "0.0"
    assert repr(float32_shortest(-0.0)) == "-0.0"


@given(st.floats(width=32, allow_nan=False, allow_infinity=False))
def test_any_float32_reads_back_and_matches_the_exact_search(value: float) -> None:
    out = float32_shortest(value)
    assert struct.pack("<f", out) == struct.pack("<f", value)  # the same float32, sign of zero included
    assert out == _exact_shortest(value) or value == 0.0
    assert digits(out) <= 9


@given(st.integers(min_value=0, max_value=0xFFFFFFFF))
def test_every_bit_pattern_reads_back(pattern: int) -> None:
    value = bits(pattern)
    out = float32_shortest(value)
    if math.isnan(value):
        assert math.isnan(out)
        return
    assert struct.pack("<f", out) == struct.pack("<f", value)
    assert out == _exact_shortest(value) or value == 0.0


@given(st.floats(width=32, allow_nan=False, allow_infinity=False, min_value=2.0**-100, max_value=2.0**100))
def test_no_shorter_decimal_reads_back(value: float) -> None:
    out = float32_shortest(value)
    n = digits(out)
    if n == 1:
        return
    exact = Decimal(value)
    quantum = Decimal(1).scaleb(exact.adjusted() - n + 2)  # one digit fewer: the two neighbours
    for rounding in ("ROUND_FLOOR", "ROUND_CEILING"):
        assert f32(float(exact.quantize(quantum, rounding=rounding))) != value


def test_a_float64_that_is_not_a_float32_comes_back_unchanged() -> None:
    assert not is_float32(0.1)
    assert float32_shortest(0.1) == 0.1
    assert is_float32(f32(0.1))
    assert is_float32(math.nan)
    assert not is_float32(1e300)


def test_scaled_integers_come_out_at_the_scale_s_decimals() -> None:
    assert 3 * 0.1 == 0.30000000000000004
    assert clean(3 * 0.1) == 0.3
    for scale, places in ((0.1, 1), (0.01, 2), (0.001, 3), (0.0001, 4)):
        for raw in range(-32768, 32768, 97):
            assert clean(raw * scale) == float(Decimal(raw) * Decimal(repr(scale))), (raw, scale)
            assert decimals(clean(raw * scale)) <= places


def test_clean_keeps_what_has_no_noise_and_stays_finite() -> None:
    assert clean(f32(7.594095) * 0 + 7.594095) == 7.594095
    assert clean(7.594095 * 0.001) == 0.007594095
    assert clean(7.594095 + 273.15) == 280.744095
    assert clean(1.7976931348623157e308) == 1.7976931348623157e308
    assert math.isnan(clean(math.nan))
    assert clean(-math.inf) == -math.inf


@pytest.mark.parametrize(
    ("value", "places"),
    [(7.594095, 6), (120.0, 0), (1e-07, 7), (1.5e-07, 8), (-0.25, 2), (1e16, 0), (12345.5, 1)],
)
def test_decimals(value: float, places: int) -> None:
    assert decimals(value) == places
