"""Rolling aggregates in fixed-width time bins: the series state of the average and background kinds.

A bin is ``[start epoch s, n, sum, sum of squares]`` of the valid values whose time falls in it. Keeping
sums rather than values bounds the state to ``span / width`` bins whatever the sampling rate, and still
gives the exact mean and sample standard deviation of every value in the kept bins. A window keeps the
bins that start at or after ``now - span``: its edge moves in steps of one bin width.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

#: ``[start, n, sum, sum of squares]`` (JSON-able).
Bin = list[float]


@dataclass(frozen=True, slots=True)
class Stats:
    """Count, mean and sample standard deviation (0 with fewer than two values)."""

    n: int
    mean: float
    sd: float


def add(bins: list[Bin], ts: float, value: float, width: float) -> None:
    """Count ``value`` at epoch ``ts`` in its bin (readings arrive in time order, so usually the last)."""
    start = math.floor(ts / width) * width
    target = next((b for b in reversed(bins) if b[0] == start), None)
    if target is None:
        late = bool(bins) and bins[-1][0] > start
        bins.append([start, 1.0, value, value * value])
        if late:
            bins.sort(key=lambda b: b[0])
        return
    target[1] += 1
    target[2] += value
    target[3] += value * value


def trim(bins: list[Bin], now: float, span: float) -> list[Bin]:
    """The bins that start at or after ``now - span``."""
    return [b for b in bins if b[0] >= now - span]


def stats(bins: list[Bin]) -> Stats:
    """Statistics of every value counted in ``bins``."""
    n = sum(b[1] for b in bins)
    if n == 0:
        return Stats(0, math.nan, 0.0)
    total = sum(b[2] for b in bins)
    mean = total / n
    if n < 2:  # a sample standard deviation needs two values
        return Stats(int(n), mean, 0.0)
    squares = sum(b[3] for b in bins)
    variance = max(0.0, (squares - total * total / n) / (n - 1))
    return Stats(int(n), mean, math.sqrt(variance))
