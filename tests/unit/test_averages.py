"""Averages and their validity thresholds: 45 minutes, 6 hours for O3 8 h, 20 hours a day."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from stationpipe.kernel.reading import Flag, Reading
from stationpipe.standards.averages import (
    as_hourly_readings,
    china_day,
    daily_mean,
    hourly_mean,
    o3_8h_mean,
)

T0 = datetime(2026, 3, 1, 8, tzinfo=UTC)
MIN, HOUR = timedelta(minutes=1), timedelta(hours=1)


def _series(n: int, step: timedelta, parameter: str = "pm25", start: datetime = T0) -> list[Reading]:
    return [Reading("s1", parameter, float(i), "ug/m3", start + i * step) for i in range(n)]


@pytest.mark.parametrize(("minutes", "sufficient"), [(44, False), (45, True), (60, True)])
def test_hourly_needs_45_minutes(minutes: int, sufficient: bool) -> None:
    result = hourly_mean(_series(minutes, MIN), "pm25", T0)
    assert result.sufficient is sufficient
    assert result.count == minutes
    assert result.required == 45
    if sufficient:
        assert result.value == (minutes - 1) / 2
    else:
        assert result.value is None


def test_only_valid_readings_count() -> None:
    readings = _series(45, MIN)
    readings[3] = Reading("s1", "pm25", 999.0, "ug/m3", readings[3].ts, Flag.M)
    readings[4] = Reading("s1", "pm25", None, "ug/m3", readings[4].ts)
    result = hourly_mean(readings, "pm25", T0)
    assert not result.sufficient
    assert result.count == 43


def test_window_is_half_open_and_other_parameters_ignored() -> None:
    readings = _series(61, MIN) + _series(60, MIN, "pm10")  # minute 60 is the next hour
    result = hourly_mean(readings, "pm25", T0)
    assert result.count == 60
    assert result.value == 29.5
    assert result.end == T0 + HOUR


def test_several_values_in_one_minute_count_once() -> None:
    readings = [*_series(45, MIN), Reading("s1", "pm25", 100.0, "ug/m3", T0 + timedelta(seconds=30))]
    result = hourly_mean(readings, "pm25", T0)
    assert result.count == 45
    minute0 = (0.0 + 100.0) / 2
    assert result.value == pytest.approx((minute0 + sum(range(1, 45))) / 45)


def test_several_stations_are_refused() -> None:
    readings = [*_series(45, MIN), Reading("s2", "pm25", 1.0, "ug/m3", T0)]
    with pytest.raises(ValueError, match="several stations"):
        hourly_mean(readings, "pm25", T0)


def test_naive_start_is_refused() -> None:
    with pytest.raises(ValueError, match="start"):
        hourly_mean([], "pm25", datetime(2026, 3, 1))  # noqa: DTZ001 - the naive value is the point


@pytest.mark.parametrize(("hours", "sufficient"), [(5, False), (6, True), (8, True)])
def test_o3_8h_needs_6_hours(hours: int, sufficient: bool) -> None:
    result = o3_8h_mean(_series(hours, HOUR, "o3"), T0)
    assert result.sufficient is sufficient
    assert result.count == hours
    assert result.end == T0 + 8 * HOUR


def test_o3_8h_ignores_hours_outside_the_window() -> None:
    result = o3_8h_mean(_series(12, HOUR, "o3"), T0 + 4 * HOUR)
    assert result.count == 8
    assert result.value == 7.5  # mean of 4..11


@pytest.mark.parametrize(("hours", "sufficient"), [(19, False), (20, True), (24, True)])
def test_daily_needs_20_hours(hours: int, sufficient: bool) -> None:
    result = daily_mean(_series(hours, HOUR), "pm25", T0)
    assert result.sufficient is sufficient
    assert result.required == 20


def test_china_day_starts_at_1600_utc() -> None:
    assert china_day(date(2026, 3, 1)) == datetime(2026, 2, 28, 16, tzinfo=UTC)


def test_minutes_to_hours_to_day() -> None:
    day = china_day(date(2026, 3, 1))
    minutes = [
        Reading("s1", "pm25", 10.0 + h, "ug/m3", day + h * HOUR + m * MIN)
        for h in range(24)
        for m in range(50)
    ]
    hours = [hourly_mean(minutes, "pm25", day + h * HOUR) for h in range(24)]
    assert all(h.sufficient for h in hours)
    hourly = as_hourly_readings("s1", "ug/m3", hours)
    assert len(hourly) == 24
    result = daily_mean(hourly, "pm25", day)
    assert result.value == pytest.approx(21.5)
