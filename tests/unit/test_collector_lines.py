"""Line protocol and record mapping of the collector (pure): our formatter agrees with influxdb-client's
``Point`` byte for byte; the schema's types hold; no input makes ``records.decode`` raise anything but
``RejectedError``."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from influxdb_client.client.write.point import Point

from stationpipe.collector import lineproto, points, records
from stationpipe.kernel import wire
from stationpipe.kernel.catalogue import Kind
from stationpipe.kernel.errors import RejectedError
from stationpipe.kernel.messages import AlertState, Derived, DerivedValue, WarningEvent
from stationpipe.kernel.reading import Flag, Reading, StationMessage
from stationpipe.kernel.registry import StationInfo, WaterBody, WaterClass

TS = datetime(2026, 11, 22, 3, 4, 5, 123456, tzinfo=UTC)
_name = st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=12).filter(
    lambda s: not s.startswith("#") and s.strip() == s and s != ""
)
_field = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False),
    st.integers(-(2**63), 2**63 - 1),
    st.booleans(),
    st.text(max_size=20),
)


def _point(measurement: str, tags: dict[str, str], fields: dict[str, lineproto.FieldValue], ns: int) -> str:
    p = Point(measurement)  # type: ignore[no-untyped-call]
    for key, text in tags.items():
        p = p.tag(key, text)  # type: ignore[no-untyped-call]
    for key, value in fields.items():
        p = p.field(key, value)  # type: ignore[no-untyped-call]
    return str(p.time(ns).to_line_protocol())  # type: ignore[no-untyped-call]


@given(
    _name,
    st.dictionaries(_name, st.text(max_size=10), max_size=4),
    st.dictionaries(_name, _field, min_size=1, max_size=4),
    st.integers(0, 2**62),
)
def test_line_matches_influxdb_clients_point(
    measurement: str, tags: dict[str, str], fields: dict[str, lineproto.FieldValue], ns: int
) -> None:
    assert lineproto.line(measurement, tags, fields, ns) == _point(measurement, tags, fields, ns)


@pytest.mark.parametrize(
    ("value", "flag"), [(7.25, "N"), (7.0, "M"), (None, "B"), (-0.001, "T"), (1e22, "N"), (123456789.5, "C")]
)
def test_reading_line_matches_the_generic_line(value: float | None, flag: str) -> None:
    fields: dict[str, lineproto.FieldValue] = {"flag": flag}
    if value is not None:
        fields["value"] = value
    tags = {"station": "a b,c", "parameter": "nh3n"}
    expected = lineproto.line("readings", tags, fields, 5)
    assert lineproto.reading_line("a b,c", "nh3n", value, flag, 5) == expected


def test_the_series_head_cache_stays_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lineproto, "_HEADS", {})
    monkeypatch.setattr(lineproto, "_HEADS_MAX", 3)
    for n in range(10):
        line = lineproto.reading_line("s1", f"p{n}", 1.5, "N", 5)
        assert line == lineproto.line(
            "readings", {"station": "s1", "parameter": f"p{n}"}, {"flag": "N", "value": 1.5}, 5
        )
        assert len(lineproto._HEADS) <= 3
    assert lineproto.reading_line("s1", "p0", None, "N", 5) == 'readings,parameter=p0,station=s1 flag="N" 5'


@pytest.mark.parametrize("value", [float("inf"), float("-inf"), float("nan")])
def test_a_reading_that_is_not_finite_is_rejected(value: float) -> None:
    with pytest.raises(RejectedError, match="not finite"):
        lineproto.reading_line("s1", "ph", value, "N", 5)


@given(
    st.datetimes(
        min_value=datetime(1970, 1, 1),  # noqa: DTZ001 - hypothesis bounds are naive; values carry UTC
        max_value=datetime(2200, 1, 1),  # noqa: DTZ001
        timezones=st.just(UTC),
    )
)
def test_timestamps_are_exact_nanoseconds(ts: datetime) -> None:
    ns = lineproto.timestamp_ns(ts)
    assert ns % 1000 == 0
    assert datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=ns // 1000) == ts


def test_values_are_always_floats_and_a_point_needs_a_field() -> None:
    msg = StationMessage("s1", "d", 1, TS, (Reading("s1", "ph", 7, "pH", TS, Flag.N),))
    assert points.readings_lines(msg) == [
        f'readings,parameter=ph,station=s1 flag="N",value=7 {lineproto.timestamp_ns(TS)}'
    ]
    with pytest.raises(RejectedError, match="at least one field"):
        lineproto.line("m", {"a": "b"}, {}, 1)


@pytest.mark.parametrize(
    ("index", "values", "fields"),
    [
        (
            "water_class",
            {"class": 4.0, "worst": "nh3n", "exceed": ("nh3n", "tp")},
            'class=4i,exceed="nh3n,tp",worst="nh3n"',
        ),
        ("aqi", {"aqi": 152, "level": 4, "primary": "pm25"}, 'aqi=152i,level=4i,primary="pm25"'),
        ("capture_rate", {"rate": 1}, "rate=1"),
        ("water_class", {"score": 3}, "score=3"),
    ],
)
def test_derived_fields_follow_the_schema(index: str, values: dict[str, DerivedValue], fields: str) -> None:
    (text,) = points.derived_lines(Derived("s1", index, TS, values))
    assert text == f"{index},station=s1 {fields} {lineproto.timestamp_ns(TS)}"


def test_a_fractional_documented_integer_is_rejected() -> None:
    with pytest.raises(RejectedError, match=r"values\.class"):
        points.derived_lines(Derived("s1", "water_class", TS, {"class": 3.5}))


def test_warning_line_has_the_schemas_tags_and_fields() -> None:
    ev = WarningEvent("s1", "r1", 2, AlertState.RESOLVED, 'a "quote"', TS, TS, None, None, 1.5, TS)
    (text,) = points.warning_lines(ev)
    assert text == (
        'warnings,level=2,rule=r1,station=s1 ended="2026-11-22T03:04:05.123456Z",limit=1.5,'
        'message="a \\"quote\\"",started="2026-11-22T03:04:05.123456Z",state="resolved" '
        f"{lineproto.timestamp_ns(TS)}"
    )


def test_station_line_keeps_the_registry() -> None:
    info = StationInfo(
        id="s1",
        name="钱塘江 闸口",
        kind=Kind.WATER,
        city="杭州",
        river="",
        section="闸口断面",
        target_class=WaterClass.II,
        water_body=WaterBody.RIVER,
        lat=30.2,
        lon=120.1,
    )
    assert points.station_line(info, 9) == (
        'stations,city=杭州,kind=water,station=s1 lat=30.2,lon=120.1,name="钱塘江 闸口",'
        'section="闸口断面",target_class=2i,water_body="river" 9'
    )


def test_decode_maps_each_kind() -> None:
    msg = StationMessage("s1", "d", 1, TS, (Reading("s1", "ph", 7.5, "pH", TS, Flag.N),))
    assert records.decode(*wire.encode(msg)).kind == "readings"
    assert records.decode(*wire.encode(Derived("s1", "aqi", TS, {"aqi": 3}))).kind == "derived"
    with pytest.raises(RejectedError, match="does not store"):
        records.decode("deadletter/x", wire.encode(wire.dead_letter("x", "r", "t", b"p", TS))[1])


@given(
    st.sampled_from(["stations/s1/readings", "derived/s1/aqi", "warnings/s1/r", "stations/s1/status", "x/y"]),
    st.one_of(
        st.binary(max_size=200),
        st.from_regex(rb'\{"v":1,"station":"s1".{0,80}\}', fullmatch=True),
    ),
)
def test_no_input_raises_anything_but_rejected(topic: str, payload: bytes) -> None:
    with contextlib.suppress(RejectedError):
        records.decode(topic, payload)


def test_the_collector_stores_exactly_the_lines_of_the_decoded_message() -> None:
    later = TS + timedelta(seconds=3)
    readings = (Reading("s1", "ph", 7.25, "pH", TS, Flag.N), Reading("s1", "do", None, "mg/L", later, Flag.D))
    msg = StationMessage("s1", "d", 1, TS, readings)
    assert records.decode(*wire.encode(msg)).lines == points.readings_lines(msg)
