"""The daily report's headline figures from audited data: an audit mark changes a section's day class and
an air station's daily AQI; without a mark the figures are those of the raw readings (hand-computed)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from stationpipe.kernel.audit import Action, MarkIndex, MarkVersion, Reason, apply_marks
from stationpipe.kernel.reading import Flag, Reading
from stationpipe.kernel.registry import WaterBody
from stationpipe.ops.report.data import SectionDay, Station, section_days
from stationpipe.ops.report.day_figures import air_station_day, day_start, water_day
from stationpipe.standards.air_stats import HJ663_2013, HJ663_2026

DAY = date(2026, 6, 1)
START = day_start(DAY)
H = timedelta(hours=1)
#: NH3-N every 4 hours from 00:00 Beijing time: the day mean is 5.4 / 6 = 0.9 (class III); without the
#: first two (an instrument fault) it is 2.0 / 4 = 0.5 (class II).
NH3N = (1.8, 1.6, 0.6, 0.5, 0.5, 0.4)
W1 = Station("w1", "water", "闸口", "杭州", "钱塘江", "闸口", 2, WaterBody.RIVER.value)


def _water() -> tuple[Reading, ...]:
    return tuple(
        Reading("w1", "nh3n", value, "mg/L", START + 4 * i * H, Flag.N) for i, value in enumerate(NH3N)
    )


def _mark(station: str, parameter: str, hours: int, reason: Reason) -> MarkVersion:
    at = START + 30 * H
    return MarkVersion(
        "m1", 1, station, parameter, START, START + hours * H, Action.INVALIDATE, reason, "", "li", at
    )


def _audited(readings: tuple[Reading, ...], mark: MarkVersion, *, exceptional: bool) -> tuple[Reading, ...]:
    return apply_marks(readings, MarkIndex((mark,), exclude_exceptional=exceptional))


def test_day_class_worst_and_main_item_of_raw_readings() -> None:
    day = water_day(_water(), DAY, WaterBody.RIVER)
    assert day.day_class == 3
    assert day.main == ("nh3n",)
    assert day.hourly == {0: 5, 4: 5, 8: 3, 12: 2, 16: 2, 20: 2}
    assert day.worst == 5  # 1.8 and 1.6 mg/L are class V hours, 0.6 a class III hour


def test_a_mark_changes_the_headline_day_class() -> None:
    kept = _audited(_water(), _mark("w1", "nh3n", 8, Reason.INSTRUMENT_FAULT), exceptional=False)
    day = water_day(kept, DAY, WaterBody.RIVER)
    assert (day.day_class, day.worst) == (2, 3)  # the worst hour left is 08:00, 0.6 mg/L
    [section] = section_days({"w1": W1}, {"w1": list(kept)}, {"w1": 3}, DAY)
    assert section == SectionDay(W1, 2, 3, ("nh3n",), day.hourly, live=3)
    assert section.meets  # audited II meets target II; the live class III would not


def test_a_section_without_readings_keeps_its_live_class_only() -> None:
    [section] = section_days({"w1": W1}, {}, {"w1": 4}, DAY)
    assert (section.day_class, section.live, section.meets) == (None, 4, False)


def _air() -> tuple[Reading, ...]:
    base = {"so2": 50.0, "no2": 40.0, "pm10": 100.0, "co": 2.0, "o3": 100.0}
    out = []
    for hour in range(24):
        at = START + hour * H
        out += [Reading("a1", code, value, "µg/m³", at, Flag.N) for code, value in base.items()]
        out.append(Reading("a1", "pm25", 300.0 if hour < 4 else 50.0, "µg/m³", at, Flag.N))
    return tuple(out)


def test_an_exceptional_event_mark_changes_the_daily_aqi_under_hj663_2026() -> None:
    mark = _mark("a1", "pm25", 4, Reason.EXCEPTIONAL_EVENT)
    # raw: PM2.5 mean (4 x 300 + 20 x 50) / 24 = 91.67, rounded 92; HJ 633-2026 breakpoints 60/115 ->
    # IAQI 100 + 32 x 50 / 55 = 129.1 -> 130
    raw = air_station_day(_air(), DAY, HJ663_2026, sample_minutes=60)
    assert raw.aqi is not None
    assert raw.counted
    assert raw.aqi.aqi == 130
    # 2026 deducts the event: PM2.5 50 -> IAQI 50 + 15 x 50 / 25 = 80; PM10 100 (50/120) ->
    # 50 + 50 x 50 / 70 = 85.7 -> 86, the primary pollutant
    kept = _audited(_air(), mark, exceptional=True)
    day = air_station_day(kept, DAY, HJ663_2026, sample_minutes=60)
    assert day.aqi is not None
    assert day.good
    assert (day.aqi.aqi, day.aqi.primary) == (86, ("pm10",))
    # 2013 keeps exceptional events: the same figure as the raw readings
    kept_2013 = _audited(_air(), mark, exceptional=False)
    assert air_station_day(kept_2013, DAY, HJ663_2013, sample_minutes=60).aqi == (
        air_station_day(_air(), DAY, HJ663_2013, sample_minutes=60).aqi
    )


def test_day_start_is_beijing_midnight() -> None:
    assert datetime(2026, 5, 31, 16, tzinfo=UTC) == START
