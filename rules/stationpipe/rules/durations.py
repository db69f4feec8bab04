"""Durations in rule files: ``"90s"``, ``"15m"``, ``"4h"``, ``"1d"``, ``"1h30m"`` or a number of seconds.

They become :class:`datetime.timedelta` (never negative), so every rule compares instants, not floats.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated

from pydantic import BeforeValidator

_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)")
_LONGEST = 100 * 365.25 * 86400.0  # seconds; timedelta itself overflows near 2.7 million years
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}


def parse_duration(value: object) -> timedelta:
    """``"1h30m"`` -> 5400 s; numbers are seconds; ``ValueError`` for anything else or a negative span."""
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    elif isinstance(value, str) and value.strip():
        text = value.strip().replace(" ", "")
        parts = _PART.findall(text)
        if "".join(n + u for n, u in parts) != text:
            raise ValueError(f"{value!r} is not a duration (e.g. 90s, 15m, 4h, 1d, 1h30m)")
        seconds = sum(float(n) * _UNITS[u] for n, u in parts)
    else:
        raise ValueError(f"{value!r} is not a duration (e.g. 90s, 15m, 4h, 1d, 1h30m)")
    if seconds < 0:
        raise ValueError("a duration must not be negative")
    if not seconds <= _LONGEST:  # also NaN and infinity
        raise ValueError(f"{value!r} is longer than any rule needs (at most 100 years)")
    return timedelta(seconds=seconds)


#: A configured span of time; accepts ``"15m"``-style strings or seconds.
Duration = Annotated[timedelta, BeforeValidator(parse_duration)]
