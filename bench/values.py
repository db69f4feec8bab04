"""What publishing values as the instrument meant them costs per value, in process (docs/design.md#values).

Times, per value, over float32s like an analyser's (uniform in [0.01, 1000), read back as float32):
``precision.float32_shortest``; the plain search it replaces (``'%.*g'`` for 1..9 digits until the
float32 reads back); ``precision.clean`` on int16 × 0.1; and ``decode_request`` per float32 point of a
50-point request, with and without the shortest-decimal step. Each figure is the median of ``--repeat``.

    .venv/bin/python -m bench.values [--values 20000] [--repeat 7]
    .venv/bin/python -m bench.values --smoke
"""

from __future__ import annotations

import argparse
import contextlib
import random
import statistics
import struct
import time
from collections.abc import Callable
from datetime import UTC, datetime
from unittest.mock import patch

from bench import smoke
from stationpipe.edge import decode
from stationpipe.edge.decode import decode_request, plan_requests
from stationpipe.kernel.catalogue import CATALOGUE
from stationpipe.kernel.precision import clean, float32_shortest
from stationpipe.kernel.registermap import DataType, Order, Point, Profile, to_registers

SMOKE = {"values": 500, "repeat": 1}
_F32 = struct.Struct("<f")


def _f32(x: float) -> float:
    return float(_F32.unpack(_F32.pack(x))[0])


def digit_search(x: float) -> float:
    """The straightforward search: 1..9 significant digits with ``'%.*g'`` until one reads back."""
    for digits in range(1, 10):
        y = float("%.*g" % (digits, x))  # noqa: UP031 - the '*' precision has no f-string form
        if _f32(y) == x:
            return y
    return x


def _per_value(fn: Callable[[float], float], values: list[float], repeat: int) -> float:
    """Median seconds per call of ``fn`` over ``values``."""
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        for v in values:
            fn(v)
        runs.append((time.perf_counter() - start) / len(values))
    return statistics.median(runs)


def _identity(x: float) -> float:
    return x


def _per_point(repeat: int, rounds: int, *, shortest: bool) -> float:
    """Median seconds per point of ``decode_request`` on a 50-point float32 request."""
    codes = list(CATALOGUE)[:50]
    points = tuple(Point(parameter=c, address=2 * i, unit=CATALOGUE[c].unit) for i, c in enumerate(codes))
    profile = Profile(name="bench", points=points)
    (req,) = plan_requests(profile, 0)
    registers = [
        w for i in range(50) for w in to_registers(7.594095 + 1.0137 * i, DataType.FLOAT32, Order.ABCD)
    ]
    ts = datetime.now(UTC)
    keep = patch.object(decode, "float32_shortest", new=_identity)  # before: the float64 expansion
    with contextlib.nullcontext() if shortest else keep:
        runs = []
        for _ in range(repeat):
            start = time.perf_counter()
            for _ in range(rounds):
                decode_request(profile, req, registers, "bench", ts)
            runs.append((time.perf_counter() - start) / (rounds * 50))
    return statistics.median(runs)


def main() -> None:
    """Measure and print the report."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--values", type=int, default=20000)
    ap.add_argument("--repeat", type=int, default=7)
    args = smoke.parse(ap, SMOKE)
    rng = random.Random(21)
    floats = [_f32(rng.uniform(0.01, 1000.0)) for _ in range(args.values)]
    scaled = [rng.randint(-32768, 32767) * 0.1 for _ in range(args.values)]
    shortest = _per_value(float32_shortest, floats, args.repeat)
    search = _per_value(digit_search, floats, args.repeat)
    rounds = max(1, args.values // 50)
    plain = _per_point(args.repeat, rounds, shortest=False)
    short = _per_point(args.repeat, rounds, shortest=True)
    print(f"float32_shortest        {shortest * 1e6:6.2f} us/value")
    print(
        f"'%.*g' digit search     {search * 1e6:6.2f} us/value  ({search / shortest:.1f}x float32_shortest)"
    )
    print(f"clean (int16 x 0.1)     {_per_value(clean, scaled, args.repeat) * 1e6:6.2f} us/value")
    print(f"decode_request, before  {plain * 1e6:6.2f} us/point (float64 expansion)")
    print(
        f"decode_request, after   {short * 1e6:6.2f} us/point (shortest decimal), ratio {short / plain:.2f}"
    )


if __name__ == "__main__":
    main()
