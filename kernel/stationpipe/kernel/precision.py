"""Values as the instrument meant them (docs/design.md#values): the shortest decimal of a float32, and
float64 arithmetic noise taken off scaled or converted values (:func:`clean`).

Every function returns a float whose ``repr`` is the decimal meant (``7.594095``, ``0.3``), so each
path that writes a number with Python's shortest round-trip ``repr`` (the wire's JSON, line protocol,
HJ 212's ``format_number``, ``--test``) writes the same short text without doing anything itself.
"""

from __future__ import annotations

import contextlib
import math
import struct
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_EVEN, Decimal

_F32 = struct.Struct("<f")
_pack, _unpack = _F32.pack, _F32.unpack
_log10, _floor, _frexp, _isfinite = math.log10, math.floor, math.frexp, math.isfinite
FLT_MIN = 1.1754943508222875e-38  # the smallest normal float32
FLT_DIG = 6  # every decimal of 6 significant digits survives float32 -> decimal -> float32 (C's FLT_DIG)


def float32_shortest(x: float) -> float:
    """The float64 nearest the shortest decimal that reads back as the float32 ``x`` (``x`` holds a
    float32 value, as a float32 register decodes): 7.594095230102539 -> 7.594095, 0.10000000149011612
    -> 0.1. Zeros, NaN and infinities come back as they are.

    ``round(x, d)`` at 7 significant digits, then 6 if 7 read back, else 8, then 9: reading back is
    monotonic in the digits, so two tries find the shortest (three for 9 digits). No decimal shorter than
    six digits reads back unless six digits do, trailing zeros dropped (FLT_DIG); and the nearest decimal
    of ``d`` places reads back if any does, except beside a power of two, where the float32 below is
    nearer than the one above: there, and for subnormals, beyond six digits the exact search decides.
    """
    if x == 0.0 or not _isfinite(x):
        return x
    mag = abs(x)
    if mag < FLT_MIN:
        return _exact_shortest(x)
    places = FLT_DIG - _floor(_log10(mag))  # seven significant digits: most readings need 7 or 8
    try:
        y = round(x, places)
        if _unpack(_pack(y))[0] == x:
            six = round(x, places - 1)
            return six if _unpack(_pack(six))[0] == x else y
        if _frexp(mag)[0] != 0.5:
            for d in (places + 1, places + 2):
                y = round(x, d)
                if _unpack(_pack(y))[0] == x:
                    return y
    except OverflowError:  # a decimal beyond the largest float32
        pass
    return _exact_shortest(x)


def _exact_shortest(x: float) -> float:
    """The slow, exact search: for 1..9 significant digits, the nearest decimal, then the one below and
    the one above, the first that reads back as ``x``. Returns ``x`` when it is not a float32 value."""
    exact = Decimal(x)
    for digits in range(1, 10):
        quantum = Decimal(1).scaleb(exact.adjusted() - digits + 1)
        for rounding in (ROUND_HALF_EVEN, ROUND_FLOOR, ROUND_CEILING):
            y = float(exact.quantize(quantum, rounding=rounding))
            with contextlib.suppress(OverflowError):  # a decimal beyond the largest float32
                if _unpack(_pack(y))[0] == x:
                    return y
    return x


def is_float32(x: float) -> bool:
    """True when the float ``x`` is exactly a float32 value (or NaN, or an infinity)."""
    try:
        return not _isfinite(x) or _unpack(_pack(x))[0] == x
    except OverflowError:
        return False


def clean(x: float) -> float:
    """``x`` at 15 significant digits (C's DBL_DIG: every such decimal survives float64): the noise of
    float64 arithmetic dropped (3 * 0.1 -> 0.3, 7.594095 * 0.001 -> 0.007594095), any decimal of up to
    15 digits kept exactly."""
    if not _isfinite(x):
        return x
    y = float(f"{x:.15g}")
    return y if _isfinite(y) else x  # 1.7976931348623157e308 would round up past the largest float


def decimals(x: float) -> int:
    """Decimal places of the shortest ``repr`` of ``x``: 7.594095 -> 6, 120.0 -> 0, 1e-07 -> 7."""
    text = repr(abs(x))
    mantissa, _, exponent = text.partition("e")
    fraction = mantissa.partition(".")[2]
    places = 0 if fraction == "0" else len(fraction)
    return max(0, places - int(exponent or 0))
