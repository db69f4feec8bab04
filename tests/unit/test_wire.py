"""Wire codec: round trips for every topic (hypothesis) and strict decoding that names the field."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stationpipe.kernel import wire
from stationpipe.kernel.catalogue import CATALOGUE
from stationpipe.kernel.errors import WireError
from stationpipe.kernel.messages import (
    AgentState,
    AlertState,
    DeadLetter,
    Derived,
    StationStatus,
    WarningEvent,
)
from stationpipe.kernel.reading import Flag, Reading, StationMessage

ids = st.from_regex(r"[A-Za-z0-9_.\-]{1,24}", fullmatch=True)
instants = st.datetimes(
    min_value=datetime(1970, 1, 2),  # noqa: DTZ001 - hypothesis takes naive bounds
    max_value=datetime(2200, 1, 1),  # noqa: DTZ001
    timezones=st.just(UTC),
)
numbers = st.floats(allow_nan=False, allow_infinity=False)
text = st.text(max_size=40)


@st.composite
def station_messages(draw: st.DrawFn) -> StationMessage:
    station, ts = draw(ids), draw(instants)
    params = draw(st.lists(st.sampled_from(sorted(CATALOGUE)), unique=True, max_size=8))
    readings = tuple(
        Reading(
            station,
            p,
            draw(st.none() | numbers),
            CATALOGUE[p].unit,
            draw(st.just(ts) | instants),
            draw(st.sampled_from(Flag)),
        )
        for p in params
    )
    return StationMessage(station, draw(ids), draw(st.integers(0, 2**53)), ts, readings)


statuses = st.builds(
    StationStatus, ids, st.sampled_from(AgentState), instants, text, st.integers(0, 10**9), text
)
derived = st.builds(
    Derived,
    ids,
    ids,
    instants,
    st.dictionaries(
        st.text(min_size=1, max_size=10),
        numbers | st.integers(-(2**53), 2**53) | text | st.lists(text, max_size=3).map(tuple),
        max_size=5,
    ),
)
warnings = st.builds(
    WarningEvent,
    ids,
    ids,
    st.integers(1, 4),
    st.sampled_from(AlertState),
    text,
    instants,
    instants,
    st.none() | ids,
    st.none() | numbers,
    st.none() | numbers,
    st.none() | instants,
)
letters = st.builds(wire.dead_letter, ids, text, text, st.binary(max_size=64), instants)


@given(station_messages() | statuses | derived | warnings | letters)
def test_every_record_round_trips(record: object) -> None:
    topic, payload = wire.encode(record)  # type: ignore[arg-type]
    assert wire.decode(topic, payload) == record


def test_readings_payload_shape_is_the_contract() -> None:
    ts = datetime(2026, 11, 22, 1, 2, 3, 456000, tzinfo=UTC)
    msg = StationMessage("s1", "sonde", 7, ts, (Reading("s1", "nh3n", 0.52, "mg/L", ts, Flag.N),))
    topic, payload = wire.encode(msg)
    assert topic == "stations/s1/readings"
    assert json.loads(payload) == {
        "v": 1,
        "station": "s1",
        "device": "sonde",
        "seq": 7,
        "ts": "2026-11-22T01:02:03.456000Z",
        "readings": {"nh3n": {"value": 0.52, "unit": "mg/L", "flag": "N"}},
    }


def test_non_utc_offsets_are_normalised_to_utc() -> None:
    payload = (
        b'{"v":1,"station":"s1","device":"d","seq":1,"ts":"2026-11-22T09:00:00+08:00",'
        b'"readings":{"ph":{"value":7.1,"unit":"pH","flag":"N"}}}'
    )
    msg = wire.decode("stations/s1/readings", payload)
    assert isinstance(msg, StationMessage)
    assert msg.ts == datetime(2026, 11, 22, 1, tzinfo=UTC)
    assert msg.ts.utcoffset() == timedelta(0)
    assert msg.readings[0].ts.tzinfo is not None


GOOD = {
    "v": 1,
    "station": "s1",
    "device": "d",
    "seq": 1,
    "ts": "2026-11-22T01:00:00Z",
    "readings": {"ph": {"value": 7.1, "unit": "pH", "flag": "N"}},
}


def _with(path: str, value: object) -> bytes:
    doc = json.loads(json.dumps(GOOD))
    *parents, leaf = path.split(".")
    node = doc
    for key in parents:
        node = node[key]
    if value is _DELETE:
        del node[leaf]
    else:
        node[leaf] = value
    return json.dumps(doc).encode()


_DELETE = object()


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        (_with("v", 2), "v"),
        (_with("seq", -1), "seq"),
        (_with("seq", "1"), "seq"),
        (_with("ts", "2026-11-22T01:00:00"), "ts"),
        (_with("ts", "yesterday"), "ts"),
        (_with("station", _DELETE), "station"),
        (_with("extra", 1), "extra"),
        (_with("readings.ph.value", "7.1"), "readings.ph.value"),
        (_with("readings.ph.flag", "X"), "readings.ph.flag"),
        (_with("readings.ph.unit", _DELETE), "readings.ph.unit"),
        (_with("station", "s2"), "topic"),
        (
            (
                b'{"v":1,"station":"s1","device":"d","seq":1,"ts":"2026-11-22T01:00:00Z","readings":'
                b'{"ph":{"value":NaN,"unit":"pH","flag":"N"}}}'
            ),
            "readings.ph.value",
        ),
        (b"\xff\xfe not json", "payload"),
        (b"[1, 2]", "payload"),
    ],
)
def test_strict_decoding_names_the_field(payload: bytes, field: str) -> None:
    with pytest.raises(WireError) as caught:
        wire.decode("stations/s1/readings", payload)
    assert caught.value.field == field, caught.value


@pytest.mark.parametrize(
    "topic",
    [
        "stations/s1",
        "stations/s1/other",
        "x/y/z",
        "stations/a b/readings",
        "stations/+/readings",
        "deadletter/a/b",
        "",
    ],
)
def test_unknown_topics_are_rejected(topic: str) -> None:
    with pytest.raises(WireError) as caught:
        wire.decode(topic, json.dumps(GOOD).encode())
    assert caught.value.field == "topic"


def test_dead_letter_keeps_binary_payloads_exactly() -> None:
    ts = datetime.now(UTC)
    letter = wire.dead_letter("collector", "bad", "stations/x/readings", b"\x00\xff", ts)
    assert letter.encoding == "base64"
    assert isinstance(wire.decode(*wire.encode(letter)), DeadLetter)


def test_naive_or_non_utc_timestamps_cannot_be_built() -> None:
    with pytest.raises(ValueError, match="UTC"):
        Reading("s", "ph", 7.0, "pH", datetime(2026, 1, 1))  # noqa: DTZ001
    with pytest.raises(ValueError, match="UTC"):
        Reading("s", "ph", 7.0, "pH", datetime(2026, 1, 1, tzinfo=timezone(timedelta(hours=8))))
    with pytest.raises(ValueError, match="finite"):
        Reading("s", "ph", float("nan"), "pH", datetime.now(UTC))


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        (_with("v", 2), "v"),
        (_with("ts", "2026-11-22T01:00:00"), "ts"),
        (_with("readings.ph.value", "7.1"), "readings.ph.value"),
        (_with("readings.ph.flag", "X"), "readings.ph.flag"),
        (_with("station", "s2"), "topic"),
        (b"\xff\xfe not json", "payload"),
    ],
)
def test_rows_decoding_is_as_strict_as_decoding(payload: bytes, field: str) -> None:
    with pytest.raises(WireError) as caught:
        wire.decode_readings_rows("stations/s1/readings", payload)
    assert caught.value.field == field, caught.value


@given(station_messages())
def test_rows_decoding_agrees_with_decoding(msg: StationMessage) -> None:
    topic, payload = wire.encode(msg)
    station, ts, rows, latest = wire.decode_readings_rows(topic, payload)
    decoded = wire.decode(topic, payload)
    assert isinstance(decoded, StationMessage)
    assert (station, ts) == (decoded.station, decoded.ts)
    assert latest == max([ts, *(r.ts for r in decoded.readings)])
    assert [(r.parameter, r.value, r.flag, r.ts or ts) for r in rows] == [
        (r.parameter, r.value, r.flag.value, r.ts) for r in decoded.readings
    ]
