"""Quality-control checks a simulated analyser runs on its own schedule, shown in its profile's QC blocks.

A pure function of time, like the station model: a zero check every ``zero_span_every`` seconds, a span
check ``span_offset`` later, and a standard-sample check every ``standard_every`` seconds, ``standard_offset``
into its period; every ``fail_every``-th standard-sample check (counted from the epoch) fails by
``fail_error`` %. Periods are in simulated time: ``time_factor`` simulated seconds pass per real second
(8640: a day in ten seconds), so a test sees a week's checks in a minute.

The block shows the latest check (of any kind) of its parameter, as analysers show their last QC result.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import NamedTuple

from pydantic import Field

from stationpipe.kernel.config import Model
from stationpipe.kernel.qc import QcCheck
from stationpipe.kernel.registermap import DataType, Profile, QcBlock, to_registers
from stationpipe.kernel.units import convert

_DAY = 86_400.0


class QcSchedule(Model):
    """When a simulated analyser checks itself (simulated seconds; see the module docstring)."""

    time_factor: float = Field(default=1.0, gt=0, description="simulated seconds per real second")
    zero_span_every: float = Field(default=_DAY, gt=0)
    span_offset: float = Field(default=_DAY / 4, ge=0, description="span check after the zero check")
    standard_every: float = Field(default=7 * _DAY, gt=0)
    standard_offset: float = Field(default=_DAY / 2, ge=0)
    fail_every: int = Field(default=5, ge=0, description="every N-th standard-sample check fails; 0: none")
    fail_error: float = Field(default=15.0, description="relative error of a failing check, %")


class Check(NamedTuple):
    """One check as the analyser shows it, values in the catalogue's unit."""

    check: QcCheck
    ts: datetime
    standard: float
    measured: float


def _latest(period: float, offset: float, now: float) -> tuple[int, float]:
    """The index and simulated instant of the latest ``k * period + offset`` at or before ``now``."""
    k = math.floor((now - offset) / period)
    return k, k * period + offset


def latest_check(schedule: QcSchedule, full_scale: float, at: datetime) -> Check | None:
    """The latest check at ``at`` (real time) of a parameter measured up to ``full_scale``."""
    f = schedule.time_factor
    now = at.timestamp() * f
    _, zero = _latest(schedule.zero_span_every, 0.0, now)
    _, span = _latest(schedule.zero_span_every, schedule.span_offset, now)
    k, standard = _latest(schedule.standard_every, schedule.standard_offset, now)
    latest = max(zero, span, standard)
    ts = datetime.fromtimestamp(math.floor(latest / f), UTC)  # the registers hold whole seconds
    if latest == standard:
        value = 0.2 * full_scale
        fails = schedule.fail_every and k % schedule.fail_every == 0
        error = schedule.fail_error if fails else 1.5 * math.sin(k)  # a passing check errs a little
        return Check(QcCheck.STANDARD, ts, value, value * (1 + error / 100))
    if latest == span:
        value = 0.8 * full_scale
        return Check(QcCheck.SPAN, ts, value, value * 1.02)
    return Check(QcCheck.ZERO, ts, 0.0, 0.004 * full_scale)


def block_registers(profile: Profile, block: QcBlock, shown: Check | None) -> dict[int, list[int]]:
    """The block's registers by PDU address (all zero before the first check)."""
    code = next((c for c, kind in block.codes.items() if shown is not None and kind is shown.check), 0)
    out = {profile.pdu_address(block.check): [code]}
    stamp = int(shown.ts.timestamp()) if shown is not None else 0
    out[profile.pdu_address(block.time)] = to_registers(stamp, DataType.UINT32, block.order)
    for address, value in (
        (block.standard, shown and shown.standard),
        (block.measured, shown and shown.measured),
    ):
        raw = convert(block.parameter, value, block.unit) if value else 0.0
        out[profile.pdu_address(address)] = to_registers(raw, DataType.FLOAT32, block.order)
    return out
