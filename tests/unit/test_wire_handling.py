"""Wire codec of the human side of warnings: the human state on ``warnings/<station>/<rule>`` and the
``warnings/actions/<station>/<rule>`` records (round trips, strictness, unchanged old payloads)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stationpipe.kernel import wire
from stationpipe.kernel.errors import WireError
from stationpipe.kernel.messages import AlertState, Handling, WarningAction, WarningEvent
from stationpipe.kernel.wire_topics import TopicKind, parse_topic
from tests.unit.test_wire import ids, instants, numbers, text

T0 = datetime(2026, 5, 1, 8, tzinfo=UTC)
names = st.none() | st.text(min_size=1, max_size=20)
human_warnings = st.builds(
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
    st.sampled_from(Handling),
    names,
    names,
)
actions = st.builds(
    WarningAction,
    ids,
    ids,
    instants,
    ids,
    st.text(min_size=1, max_size=20),
    instants,
    st.sampled_from(Handling),
    st.integers(1, 4),
    st.none() | text,
    names,
)


@given(human_warnings | actions)
def test_human_records_round_trip(record: WarningEvent | WarningAction) -> None:
    topic, payload = wire.encode(record)
    assert wire.decode(topic, payload) == record


def test_a_warning_without_human_state_is_the_payload_it_always_was() -> None:
    event = WarningEvent("w1", "section.nh3n", 2, AlertState.FIRING, "m", T0, T0)
    body = json.loads(wire.encode(event)[1])
    assert set(body) == {
        "v", "station", "rule", "level", "state", "message", "started", "ts", "parameter", "value", "limit",
        "ended",
    }  # fmt: skip


def test_an_action_goes_on_its_own_topic_and_names_who() -> None:
    action = WarningAction("w1", "section.nh3n", T0, "acknowledge", "li", T0, Handling.ISSUED, 3)
    topic, payload = wire.encode(action)
    assert topic == "warnings/actions/w1/section.nh3n"
    assert parse_topic(topic).kind is TopicKind.ACTION
    assert parse_topic("warnings/actions/x").kind is TopicKind.WARNING  # a station called "actions"
    assert json.loads(payload)["user"] == "li"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"handling": "closed"}, "handling"),
        ({"user": ""}, "user"),
        ({"level": 5}, "level"),
        ({"extra": 1}, "extra"),
        ({"station": "w2"}, "topic"),
    ],
)
def test_action_decoding_is_strict(change: dict[str, object], field: str) -> None:
    action = WarningAction("w1", "section.nh3n", T0, "verify", "li", T0, Handling.VERIFIED, 2)
    topic, payload = wire.encode(action)
    with pytest.raises(WireError) as err:
        wire.decode(topic, json.dumps({**json.loads(payload), **change}).encode())
    assert err.value.field == field
