"""Fuzzing the wire decoder (every topic family) and the collector's decoding step on top of it.

Whatever the bytes, ``wire.decode`` either returns a whole record (that re-encodes and decodes to
itself) or raises ``WireError`` naming a field and a reason; the collector's ``records.decode`` raises only
``RejectedError``. Inputs: arbitrary bytes, arbitrary JSON, mutated valid payloads (bytes and document
edits), deep nesting, huge numbers, NaN and infinities, malformed topics.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stationpipe.collector.records import decode as collector_decode
from stationpipe.kernel import wire
from stationpipe.kernel.errors import RejectedError, WireError
from stationpipe.kernel.reading import StationMessage
from tests.fuzz.mutations import attempt, json_values, mutate_bytes, mutate_doc, nasty_values, nested
from tests.unit.test_wire import derived, letters, station_messages, statuses, warnings

pytestmark = pytest.mark.timeout(60)
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
records = station_messages() | statuses | derived | warnings | letters
TOPICS = (
    "stations/s1/readings",
    "stations/s1/status",
    "derived/s1/water_class",
    "warnings/s1/nh3n-high",
    "deadletter/collector",
    "stations/s1/qc",
    "reviews/s1/nh3n",
)
topics = st.sampled_from(TOPICS)
nasty = nasty_values() | json_values(8)


def check(topic: str, payload: bytes) -> None:
    """The property every fuzzer asserts for one message."""
    msg = attempt(lambda: wire.decode(topic, payload), WireError)
    if isinstance(msg, WireError):
        assert msg.field, msg
        assert msg.reason, msg
        assert str(msg) == f"{msg.field}: {msg.reason}"
    else:
        again_topic, again = wire.encode(msg)
        assert again_topic == topic
        assert wire.decode(again_topic, again) == msg  # a whole record, never half of one
    decoded = attempt(lambda: collector_decode(topic, payload), RejectedError)
    if isinstance(decoded, RejectedError):
        assert str(decoded), topic
    else:
        assert isinstance(decoded.lines, list)


@FUZZ
@given(topics, st.binary(max_size=2000))
def test_arbitrary_bytes(topic: str, payload: bytes) -> None:
    check(topic, payload)


@FUZZ
@given(topics, json_values())
def test_arbitrary_json(topic: str, doc: Any) -> None:
    check(topic, json.dumps(doc).encode())


@FUZZ
@given(records, st.data())
def test_mutated_valid_payload_bytes(record: Any, data: st.DataObject) -> None:
    topic, payload = wire.encode(record)
    check(topic, mutate_bytes(payload, data.draw))


@FUZZ
@given(records, st.data())
def test_mutated_valid_payload_documents(record: Any, data: st.DataObject) -> None:
    topic, payload = wire.encode(record)
    doc = mutate_doc(json.loads(payload), data.draw, nasty)
    check(topic, json.dumps(doc, ensure_ascii=data.draw(st.booleans())).encode("utf-8", "surrogatepass"))


@FUZZ
@given(station_messages(), st.sampled_from(["ts", "seq", "value", "readings"]), nasty_values())
def test_nasty_values_in_readings(msg: StationMessage, where: str, value: Any) -> None:
    topic, payload = wire.encode(msg)
    doc = json.loads(payload)
    if where in {"ts", "seq", "readings"}:
        doc[where] = value
    elif doc["readings"]:
        next(iter(doc["readings"].values()))["value"] = value
    check(topic, json.dumps(doc).encode("utf-8", "surrogatepass"))


@FUZZ
@given(
    topics,
    st.integers(1, 200_000),
    st.sampled_from([(b"[", b"]"), (b'{"a":', b"}"), (b'{"readings":', b"}")]),
)
def test_deep_nesting(topic: str, depth: int, brackets: tuple[bytes, bytes]) -> None:
    opener, closer = brackets
    check(topic, nested(depth, opener, closer))
    check(topic, b'{"v":1,"station":"s1","readings":' + nested(depth) + b"}")


@FUZZ
@given(topics, st.integers(300, 20_000), st.sampled_from(["seq", "value", "spool_depth", "level"]))
def test_huge_numbers(topic: str, digits: int, key: str) -> None:
    number = b"9" * digits
    check(topic, b'{"v":1,"station":"s1","%s":%s}' % (key.encode(), number))
    check(topic, b'{"v":1,"%s":1e%d}' % (key.encode(), digits))
    check(topic, b'{"v":1,"%s":-%s.5e-99999}' % (key.encode(), number))


@FUZZ
@given(st.text(max_size=300) | st.sampled_from(TOPICS).map(lambda t: t.replace("s1", "a b")), json_values(5))
def test_malformed_topics(topic: str, doc: Any) -> None:
    check(topic, json.dumps(doc).encode())


@FUZZ
@given(records, st.sampled_from(["NaN", "Infinity", "-Infinity", "1e400", "-1e400"]))
def test_nan_and_infinity_anywhere_a_number_goes(record: Any, token: str) -> None:
    topic, payload = wire.encode(record)
    text = payload.decode()
    for number in ("1", "0", "2"):
        check(topic, text.replace(f":{number}", f":{token}", 1).encode())
