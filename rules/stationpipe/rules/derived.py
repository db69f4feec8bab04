"""Derived results for the collector to store: water class per station, daily capture rate, headline figures.

- ``derived/<station>/water_class``: ``class`` (int 1-6), ``worst`` (str, items at that class, comma-joined),
  ``exceed`` (items missing the target class) — published when that result changes;
- ``derived/<station>/capture``: ``rate`` (%), ``valid``, ``expected``, ``day`` — once per China day, when
  the station's first reading of a later day is evaluated; expected = parameters seen that day x slots of
  ``capture_interval``; valid = distinct (parameter, slot) pairs with a valid reading;
- ``derived/<aggregate>/headline``: ``sections``, ``share_iii_or_better`` (%), ``worse_than_v`` (int),
  ``worse_than_v_ids``, ``air_days``, ``good_air_days``, ``share_good_air_days`` (%, this China year).
  ``<aggregate>`` is ``_province`` (``_province.p<i>`` for partition i of several: counts add up).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from stationpipe.kernel.catalogue import Kind
from stationpipe.kernel.messages import Derived
from stationpipe.kernel.reading import Reading
from stationpipe.kernel.registry import StationInfo, WaterBody, WaterClass
from stationpipe.rules.kinds.base import VALID
from stationpipe.standards import gb3838
from stationpipe.standards.common import china_date, china_day_start
from stationpipe.standards.gb3838_section import summarise_values


@dataclass
class WaterClassTracker:
    """Latest valid value of each evaluated item per station, and the class last published."""

    values: dict[str, dict[str, float]] = field(default_factory=dict)
    classes: dict[str, dict[str, int]] = field(default_factory=dict)
    published: dict[str, int] = field(default_factory=dict)

    def update(self, info: StationInfo, reading: Reading) -> bool:
        """Take one reading; True when an item's class changed (a new result to publish)."""
        if (
            info.target_class is None
            or reading.value is None
            or reading.flag is not VALID
            or reading.parameter not in gb3838.EVALUATED
        ):
            return False
        body = info.water_body or WaterBody.RIVER
        values, classes = self.values.get(info.id), self.classes.get(info.id)
        if values is None:
            values = self.values[info.id] = {}
        values[reading.parameter] = reading.value
        cls = gb3838.classify(reading.parameter, reading.value, body)
        if classes is None:
            classes = self.classes[info.id] = {}
        changed = classes.get(reading.parameter) != cls
        classes[reading.parameter] = cls
        return changed

    def result(self, info: StationInfo, ts: datetime) -> Derived:
        """The station's current ``water_class`` record (at reading time ``ts``)."""
        assert info.target_class is not None
        res = summarise_values(self.values[info.id], info.target_class, info.water_body or WaterBody.RIVER)
        self.published[info.id] = res.water_class.value
        values: dict[str, Any] = {
            "class": res.water_class.value,
            "worst": ",".join(res.worst),
            "exceed": res.exceed,
        }
        return Derived(info.id, "water_class", ts, values)


class _Day:
    """One station's China day being counted: distinct (parameter, slot) pairs with a valid reading, and
    the parameters seen (sets: only their sizes are published)."""

    __slots__ = ("day", "end", "seen", "start", "valid")

    def __init__(self, day: int, start: float) -> None:
        self.day, self.start, self.end = day, start, start + 86400
        self.valid: set[tuple[str, int]] = set()
        self.seen: set[str] = set()


@dataclass
class CaptureTracker:
    """Per station: the China day being counted, valid (parameter, slot) pairs, parameters seen."""

    days: dict[str, _Day] = field(default_factory=dict)

    def update(self, info: StationInfo, reading: Reading, interval_s: float) -> Derived | None:
        """Count one reading; at a day change return the finished day's capture record."""
        state = self.days.get(info.id)
        epoch = reading.ts.timestamp()
        if state is not None and state.start <= epoch < state.end:
            self._count(state, reading, epoch, interval_s)
            return None
        day = china_date(reading.ts)
        start = china_day_start(day)
        out = None
        if state is not None and state.day < day.toordinal():
            out = self._finish(info, state, interval_s)
        if state is None or state.day != day.toordinal():
            if state is not None and state.day > day.toordinal():
                return None  # late for a finished day
            state = self.days[info.id] = _Day(day.toordinal(), start.timestamp())
        self._count(state, reading, epoch, interval_s)
        return out

    @staticmethod
    def _count(state: _Day, reading: Reading, epoch: float, interval_s: float) -> None:
        state.seen.add(reading.parameter)
        if reading.flag is VALID and reading.value is not None:
            state.valid.add((reading.parameter, int((epoch - state.start) // interval_s)))

    @staticmethod
    def _finish(info: StationInfo, state: _Day, interval_s: float) -> Derived:
        day = datetime.fromordinal(state.day).date()
        expected = len(state.seen) * max(round(86400 / interval_s), 1)
        valid = len(state.valid)
        values: dict[str, Any] = {
            "rate": round(100.0 * min(valid, expected) / expected, 2) if expected else 0.0,
            "valid": valid,
            "expected": expected,
            "day": day.isoformat(),
        }
        return Derived(info.id, "capture", china_day_start(day), values)


@dataclass
class Headline:
    """Registry-wide figures; air days are counted per China year from the daily AQI records."""

    station: str
    year: int = 0
    air_days: int = 0
    good_days: int = 0

    def count_day(self, record: Derived) -> None:
        """Count one ``aqi_daily`` record (``good`` = 1 for AQI <= 100)."""
        year = china_date(record.ts).year
        if year != self.year:
            self.year, self.air_days, self.good_days = year, 0, 0
        self.air_days += 1
        self.good_days += int(record.values.get("good", 0) == 1)

    def record(self, stations: tuple[StationInfo, ...], classes: dict[str, int], ts: datetime) -> Derived:
        """The headline record at wall-clock ``ts`` for the water sections classed so far."""
        water = [s.id for s in stations if s.kind is Kind.WATER and s.id in classes]
        good = sum(1 for s in water if classes[s] <= WaterClass.III)
        worse = tuple(s for s in water if classes[s] == WaterClass.WORSE_THAN_V)
        values: dict[str, Any] = {
            "sections": len(water),
            "share_iii_or_better": round(100.0 * good / len(water), 2) if water else 0.0,
            "worse_than_v": len(worse),
            "worse_than_v_ids": worse,
            "air_days": self.air_days,
            "good_air_days": self.good_days,
            "share_good_air_days": round(100.0 * self.good_days / self.air_days, 2) if self.air_days else 0.0,
        }
        return Derived(self.station, "headline", ts, values)
