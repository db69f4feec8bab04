"""The collector against the real broker and database: exact storage of readings, derived results and
warnings, dead letters (undecodable input, a field-type conflict), station metadata, metrics, and two
collectors sharing the load. The helpers here are shared by the other ``test_collector_*`` files."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiomqtt
import httpx
import pytest

from stationpipe.collector.config import CollectorConfig
from stationpipe.collector.metrics import Metrics
from stationpipe.collector.service import run
from stationpipe.kernel import wire
from stationpipe.kernel.messages import AlertState, Derived, WarningEvent
from stationpipe.kernel.reading import Flag, Reading, StationMessage
from stationpipe.testbed.services import Services, free_port
from tests.waiting import service, until

pytestmark = pytest.mark.integration
PARAMS = ("ph", "do", "codmn", "nh3n", "tp")
T0 = datetime(2026, 11, 22, 3, 4, 5, 123456, tzinfo=UTC)


def collector_config(services: Services, state: Path, name: str, **extra: Any) -> CollectorConfig:
    """A collector of group ``name`` (client id ``name`` unless given) with its state in ``state``."""
    doc: dict[str, Any] = {
        "group": name,
        "state_dir": str(state),
        "mqtt": {"port": services.mosquitto.port, "client_id": extra.pop("client_id", name)},
        "influx": {"url": services.influx.url, "database": services.influx.database},
        "batch": {"max_age": 0.2},
    }
    doc.update(extra)
    return CollectorConfig.model_validate(doc)


@contextlib.asynccontextmanager
async def running(config: CollectorConfig) -> AsyncIterator[Metrics]:
    """Run a collector in this event loop until the block ends; yields its metrics once subscribed."""
    metrics = Metrics()
    async with service(lambda ready: run(config, ready, metrics)):
        yield metrics


async def wait_for(check: Callable[[], bool], what: str, within: float = 30.0) -> None:
    """Poll ``check`` (a real query) until true, failing after ``within`` seconds."""
    await until(check, what, within)


def messages(station: str, count: int, start: int = 0) -> list[StationMessage]:
    """``count`` readings messages of ``len(PARAMS)`` values each, one second apart, values distinct."""
    out = []
    for seq in range(start, start + count):
        ts = T0 + timedelta(seconds=seq)
        readings = tuple(
            Reading(station, p, seq + i / 10, "mg/L", ts, Flag.N if seq % 7 else Flag.M)
            for i, p in enumerate(PARAMS)
        )
        out.append(StationMessage(station, "sonde", seq, ts, readings))
    return out


async def publish(services: Services, items: list[tuple[str, bytes]]) -> None:
    """Publish each (topic, payload) at QoS 1 and wait for the broker's acknowledgements."""
    await publish_to(services.mosquitto.port, items)


async def publish_to(port: int, items: list[tuple[str, bytes]]) -> None:
    """``publish`` to the broker on ``port``."""
    async with aiomqtt.Client("127.0.0.1", port, max_queued_outgoing_messages=0) as pub:
        for topic, payload in items:
            await pub.publish(topic, payload, qos=1)


def count(services: Services, station: str, measurement: str = "readings", field: str = "flag") -> int:
    """Points of one station in one measurement (``count`` of a field every point has)."""
    rows = services.influx.query(f"SELECT count(\"{field}\") FROM {measurement} WHERE station = '{station}'")
    return int(rows[0]["values"][0][1]) if rows else 0


def stored_values(services: Services, station: str) -> dict[tuple[int, str], tuple[Any, Any]]:
    """(time ns, parameter) -> (value, flag) of every stored reading of a station."""
    rows = services.influx.query(f"SELECT value, flag, parameter FROM readings WHERE station = '{station}'")
    return {(t, p): (v, f) for t, v, f, p in rows[0]["values"]} if rows else {}


def expected_values(msgs: list[StationMessage]) -> dict[tuple[int, str], tuple[float, str]]:
    """What ``stored_values`` must return for these messages."""
    out = {}
    for m in msgs:
        for r in m.readings:
            assert r.value is not None
            out[(int(r.ts.timestamp()) * 10**9 + r.ts.microsecond * 1000, r.parameter)] = (
                r.value,
                r.flag.value,
            )
    return out


async def test_n_messages_in_exactly_their_points_stored(services: Services, tmp_path: Path) -> None:
    station = "it-exact-01"
    msgs = messages(station, 300)
    async with running(collector_config(services, tmp_path, "it-exact")) as metrics:
        before = time.time()
        await publish(services, [wire.encode(m) for m in msgs])
        await wait_for(lambda: count(services, station) >= 300 * len(PARAMS), "all points stored")
        await wait_for(
            lambda: metrics.value("stationpipe_collector_points_written_total") >= 1500, "metrics caught up"
        )
        assert metrics.value("stationpipe_collector_messages_total", kind="readings") == 300
        assert before <= metrics.value("stationpipe_collector_last_write_timestamp_seconds") <= time.time()
    assert stored_values(services, station) == expected_values(msgs)
    assert count(services, station) == 300 * len(PARAMS)


async def test_a_steady_trickle_is_stored_within_a_write_not_after_max_age(
    services: Services, tmp_path: Path
) -> None:
    """Group commit: messages published back to back (each after the last one's PUBACK) never leave the
    batch idle for ``max_idle`` and ``max_age`` is 30 s, yet with no other write in flight each batch goes
    out once it is ``gather`` old: the first points are stored while the stream still flows."""
    station, msgs = "it-trickle-01", messages("it-trickle-01", 3000)
    batch = {"max_age": 30.0, "max_idle": 30.0, "gather": 0.05, "max_messages": 5000, "max_points": 100_000}
    stored_first = asyncio.Event()
    sent: list[StationMessage] = []

    async def stream() -> None:  # until the first points are stored, bounded by the 3,000 messages
        async with aiomqtt.Client("127.0.0.1", services.mosquitto.port) as pub:
            for m in msgs:
                if stored_first.is_set():
                    return
                await pub.publish(*wire.encode(m), qos=1)
                sent.append(m)

    async with running(collector_config(services, tmp_path, "it-trickle", batch=batch)):
        publisher = asyncio.create_task(stream())
        await wait_for(lambda: count(services, station) > 0, "the first points stored mid-stream", 10)
        assert not publisher.done(), "the stream ended before anything was stored"
        stored_first.set()
        await publisher
        await wait_for(lambda: count(services, station) == len(sent) * len(PARAMS), "the stream stored", 40)
    assert len(sent) < len(msgs)
    assert stored_values(services, station) == expected_values(sent)


def _derived_and_warnings(station: str) -> list[Derived | WarningEvent]:
    return [
        Derived(station, "water_class", T0, {"class": 4, "worst": "nh3n", "exceed": ("nh3n", "tp")}),
        Derived(station, "aqi", T0, {"aqi": 152.0, "level": 4, "primary": "pm25"}),
        Derived(station, "capture_rate", T0, {"rate": 0.95}),
        WarningEvent(
            station, "nh3n-high", 3, AlertState.FIRING, "氨氮超标 NH3-N high", T0, T0, "nh3n", 2.1, 1.5
        ),
    ]


async def test_derived_results_and_warnings_follow_the_schema(services: Services, tmp_path: Path) -> None:
    station = "it-derived-01"
    items = [wire.encode(m) for m in _derived_and_warnings(station)]
    async with running(collector_config(services, tmp_path, "it-derived")):
        await publish(services, items)
        await wait_for(lambda: count(services, station, "warnings", "state") == 1, "warning stored")
        await wait_for(lambda: count(services, station, "capture_rate", "rate") == 1, "capture rate stored")
    q = services.influx.query
    wc = q(f"SELECT class, worst, exceed FROM water_class WHERE station = '{station}'")[0]["values"]
    assert [row[1:] for row in wc] == [[4, "nh3n", "nh3n,tp"]]
    aqi = q(f"SELECT aqi, level, primary FROM aqi WHERE station = '{station}'")[0]["values"]
    assert [row[1:] for row in aqi] == [[152, 4, "pm25"]]
    fields = q('SHOW FIELD KEYS FROM "water_class"')[0]["values"]
    assert ["class", "integer"] in fields
    warn = q(f"SELECT * FROM warnings WHERE station = '{station}'")[0]
    row = dict(zip(warn["columns"], warn["values"][0], strict=True))
    assert (row["rule"], row["level"], row["state"]) == ("nh3n-high", "3", "firing")
    assert (row["value"], row["limit"], row["parameter"]) == (2.1, 1.5, "nh3n")
    assert row["started"] == "2026-11-22T03:04:05.123456Z"
    assert row.get("ended") is None  # other tests' warnings may have added the column, never our value


async def _probe(services: Services, topic: str, name: str) -> aiomqtt.Client:
    client = aiomqtt.Client("127.0.0.1", services.mosquitto.port, identifier=name)
    await client.__aenter__()
    await client.subscribe(topic, qos=1)
    return client


async def _letters(probe: aiomqtt.Client, n: int) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    async with asyncio.timeout(20):
        while len(out) < n:
            payload = (await anext(probe.messages)).payload
            assert isinstance(payload, bytes)
            out.append(json.loads(payload))
    return out


async def test_malformed_payloads_and_a_type_conflict_are_dead_lettered_the_rest_stored(
    services: Services, tmp_path: Path
) -> None:
    station = "it-dl-01"
    conflict_at = datetime(2031, 1, 1, tzinfo=UTC)
    # an integer field already in the database: our float for the same field is a type conflict
    # field types are per measurement and shard (a week): this week of 2031 is ours alone
    line = f"readings,station={station},parameter=tn value=3i {int(conflict_at.timestamp()) * 10**9}"
    async with httpx.AsyncClient(timeout=10) as http:
        resp = await http.post(
            f"{services.influx.url}/write", params={"db": services.influx.database}, content=line
        )
        resp.raise_for_status()
    good = messages(station, 20)
    conflicting = StationMessage(
        station,
        "nutrients",
        1,
        conflict_at,
        (Reading(station, "tn", 2.5, "mg/L", conflict_at + timedelta(hours=1), Flag.N),),
    )
    bad = [
        ("stations/it-dl-01/readings", b'{"v":1,"station":"it-dl-01"}'),
        ("stations/it-dl-01/readings", b"\xff\xfe not json"),
        ("derived/it-dl-01/water_class", b'{"v":1,"station":"it-dl-01","index":"water_class","ts":"x"}'),
        ("warnings/it-dl-01/r", b"[]"),
    ]
    probe = await _probe(services, "deadletter/collector", "probe-dl")
    try:
        async with running(collector_config(services, tmp_path, "it-dl")) as metrics:
            items = [*bad[:2], *(wire.encode(m) for m in good[:10]), wire.encode(conflicting), *bad[2:]]
            await publish(services, [*items, *(wire.encode(m) for m in good[10:])])
            letters = await _letters(probe, 5)
            await wait_for(lambda: count(services, station) >= 20 * len(PARAMS), "the good points stored")
            assert metrics.value("stationpipe_collector_dead_letters_total", cause="undecodable") == 4
            assert metrics.value("stationpipe_collector_dead_letters_total", cause="rejected") == 1
    finally:
        await probe.__aexit__(None, None, None)
    stored = stored_values(services, station)
    assert stored.pop((int(conflict_at.timestamp()) * 10**9, "tn")) == (3, None)  # the pre-written integer
    assert stored == expected_values(good)
    by_cause = sorted(letters, key=lambda d: d["topic"])
    reasons = [d["reason"] for d in by_cause]
    assert any("type conflict" in r for r in reasons), reasons
    assert any("device" in r for r in reasons)  # names the missing field
    rejected = next(d for d in letters if "type conflict" in d["reason"])
    assert rejected["topic"] == "stations/it-dl-01/readings"
    assert rejected["payload"].startswith("readings,parameter=tn,station=it-dl-01 ")
    on_disk = [json.loads(x) for x in (tmp_path / "deadletters.jsonl").read_text().splitlines()]
    assert sorted(d["reason"] for d in on_disk) == sorted(reasons)


async def clear_retained(services: Services) -> None:
    """Delete every retained message on the broker (earlier tests leave warning states that a new
    collector would receive on subscribing, and count, from stations outside this test's registry)."""
    topics: set[str] = set()
    async with aiomqtt.Client("127.0.0.1", services.mosquitto.port, identifier=f"clr{free_port()}") as client:
        await client.subscribe("#", qos=1)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(1.0):  # retained messages arrive at once after SUBACK
                async for message in client.messages:
                    if message.retain:
                        topics.add(message.topic.value)
        for topic in topics:
            await client.publish(topic, b"", qos=1, retain=True)


async def test_registry_is_stored_reloaded_and_unknown_stations_counted(
    services: Services, tmp_path: Path
) -> None:
    await clear_retained(services)
    registry = tmp_path / "registry.toml"
    entry = (
        '[[stations]]\nid = "{id}"\nname = "{name}"\nkind = "water"\ncity = "杭州"\nriver = "钱塘江"\n'
        'section = "闸口断面"\ntarget_class = "II"\nwater_body = "river"\nlat = 30.2\nlon = 120.1\n'
    )
    registry.write_text('kind = "registry"\n' + entry.format(id="it-reg-01", name="钱塘江闸口"))
    port = free_port()
    config = collector_config(services, tmp_path, "it-reg", registry=str(registry), metrics={"port": port})

    def names() -> list[dict[str, Any]]:
        return services.influx.query(
            'SELECT last("name") FROM stations WHERE station =~ /^it-reg-/ GROUP BY station'
        )

    async with running(config) as metrics:
        await wait_for(lambda: len(names()) == 1, "registry written at start-up")
        await publish(
            services, [wire.encode(m) for m in [*messages("it-reg-01", 2), *messages("it-reg-99", 3)]]
        )
        await wait_for(
            lambda: metrics.value("stationpipe_collector_unknown_station_messages_total") == 3,
            "unknown counted",
        )
        registry.write_text(
            'kind = "registry"\n'
            + entry.format(id="it-reg-01", name="闸口")
            + entry.format(id="it-reg-02", name="新塘")
        )
        await wait_for(lambda: len(names()) == 2, "registry rewritten after the change", within=15)
        async with httpx.AsyncClient(timeout=5) as http:
            text = (await http.get(f"http://127.0.0.1:{port}/metrics")).text
    latest = {s["tags"]["station"]: s["values"][0][1] for s in names()}
    assert latest == {"it-reg-01": "闸口", "it-reg-02": "新塘"}
    tags = services.influx.query("SHOW TAG VALUES FROM stations WITH KEY = city")
    assert ["city", "杭州"] in tags[0]["values"]
    for name in (
        "stationpipe_collector_messages_total",
        "stationpipe_collector_points_written_total",
        "stationpipe_collector_batches_total",
        "stationpipe_collector_write_retries_total",
        "stationpipe_collector_spool_points",
        "stationpipe_collector_dead_letters_total",
        "stationpipe_collector_write_seconds_bucket",
        "stationpipe_collector_last_write_timestamp_seconds",
        "stationpipe_collector_unknown_station_messages_total 3.0",
    ):
        assert name in text, name


async def test_two_collectors_share_the_load_and_store_each_message_once(
    services: Services, tmp_path: Path
) -> None:
    station = "it-share-01"
    msgs = messages(station, 400)
    one = collector_config(services, tmp_path / "a", "it-share", client_id="it-share-a")
    two = collector_config(services, tmp_path / "b", "it-share", client_id="it-share-b")
    async with running(one) as m1, running(two) as m2:
        await publish(services, [wire.encode(m) for m in msgs])

        def got() -> float:
            return m1.value("stationpipe_collector_messages_total", kind="readings") + m2.value(
                "stationpipe_collector_messages_total", kind="readings"
            )

        await wait_for(lambda: got() >= 400 and count(services, station) >= 2000, "all stored")
        assert got() == 400  # each message delivered to exactly one of them
        assert m1.value("stationpipe_collector_messages_total", kind="readings") > 0
        assert m2.value("stationpipe_collector_messages_total", kind="readings") > 0
    assert stored_values(services, station) == expected_values(msgs)
