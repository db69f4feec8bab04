"""Golden cases of the official statistics (standards.air_stats, water_stats, gb3838_source), worked out
by hand from the rules in docs/domain.md#official-statistics-and-audit (validity thresholds included)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from stationpipe.kernel.audit import Action, MarkVersion, Reason, apply_marks
from stationpipe.kernel.reading import Flag, Reading
from stationpipe.kernel.registry import WaterBody, WaterClass
from stationpipe.standards.air_stats import (
    HJ663_2013,
    HJ663_2026,
    air_day,
    daily_mean,
    good_day_share,
    hourly_values,
    moving_average,
    o3_8h_means,
    o3_daily_max_8h,
    rounded,
)
from stationpipe.standards.gb3838_source import SOURCE_LIMITS, compliance_rate, evaluate_source
from stationpipe.standards.water_stats import (
    capture,
    period_means,
    section_class,
    share_iii_or_better,
    worse_than_v,
)

DAY = datetime(2026, 5, 31, 16, tzinfo=UTC)  # 2026-06-01 00:00 China time
H = timedelta(hours=1)
NONE24: tuple[float | None, ...] = (None,) * 24


def _hours(valid: range, value: float = 100.0) -> list[float | None]:
    return [value if h in valid else None for h in range(24)]


# --- air ------------------------------------------------------------------------------------------------


def test_daily_mean_needs_20_hourly_values() -> None:
    twenty = [float(10 + h) if h < 20 else None for h in range(24)]  # 10 … 29: mean 19.5
    assert daily_mean(twenty, HJ663_2013) == 19.5
    assert daily_mean([*twenty[:19], *[None] * 5], HJ663_2013) is None


def test_o3_8h_mean_needs_6_of_8_hours() -> None:
    hours = _hours(range(2, 8), 120.0)  # window 00-07 has 6 values; window 01-08 has 6; 02-09 has 6; 03-10: 5
    windows = o3_8h_means(hours, HJ663_2013)
    assert len(windows) == 17
    assert windows[:3] == (120.0, 120.0, 120.0)
    assert windows[3] is None


def test_o3_daily_max_8h_from_the_worst_window() -> None:
    hours: list[float | None] = [100.0] * 24
    for h in range(12, 16):
        hours[h] = 180.0
    # windows starting 08:00 … 12:00 hold all four 180s: (4 x 100 + 4 x 180) / 8 = 140
    assert o3_daily_max_8h(hours, HJ663_2013) == 140.0


@pytest.mark.parametrize(
    ("valid_hours", "value", "expected"),
    [
        (range(19), 100.0, 100.0),  # windows 00 … 13 have >= 6 values: 14 windows, valid
        (range(18), 100.0, None),  # 13 windows: too few
        (range(14), 200.0, 200.0),  # 9 windows, but above the 160 limit: still valid
        (range(14), 160.0, None),  # at the limit does not exceed it
    ],
)
def test_o3_daily_max_needs_14_windows_unless_it_exceeds(
    valid_hours: range, value: float, expected: float | None
) -> None:
    assert o3_daily_max_8h(_hours(valid_hours, value), HJ663_2013) == expected


def _minute_readings(minutes: int, parameter: str = "pm25") -> list[Reading]:
    return [
        Reading("a1", parameter, 50.0 + m % 2, "ug/m3", DAY + timedelta(minutes=m)) for m in range(minutes)
    ]


def test_an_hourly_value_needs_45_minutes() -> None:
    assert hourly_values(_minute_readings(45), "pm25", DAY, sample_minutes=1, min_minutes=45)[
        0
    ] == pytest.approx(50 + 22 / 45)
    assert hourly_values(_minute_readings(44), "pm25", DAY, sample_minutes=1, min_minutes=45)[0] is None
    hourly = [
        Reading("a1", "pm25", 30.0, "ug/m3", DAY + 3 * H),
        Reading("a1", "pm25", 99.0, "ug/m3", DAY, Flag.C),
    ]
    values = hourly_values(hourly, "pm25", DAY, sample_minutes=60, min_minutes=45)
    assert (
        values[3] == 30.0
    )
    assert (
        values[0] is None
    )


def _day(pm25: float | None, **others: float) -> dict[str, list[float | None]]:
    base = {"so2": 50.0, "no2": 40.0, "pm10": 150.0, "co": 2.0, "o3": 100.0} | others
    out: dict[str, list[float | None]] = {p: [v] * 24 for p, v in base.items()}
    if pm25 is not None:
        out["pm25"] = [pm25] * 24
    return out


def test_daily_aqi_and_good_days_hj663_2013() -> None:
    # SO2 50 -> 50, NO2 40 -> 50, PM10 150 -> 100, CO 2 -> 50, O3 8h 100 -> 50, PM2.5 75 -> 100: AQI 100, good
    good = air_day(_day(75.0), HJ663_2013)
    assert good.aqi is not None
    assert good.aqi.aqi == 100
    assert good.good
    # PM2.5 76: 100 + (76 - 75) x 50 / 40 = 101.25 -> 102 (rounded up): not good
    bad = air_day(_day(76.0), HJ663_2013)
    assert bad.aqi is not None
    assert bad.aqi.aqi == 102
    assert bad.counted
    assert not bad.good
    # no PM2.5: under 2013 the day is not publishable, so it does not count
    missing = air_day(_day(None), HJ663_2013)
    assert not missing.counted
    share = good_day_share([good, bad, missing])
    assert (share.part, share.whole, share.percent) == (1, 2, 50.0)


def test_hj663_2026_counts_a_partial_day_above_100_and_rounds() -> None:
    # no PM2.5, PM10 180 -> 2026 columns 120/250: 100 + (180 - 120) x 50 / 130 = 123.08 -> 124 > 100: counted
    day = air_day(_day(None, pm10=180.0), HJ663_2026)
    assert day.aqi is not None
    assert day.aqi.aqi == 124
    assert day.counted
    assert not day.good
    assert not air_day(_day(None, pm10=180.0), HJ663_2013).counted
    assert rounded("pm25", 74.5) == 74.0
    assert rounded("pm25", 75.5) == 76.0
    assert rounded("co", 1.25) == 1.2
    assert air_day(_day(74.5), HJ663_2026).values["pm25"] == 74.0
    assert air_day(_day(74.5), HJ663_2013).values["pm25"] == 74.5


def test_a_day_short_of_hours_has_no_daily_value() -> None:
    day = _day(75.0)
    day["pm25"] = [75.0] * 19 + [None] * 5
    result = air_day(day, HJ663_2013)
    assert result.values["pm25"] is None
    assert not result.counted


def test_moving_average_for_rankings() -> None:
    assert moving_average([30.0, 33.0, 36.0, 39.0], 3) == 36.0
    assert moving_average([30.0, 33.0], 3) is None
    assert HJ663_2026.ranking_years == 3
    assert HJ663_2013.ranking_years == 1


def test_exceptional_event_marks_follow_the_edition() -> None:
    assert HJ663_2026.exclude_exceptional
    assert not HJ663_2013.exclude_exceptional


# --- water ----------------------------------------------------------------------------------------------

#: One day of a river section with target III, every 4 hours (China 00:00, 04:00, … 20:00).
NH3N = (1.8, 1.6, 0.6, 0.5, 0.5, 0.4)


def _section_day(start: datetime = DAY, nh3n: tuple[float, ...] = NH3N) -> list[Reading]:
    out = []
    for i, value in enumerate(nh3n):
        ts = start + 4 * i * H
        out += [
            Reading("w1", "nh3n", value, "mg/L", ts),
            Reading("w1", "do", 7.0, "mg/L", ts),
            Reading("w1", "codmn", 3.0, "mg/L", ts),
            Reading("w1", "tp", 0.08, "mg/L", ts),
            Reading("w1", "temp", 21.0, "degC", ts),
        ]
    return out


MORNING = MarkVersion(
    "m1",
    1,
    "w1",
    "nh3n",
    DAY,
    DAY + 8 * H,
    Action.INVALIDATE,
    Reason.INSTRUMENT_FAULT,
    "",
    "li",
    DAY + 30 * H,
)


def test_an_invalidated_morning_changes_the_daily_class() -> None:
    raw = _section_day()
    # raw NH3-N mean (1.8 + 1.6 + 0.6 + 0.5 + 0.5 + 0.4) / 6 = 0.9 -> III; DO 7 II, CODMn 3 II, TP 0.08 II
    means = period_means(raw, DAY, DAY + 24 * H)
    assert means["nh3n"] == pytest.approx(0.9)
    result = section_class(means, WaterClass.III, WaterBody.RIVER)
    assert result is not None
    assert result.water_class is WaterClass.III
    assert result.worst == ("nh3n",)
    # audited: the 00:00 and 04:00 values out: (0.6 + 0.5 + 0.5 + 0.4) / 4 = 0.5 -> II (equal meets)
    audited = apply_marks(raw, [MORNING])
    result = section_class(period_means(audited, DAY, DAY + 24 * H), WaterClass.III, WaterBody.RIVER)
    assert result is not None
    assert result.water_class is WaterClass.II


def test_monthly_class_is_the_class_of_the_monthly_means() -> None:
    second = _section_day(DAY + 24 * H, (0.5,) * 6)
    raw = _section_day() + second
    # raw: (5.4 + 3.0) / 12 = 0.7 -> III; audited: (2.0 + 3.0) / 10 = 0.5 -> II
    month_end = DAY + 30 * 24 * H
    raw_class = section_class(period_means(raw, DAY, month_end), WaterClass.III, WaterBody.RIVER)
    audited = apply_marks(raw, [MORNING])
    aud_class = section_class(period_means(audited, DAY, month_end), WaterClass.III, WaterBody.RIVER)
    assert raw_class is not None
    assert raw_class.water_class is WaterClass.III
    assert aud_class is not None
    assert aud_class.water_class is WaterClass.II


def test_temperature_alone_gives_no_class_and_min_values_is_policy() -> None:
    temp = [r for r in _section_day() if r.parameter == "temp"]
    assert section_class(period_means(temp, DAY, DAY + 24 * H), WaterClass.III, WaterBody.RIVER) is None
    assert "nh3n" not in period_means(_section_day(), DAY, DAY + 24 * H, min_values=7)


def test_capture_counts_valid_slots() -> None:
    readings = _section_day()
    # 5 items x 6 four-hour slots = 30 expected, all valid; the morning mark takes 2 NH3-N slots out
    assert capture(readings, {"nh3n", "do", "codmn", "tp", "temp"}, DAY, DAY + 24 * H, 4 * H).percent == 100.0
    cap = capture(
        apply_marks(readings, [MORNING]), {"nh3n", "do", "codmn", "tp", "temp"}, DAY, DAY + 24 * H, 4 * H
    )
    assert (cap.valid, cap.expected) == (28, 30)


def test_headline_shares() -> None:
    classes = {"a": WaterClass.II, "b": WaterClass.III, "c": WaterClass.IV, "d": WaterClass.WORSE_THAN_V}
    share = share_iii_or_better(classes.values())
    assert (share.part, share.whole, share.percent) == (2, 4, 50.0)
    assert worse_than_v(classes) == ("d",)
    assert share_iii_or_better([]).percent is None


# --- drinking-water sources -----------------------------------------------------------------------------


def test_source_limits_typed_from_gb3838_tables_2_and_3() -> None:
    assert dict(SOURCE_LIMITS) == {
        "so4": 250.0,
        "cl": 250.0,
        "no3n": 10.0,
        "fe": 0.3,
        "mn": 0.1,
        "chloroform": 0.06,
        "ccl4": 0.002,
        "styrene": 0.02,
        "hcho": 0.9,
        "benzene_w": 0.01,
        "ethylbenzene": 0.3,
        "xylene_w": 0.5,
        "chlorobenzene": 0.3,
        "nitrobenzene": 0.017,
    }


def test_source_evaluation_and_compliance_rate() -> None:
    base = {"nh3n": 0.4, "do": 7.0, "codmn": 3.0, "tp": 0.05}  # class II
    meeting = evaluate_source({**base, "fe": 0.3, "mn": 0.05, "so4": 30.0}, WaterClass.II, WaterBody.RIVER)
    assert meeting.meets
    assert meeting.checked == ("fe", "mn", "so4")
    assert not meeting.over
    # sulfate 260 against 250: (260 - 250) / 250 = 0.04
    over = evaluate_source({**base, "so4": 260.0}, WaterClass.II, WaterBody.RIVER)
    assert not over.meets
    assert dict(over.over) == {"so4": 0.04}
    # class III against target II: fails on Table 1 alone
    worse = evaluate_source({**base, "nh3n": 0.8}, WaterClass.II, WaterBody.RIVER)
    assert not worse.meets
    assert not worse.over
    nothing = evaluate_source({"temp": 20.0}, WaterClass.II, WaterBody.RIVER)
    rate = compliance_rate([meeting, over, worse, nothing])
    assert (rate.part, rate.whole) == (1, 3)
    assert rate.percent == pytest.approx(100 / 3)
