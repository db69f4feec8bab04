"""``stationpipe report stats``: the official statistics of a period from audited data, beside the raw.

Per water section: the monthly class (means of valid readings, single-factor, 《地表水环境质量评价办法》),
each day's class, capture; per drinking-water source: its evaluation against GB 3838 Tables 1-3; per air
station: counted days, good days, capture. Headline: the share at class III or better, the 劣Ⅴ sections,
the good-air-day share, the source compliance rate. Every figure twice: ``audited`` and ``raw``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from stationpipe.kernel.reading import Reading
from stationpipe.kernel.registry import WaterBody, WaterClass
from stationpipe.ops.report.data import Station
from stationpipe.ops.report.ranking_data import Period
from stationpipe.standards import gb3838
from stationpipe.standards.air_stats import AirRules, air_day, good_day_share, hourly_values
from stationpipe.standards.aqi import POLLUTANTS
from stationpipe.standards.common import Share
from stationpipe.standards.gb3838 import class_name
from stationpipe.standards.gb3838_source import SOURCE_LIMITS, compliance_rate, evaluate_source
from stationpipe.standards.water_stats import (
    Capture,
    capture,
    period_means,
    section_class,
    share_iii_or_better,
)

_DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Options:
    """Policy of the computation (docs/domain.md)."""

    rules: AirRules
    sample_minutes: int = 60
    water_interval: timedelta = timedelta(hours=4)
    min_values: int = 1


def _by_station(readings: Iterable[Reading]) -> dict[str, list[Reading]]:
    out: defaultdict[str, list[Reading]] = defaultdict(list)
    for r in readings:
        out[r.station].append(r)
    return out


def _days(period: Period) -> list[date]:
    return [period.start + timedelta(days=i) for i in range(period.days)]


def _pct(share: Share) -> float | None:
    value = share.percent
    return None if value is None else round(value, 2)


def _water(
    st: Station, mine: Sequence[Reading], period: Period, opts: Options, codes: set[str]
) -> dict[str, Any]:
    target, body = WaterClass(st.target or 3), WaterBody(st.water_body)
    start, end = period.utc(period.start), period.utc(period.end)
    month = section_class(period_means(mine, start, end, min_values=opts.min_values), target, body)
    daily: dict[str, str | None] = {}
    for day in _days(period):
        d0 = period.utc(day)
        result = section_class(period_means(mine, d0, d0 + _DAY, min_values=opts.min_values), target, body)
        daily[day.isoformat()] = None if result is None else class_name(result.water_class)
    cap = capture(mine, codes, start, end, opts.water_interval)
    out: dict[str, Any] = {
        "class": None if month is None else class_name(month.water_class),
        "class_number": None if month is None else int(month.water_class),
        "target": class_name(target),
        "meets_target": None if month is None else month.meets_target,
        "worst": [] if month is None else list(month.worst),
        "daily": daily,
        "capture": None if cap.percent is None else round(cap.percent, 2),
    }
    if st.drinking_source:
        source = evaluate_source(period_means(mine, start, end, min_values=opts.min_values), target, body)
        out["source"] = {
            "meets": source.meets,
            "evaluated": source.evaluated,
            "over": {code: round(m, 4) for code, m in source.over.items()},
            "checked": list(source.checked),
        }
    return out


def _air(mine: Sequence[Reading], period: Period, opts: Options, expected: set[str]) -> dict[str, Any]:
    """Counted and good days, the daily AQI, and capture: valid hourly values of the pollutants the station
    reported (raw) / (those pollutants x hours of the period)."""
    by_param: defaultdict[str, list[Reading]] = defaultdict(list)
    for r in mine:
        by_param[r.parameter].append(r)
    days = []
    valid_hours = 0
    aqi: dict[str, int | None] = {}
    for day in _days(period):
        d0 = period.utc(day)
        hourly = {
            p: hourly_values(
                by_param[p],
                p,
                d0,
                sample_minutes=opts.sample_minutes,
                min_minutes=opts.rules.min_minutes_hour,
            )
            for p in POLLUTANTS
        }
        valid_hours += sum(v is not None for p in expected for v in hourly[p])
        result = air_day(hourly, opts.rules)
        days.append(result)
        aqi[day.isoformat()] = result.aqi.aqi if result.counted and result.aqi is not None else None
    share = good_day_share(days)
    cap = Capture(valid_hours, len(expected) * 24 * period.days)
    return {
        "days_counted": share.whole,
        "good_days": share.part,
        "share_good_days": _pct(share),
        "daily_aqi": aqi,
        "capture": None if cap.percent is None else round(cap.percent, 2),
    }


def figures(
    stations: dict[str, Station],
    readings: Iterable[Reading],
    period: Period,
    opts: Options,
    codes: dict[str, set[str]],
) -> dict[str, Any]:
    """Every figure of one variant (audited or raw) of ``readings``; ``codes``: the items each station
    reported, for capture (the raw data's, so both variants expect the same)."""
    mine = _by_station(readings)
    sections: dict[str, Any] = {}
    air: dict[str, Any] = {}
    for sid, st in sorted(stations.items()):
        if st.kind == "water" and st.target is not None:
            sections[sid] = _water(st, mine.get(sid, []), period, opts, codes.get(sid, set()))
        elif st.kind == "air":
            air[sid] = _air(mine.get(sid, []), period, opts, codes.get(sid, set()) & set(POLLUTANTS))
    classes = {s: WaterClass(f["class_number"]) for s, f in sections.items() if f["class_number"] is not None}
    share = share_iii_or_better(classes.values())
    good = Share(sum(a["good_days"] for a in air.values()), sum(a["days_counted"] for a in air.values()))
    sources = [
        evaluate_source(
            period_means(
                mine.get(s, []), period.utc(period.start), period.utc(period.end), min_values=opts.min_values
            ),
            WaterClass(stations[s].target or 3),
            WaterBody(stations[s].water_body),
        )
        for s in sections
        if stations[s].drinking_source
    ]
    compliance = compliance_rate(sources)
    return {
        "sections": sections,
        "air": air,
        "headline": {
            "sections_classed": share.whole,
            "share_iii_or_better": _pct(share),
            "worse_than_v": sorted(s for s, c in classes.items() if c is WaterClass.WORSE_THAN_V),
            "air_days": good.whole,
            "good_air_days": good.part,
            "share_good_air_days": _pct(good),
            "sources_evaluated": compliance.whole,
            "sources_meeting": compliance.part,
            "source_compliance": _pct(compliance),
        },
    }


def water_codes(readings: Iterable[Reading]) -> dict[str, set[str]]:
    """The evaluated, source and AQI items each station reported in the period (raw): what capture expects."""
    out: defaultdict[str, set[str]] = defaultdict(set)
    for r in readings:
        if r.parameter in gb3838.EVALUATED or r.parameter in SOURCE_LIMITS or r.parameter in POLLUTANTS:
            out[r.station].add(r.parameter)
    return dict(out)
