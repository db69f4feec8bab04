"""Readings stamped ahead of the collector's clock are stored, marked with the field ``ahead`` (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from stationpipe.collector import lineproto, records
from stationpipe.kernel import wire
from stationpipe.kernel.reading import Flag, Reading, StationMessage

NOW = datetime(2026, 11, 22, 3, 0, 0, tzinfo=UTC)
NS = lineproto.timestamp_ns


def _message(*stamps: datetime) -> tuple[str, bytes]:
    readings = tuple(
        Reading("s1", p, v, "mg/L", ts, flag)
        for (p, v, flag), ts in zip([("nh3n", 0.5, Flag.N), ("tp", None, Flag.B)], stamps, strict=False)
    )
    return wire.encode(StationMessage("s1", "dev", 7, min(stamps), readings))


@pytest.mark.parametrize("ahead", [0.0, 59.9, 60.0, -3600.0])
def test_within_the_tolerance_nothing_changes(ahead: float) -> None:
    topic, payload = _message(NOW + timedelta(seconds=ahead))
    decoded = records.decode(topic, payload, NOW, max_ahead=60.0)
    assert decoded.ahead == 0
    assert decoded.lines == records.decode(topic, payload).lines  # the same lines as without a clock


def test_a_reading_ahead_is_marked_with_its_lead_in_seconds() -> None:
    ts = NOW + timedelta(seconds=300.25)
    decoded = records.decode(*_message(ts), NOW, max_ahead=60.0)
    assert decoded.ahead == 1
    expected = lineproto.line(
        "readings",
        {"station": "s1", "parameter": "nh3n"},
        {"flag": "N", "value": 0.5, "ahead": 300.25},
        NS(ts),
    )
    assert decoded.lines == [expected]
    assert decoded.lines[0] == f'readings,parameter=nh3n,station=s1 ahead=300.25,flag="N",value=0.5 {NS(ts)}'


def test_only_the_readings_ahead_are_marked() -> None:
    late, early = NOW + timedelta(seconds=120), NOW - timedelta(seconds=1)
    decoded = records.decode(*_message(early, late), NOW, max_ahead=60.0)
    assert decoded.ahead == 1
    assert decoded.lines == [
        lineproto.reading_line("s1", "nh3n", 0.5, "N", NS(early)),
        f'readings,parameter=tp,station=s1 ahead=120,flag="B" {NS(late)}',
    ]
