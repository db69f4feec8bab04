"""AQI level on hourly means (air stations), with the HJ 633 version chosen by configuration or by date.

Readings are bucketed per minute within the hour (a bucket counts ``sample_minutes``); when the first
reading of a later hour arrives the hour closes: each pollutant with >= 45 minutes of valid data gets its
mean, the AQI of those means is published (``derived/<station>/aqi``) and judged: warning level 1..4 for
AQI 101-150, 151-200, 201-300, > 300. At the close of a China day the daily AQI (24 h means, O3 8 h max) is
published as ``derived/<station>/aqi_daily`` with ``good`` = 1 when AQI <= 100 (优良天).

Series state: ``{"hour": epoch s, "b": {param: {minute: [sum, n]}}, "day": ordinal, "h": {param: [means]}}``.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

from stationpipe.kernel.catalogue import Kind as StationKind
from stationpipe.kernel.messages import Derived
from stationpipe.kernel.reading import Reading
from stationpipe.kernel.registry import StationInfo
from stationpipe.rules.kinds.base import Outcome, Series, active, epoch, quiet
from stationpipe.rules.rule_models import AqiRule
from stationpipe.standards.aqi import POLLUTANTS, aqi_of, o3_8h_max
from stationpipe.standards.common import CHINA_TZ, china_date, china_day_start
from stationpipe.standards.hj633 import AqiStandard, standard_for

MIN_MINUTES = 45
MIN_HOURS_DAY = 20
_HOUR = 3600


class AqiKind:
    """Hourly AQI per air station and its warning level."""

    def __init__(self, rule: AqiRule) -> None:
        self.rule = rule
        self.name = rule.name

    def watches(self, info: StationInfo, parameter: str) -> bool:
        """Air stations, the six AQI pollutants."""
        return info.kind is StationKind.AIR and parameter in POLLUTANTS

    def instance(self, reading: Reading) -> str:  # noqa: ARG002 - the protocol's signature
        """One instance per station: the AQI."""
        return "aqi"

    def standard(self, ts: datetime) -> AqiStandard:
        """The configured HJ 633 version, or the one in force at ``ts``."""
        return standard_for(ts) if self.rule.standard == "by-date" else self.rule.standard

    def evaluate(self, info: StationInfo, reading: Reading, series: Series) -> Outcome | None:
        """``None`` inside an hour; the closed hour's level when a later hour begins."""
        now = epoch(reading.ts)
        hour = now - now % _HOUR
        current = series.get("hour")
        outcome: Outcome | None = None
        if current is not None and hour < current:
            return None  # late for an hour already closed
        if current is not None and hour > current:
            outcome = self._close(info, series, current)
            series["b"] = {}
        series["hour"] = hour
        if reading.flag.valid and reading.value is not None:
            minute = str(int((now - hour) // 60))
            bucket = series.setdefault("b", {}).setdefault(reading.parameter, {}).setdefault(minute, [0.0, 0])
            bucket[0] += reading.value
            bucket[1] += 1
        return outcome

    def _means(self, buckets: dict[str, dict[str, list[float]]]) -> dict[str, float]:
        means = {}
        for param, minutes in buckets.items():
            if len(minutes) * self.rule.sample_minutes >= MIN_MINUTES:
                means[param] = math.fsum(s / n for s, n in minutes.values()) / len(minutes)
        return means

    def _close(self, info: StationInfo, series: Series, hour: float) -> Outcome:
        start = datetime.fromtimestamp(hour, UTC)
        means = self._means(series.get("b", {}))
        derived = self._day(info, series, start, means)
        if not means:
            return quiet(derived=derived)
        result = aqi_of(means, self.standard(start))
        values: dict[str, float | int | str | tuple[str, ...]] = {
            "aqi": result.aqi,
            "level": result.level.number,
            "primary": ",".join(result.primary),
        }
        derived = (Derived(info.id, "aqi", start, values), *derived)
        level = max(result.level.number - 2, 0)
        if level == 0:
            return quiet(result.aqi, 100, derived=derived)
        lv = result.level
        primary = ",".join(result.primary) or "-"
        local = start.astimezone(CHINA_TZ).strftime("%m-%d %H:00")
        return active(
            level,
            result.aqi,
            100,
            f"{local} AQI {result.aqi} {lv.grade_zh}{lv.category_zh}, 首要污染物 {primary}",
            f"{local} AQI {result.aqi} {lv.category_en}, primary pollutant {primary}",
            derived=derived,
        )

    def _day(
        self, info: StationInfo, series: Series, start: datetime, means: dict[str, float]
    ) -> tuple[Derived, ...]:
        """Keep the hour's means by China day; at a day change publish the finished day's AQI."""
        day = china_date(start).toordinal()
        out: tuple[Derived, ...] = ()
        if series.get("day") not in {None, day}:
            out = self._daily(info, series)
            series["h"] = {}
        series["day"] = day
        hourly = series.setdefault("h", {})
        slot = int((start - china_day_start(china_date(start))).total_seconds() // _HOUR)
        for param in POLLUTANTS:
            column = hourly.setdefault(param, [None] * 24)
            column[slot] = means.get(param)
        return out

    def _daily(self, info: StationInfo, series: Series) -> tuple[Derived, ...]:
        day = datetime.fromordinal(series["day"]).date()
        daily: dict[str, float] = {}
        for param, column in series.get("h", {}).items():
            present = [v for v in column if v is not None]
            if param == "o3":
                best = o3_8h_max(column)
                if best is not None:
                    daily[param] = best
            elif len(present) >= MIN_HOURS_DAY:
                daily[param] = math.fsum(present) / len(present)
        if not daily:
            return ()
        result = aqi_of(daily, self.standard(china_day_start(day)), daily=True)
        values: dict[str, float | int | str | tuple[str, ...]] = {
            "aqi": result.aqi,
            "level": result.level.number,
            "good": int(result.aqi <= 100),
            "complete": int(result.complete),
        }
        return (Derived(info.id, "aqi_daily", china_day_start(day), values),)
