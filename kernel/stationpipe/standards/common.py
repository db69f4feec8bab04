"""Small helpers shared by the standards modules: exact decimal arithmetic and the China calendar day.

Why decimals: a user types ``nh3n=1.3`` and the table says 1.0; ``(1.3 - 1.0) / 1.0`` in binary floating
point is ``0.30000000000000004``. Converting each float through its shortest ``repr`` gives back the
decimal the person (or the instrument's text protocol) wrote, so the arithmetic is the arithmetic on paper.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from enum import StrEnum


class Period(StrEnum):
    """Averaging period of an air concentration."""

    H1 = "1h"
    H8 = "8h"
    H24 = "24h"
    ANNUAL = "annual"


#: China Standard Time (UTC+8, no daylight saving): the standards' calendar.
CHINA_TZ = timezone(timedelta(hours=8), "CST")


def exact(value: float) -> Decimal:
    """The decimal a float was written as (its shortest ``repr``); ``ValueError`` when not finite."""
    if not math.isfinite(value):
        raise ValueError(f"value must be finite, got {value!r}")
    return Decimal(repr(float(value)))


def check_concentration(value: float, what: str) -> None:
    """Raise ``ValueError`` naming ``what`` unless ``value`` is a finite number >= 0."""
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{what}: concentration must be a finite number >= 0, got {value!r}")


def exceedance_multiple(value: float, limit: float) -> float | None:
    """超标倍数 ``(C - limit) / limit`` for an upper limit, computed exactly; ``None`` when C <= limit.

    The result is the float nearest the exact decimal quotient, so ``(1.3, 1.0)`` gives ``0.3``.
    """
    if value <= limit:
        return None
    c, lim = exact(value), exact(limit)
    return float((c - lim) / lim)


def shortfall(value: float, minimum: float) -> float | None:
    """How far ``value`` is below a lower limit (``minimum - value``, exact); ``None`` when it meets it."""
    if value >= minimum:
        return None
    return float(exact(minimum) - exact(value))


def china_date(when: date | datetime) -> date:
    """The calendar date in China of ``when`` (a date is returned as is; a datetime must be aware)."""
    if isinstance(when, datetime):
        if when.tzinfo is None:
            raise ValueError(f"datetime must be timezone-aware, got {when!r}")
        return when.astimezone(CHINA_TZ).date()
    return when


def china_day_start(day: date) -> datetime:
    """The UTC instant the natural day ``day`` starts in China (00:00 CST = 16:00 UTC the day before)."""
    return datetime(day.year, day.month, day.day, tzinfo=CHINA_TZ).astimezone(UTC)


@dataclass(frozen=True, slots=True)
class Share:
    """``part`` of ``whole`` and the share in percent (``None`` when ``whole`` is 0)."""

    part: int
    whole: int

    @property
    def percent(self) -> float | None:
        """part / whole x 100 %."""
        return None if not self.whole else 100.0 * self.part / self.whole
