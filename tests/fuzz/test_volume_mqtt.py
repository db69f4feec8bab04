"""Bad MQTT input at volume against the real broker, collector and database.

A few thousand malformed and oversized messages (random bytes, truncated and mistyped JSON, deep
nesting, huge numbers, NaN, non-UTF-8, bad topics, multi-MiB payloads, timestamps no database stores)
are published between good readings. Every bad one ends as exactly one dead letter (the local file and
``deadletter/collector``) that keeps its topic, its bytes and a reason; the collector stays up; every good
point is stored exactly; a reading sent after the flood is stored too.
"""

from __future__ import annotations

import asyncio
import base64
import json
import math
import random
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiomqtt
import pytest

from stationpipe.collector.records import decode
from stationpipe.kernel import wire
from stationpipe.kernel.errors import RejectedError
from stationpipe.kernel.reading import Flag, Reading, StationMessage
from stationpipe.testbed.services import Services
from tests.integration.test_collector import (
    PARAMS,
    collector_config,
    count,
    expected_values,
    messages,
    running,
    stored_values,
    wait_for,
)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]
STATION = "fz-vol-01"
GOOD = 300
TOPIC = f"stations/{STATION}/readings"


def _doc(rng: random.Random) -> Any:
    return json.loads(wire.encode(messages(STATION, 1, rng.randrange(10_000))[0])[1])


#: Top-level and per-point edits that no strict decoder may accept.
WRONG_TOP: tuple[tuple[str, object], ...] = (
    ("v", 2),
    ("seq", -1),
    ("seq", "1"),
    ("seq", 1.5),
    ("ts", "2026-13-40T00:00:00Z"),
    ("ts", "2026-11-22T01:00:00"),
    ("ts", True),
    ("station", ""),
    ("device", None),
    ("readings", []),
    ("extra", 1),
)
WRONG_POINT: tuple[tuple[str, object], ...] = (
    ("value", "7.1"),
    ("value", []),
    ("flag", "Z"),
    ("unit", None),
    ("ts", "yesterday"),
    ("x", 1),
)


def _mistyped(rng: random.Random) -> bytes:
    doc = _doc(rng)
    key, value = rng.choice(WRONG_TOP)
    doc[key] = value
    return json.dumps(doc).encode()


def _mistyped_point(rng: random.Random) -> bytes:
    doc = _doc(rng)
    key, value = rng.choice(WRONG_POINT)
    doc["readings"][rng.choice(PARAMS)][key] = value
    return json.dumps(doc).encode()


def _with(valid: bytes, key: str, value: object) -> bytes:
    doc = json.loads(valid)
    doc[key] = value
    return json.dumps(doc).encode()


def _bad_payloads(rng: random.Random) -> list[tuple[str, bytes]]:
    """About 3000 messages the collector must refuse, each for a reason a real fleet produces."""
    valid = wire.encode(messages(STATION, 1, 5)[0])[1]
    nan_value = json.loads(valid)
    nan_value["readings"]["ph"]["value"] = math.nan
    recipes: list[tuple[int, Callable[[], tuple[str, bytes]]]] = [
        (600, lambda: (TOPIC, rng.randbytes(rng.randrange(0, 2000)))),
        (400, lambda: (TOPIC, valid[: rng.randrange(0, len(valid) - 1)])),
        (400, lambda: (TOPIC, _mistyped(rng))),
        (400, lambda: (TOPIC, _mistyped_point(rng))),
        (100, lambda: (TOPIC, b'{"v":1,"readings":' + b"[" * 50_000 + b"]" * 50_000 + b"}")),
        (100, lambda: (TOPIC, valid.replace(b'"seq":5,', b'"seq":-%s,' % (b"9" * rng.randrange(400, 5000))))),
        (
            200,
            lambda: (
                TOPIC,
                json.dumps(nan_value).encode().replace(b"NaN", rng.choice([b"NaN", b"Infinity"])),
            ),
        ),
        (200, lambda: (TOPIC, valid.replace(b"mg/L", b"mg/\xff\xfeL", 1))),  # not UTF-8
        (200, lambda: (f"stations/{STATION}-other/readings", valid)),  # topic and payload disagree
        (100, lambda: ("stations/bad id!/readings", valid)),
        (
            100,
            lambda: (
                TOPIC,
                _with(valid, "ts", rng.choice(["0001-01-01T00:00:00+23:59", "9999-12-31T23:59:59-23:59"])),
            ),
        ),
        (100, lambda: (f"derived/{STATION}/water_class", rng.randbytes(64))),
        (100, lambda: (f"warnings/{STATION}/rule", b'{"v":1,"level":99}')),
        (8, lambda: (TOPIC, rng.randbytes(1 << 20))),  # 1 MiB of noise
        (2, lambda: (TOPIC, _with(valid, "pad", "x" * (4 << 20)))),  # 4 MiB of JSON
    ]
    out = [make() for number, make in recipes for _ in range(number)]
    rng.shuffle(out)
    for topic, payload in out:  # the generator's own check: every one of them is bad input
        with pytest.raises(RejectedError):
            decode(topic, payload)
    return out


def _unstorable() -> list[StationMessage]:
    """Valid on the wire, refused by the database: instants past 2262, beyond int64 nanoseconds."""
    out = []
    for i in range(5):
        ts = datetime(2300 + i, 1, 1, tzinfo=UTC)
        out.append(
            StationMessage(STATION, "sonde", 10_000 + i, ts, (Reading(STATION, "ph", 7.0, "pH", ts, Flag.N),))
        )
    return out


def _interleave(good: list[tuple[str, bytes]], bad: list[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
    step = max(1, len(bad) // len(good))
    out: list[tuple[str, bytes]] = []
    for i, item in enumerate(good):
        out.extend(bad[i * step : (i + 1) * step])
        out.append(item)
    out.extend(bad[len(good) * step :])
    return out


def _letters(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _original(letter: dict[str, object]) -> tuple[str, bytes]:
    payload = str(letter["payload"])
    raw = base64.b64decode(payload) if letter["encoding"] == "base64" else payload.encode()
    return str(letter["topic"]), raw


async def test_thousands_of_bad_messages_are_dead_lettered_and_good_data_stored(
    services: Services, tmp_path: Path
) -> None:
    rng = random.Random(20261122)
    bad = _bad_payloads(rng)
    good_msgs = messages(STATION, GOOD)
    unstorable = _unstorable()
    traffic = _interleave([wire.encode(m) for m in good_msgs], bad) + [wire.encode(m) for m in unstorable]
    config = collector_config(services, tmp_path, "fz-volume", batch={"max_age": 0.2, "max_messages": 400})
    async with aiomqtt.Client("127.0.0.1", services.mosquitto.port, identifier="fz-vol-dl") as probe:
        await probe.subscribe("deadletter/collector", qos=1)
        async with (
            running(config) as metrics,
            aiomqtt.Client(
                "127.0.0.1", services.mosquitto.port, identifier="fz-vol-pub", max_queued_outgoing_messages=0
            ) as pub,
        ):
            for topic, payload in traffic:
                await pub.publish(topic, payload, qos=1)
            await wait_for(
                lambda: (
                    metrics.value("stationpipe_collector_dead_letters_total", cause="undecodable") >= len(bad)
                ),
                "every bad message dead-lettered",
                within=90,
            )
            await wait_for(
                lambda: count(services, STATION) >= GOOD * len(PARAMS), "good points stored", within=60
            )
            await wait_for(
                lambda: (
                    metrics.value("stationpipe_collector_dead_letters_total", cause="rejected")
                    >= len(unstorable)
                ),
                "points the database refuses dead-lettered",
            )
            after = messages(STATION, 1, GOOD + 7)[0]  # one more good reading, after the flood
            await pub.publish(*wire.encode(after), qos=1)
            await wait_for(
                lambda: count(services, STATION) >= (GOOD + 1) * len(PARAMS), "the collector is still up"
            )
            assert metrics.value("stationpipe_collector_dead_letters_total", cause="undecodable") == len(bad)
            assert metrics.value("stationpipe_collector_dead_letters_total", cause="rejected") == len(
                unstorable
            )
            assert metrics.value("stationpipe_collector_messages_total", kind="readings") == GOOD + 1 + len(
                unstorable
            )
        published = 0
        async with asyncio.timeout(30):
            async for _ in probe.messages:
                published += 1
                if published == len(bad) + len(unstorable):
                    break
    assert stored_values(services, STATION) == expected_values([*good_msgs, after])
    letters = _letters(tmp_path / "deadletters.jsonl")
    assert all(letter["reason"] for letter in letters)
    undecodable = [letter for letter in letters if not str(letter["payload"]).startswith("readings,")]
    assert Counter(map(_original, undecodable)) == Counter(bad)  # each bad message once, bytes kept
    reasons = Counter(str(letter["reason"]).split(":")[0] for letter in undecodable)
    assert len(reasons) > 5, reasons  # the reasons name different fields, not one catch-all
