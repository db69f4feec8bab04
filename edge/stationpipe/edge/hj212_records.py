"""What the edge reports upstream in HJ 212 (pure): real-time uploads (2011) of each poll, and
interval records (2051 minute, 2061 hourly) with Avg/Min/Max over the valid (N) values of each period.

A period's record is made when the first reading of a later period arrives (readings come in time
order from one agent). A parameter with no valid value in a period is reported with the most frequent
flag of its readings and no Avg. Parameters without an HJ 212 code are not reported. The records are the
same in both editions; the output's wire (``outputs/hj212_wire.py``) makes the 2017 or 2025 frame.

Rtd, Min and Max are the readings' values as published on MQTT (docs/design.md#values); Avg is rounded
to the most decimals among its values, and to at least six.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime

from stationpipe.hj212 import CpArea, DataSegment, FactorValue, make_qn, utc_to_cst
from stationpipe.kernel.catalogue import CATALOGUE
from stationpipe.kernel.precision import decimals
from stationpipe.kernel.reading import Flag, Reading


def _code(parameter: str) -> str | None:
    row = CATALOGUE.get(parameter)
    return row.hj212 if row else None


def realtime(readings: list[Reading], st: str, mn: str, pw: str, now: datetime) -> DataSegment | None:
    """The 2011 upload of one poll (``None`` when nothing in it has an HJ 212 code)."""
    factors = []
    for r in readings:
        code = _code(r.parameter)
        if code is not None:
            factors.append(FactorValue(code, rtd=r.value, flag=r.flag.value))
    if not factors:
        return None
    at = utc_to_cst(min(r.ts for r in readings)).replace(microsecond=0)
    return DataSegment(
        st, "2011", qn=make_qn(now), pw=pw, mn=mn, flag=5, cp=CpArea(data_time=at, factors=tuple(factors))
    )


_AVG_PLACES = 6  # the fewest decimals an Avg is given


@dataclass
class _Stats:
    values: list[float] = field(default_factory=list)
    flags: Counter[str] = field(default_factory=Counter)

    def add(self, reading: Reading) -> None:
        self.flags[reading.flag.value] += 1
        if reading.flag is Flag.N and reading.value is not None:
            self.values.append(reading.value)

    def factor(self, code: str) -> FactorValue:
        if not self.values:
            return FactorValue(code, flag=self.flags.most_common(1)[0][0])
        avg = math.fsum(self.values) / len(self.values)
        places = max(_AVG_PLACES, *map(decimals, self.values))
        return FactorValue(code, avg=round(avg, places), min=min(self.values), max=max(self.values), flag="N")


@dataclass
class Aggregator:
    """Collects readings into fixed periods of ``seconds`` and yields the records of finished periods."""

    cn: str
    seconds: float
    st: str
    mn: str
    pw: str
    _start: float | None = None
    _stats: dict[str, _Stats] = field(default_factory=lambda: defaultdict(_Stats))

    def _period(self, ts: datetime) -> float:
        return math.floor(ts.timestamp() / self.seconds) * self.seconds

    def add(self, readings: list[Reading], now: datetime) -> list[DataSegment]:
        """Take one poll's readings; return the records of the periods they close."""
        out: list[DataSegment] = []
        for r in readings:
            code = _code(r.parameter)
            if code is None:
                continue
            period = self._period(r.ts)
            if self._start is not None and period > self._start:
                out.extend(self._close(now))
            if self._start is None or period > self._start:
                self._start = period
            self._stats[code].add(r)
        return out

    def _close(self, now: datetime) -> list[DataSegment]:
        if self._start is None or not self._stats:
            return []
        at = utc_to_cst(datetime.fromtimestamp(self._start, UTC))
        factors = tuple(stats.factor(code) for code, stats in sorted(self._stats.items()))
        self._stats.clear()
        return [
            DataSegment(
                self.st,
                self.cn,
                qn=make_qn(now),
                pw=self.pw,
                mn=self.mn,
                flag=5,
                cp=CpArea(data_time=at, factors=factors),
            )
        ]
