"""Rules engine benchmark: readings evaluated per second in process, and publication -> warning latency.

    .venv/bin/python -m bench.rules_eval [--stations 1000] [--messages 20000] [--rate 1000] [--seconds 10]
    .venv/bin/python -m bench.rules_eval --smoke   # 20 stations, 200 messages, 1 s at 100/s: checks it runs

1. In process: ``--stations`` stations (90 % water sections, 10 % air stations) with the full rule set
   (section, target, trend, rate, flat-line, flags, threshold, AQI, deadman); ``--messages`` readings
   messages (5 water items or 6 pollutants each) through ``Evaluator.process``. Baseline in the same run:
   strict wire decoding of the same messages (``stationpipe.kernel.wire.decode``); the ratio is printed.
2. End to end through a real Mosquitto: the engine (``stationpipe.rules.engine.run``) on a state file;
   ``--rate`` single-reading messages per second for ``--seconds``, each flipping its station's NH3-N
   across the class III limit so each one changes a warning; latency = warning received - reading
   published (p50, p99).
Its ``--smoke`` run is part of the test suite (tests/bench). Loopback only; bounded in count and time.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiomqtt

from bench import smoke
from stationpipe.kernel import wire
from stationpipe.kernel.messages import WarningEvent
from stationpipe.kernel.reading import Reading, StationMessage
from stationpipe.kernel.runtime import tune_gc
from stationpipe.rules.config import RulesConfig
from stationpipe.rules.engine import run
from stationpipe.rules.evaluator import Evaluator
from stationpipe.testbed.services import Mosquitto

T0 = datetime(2026, 5, 1, tzinfo=UTC)
WATER = {"ph": 7.5, "do": 6.0, "codmn": 4.0, "nh3n": 0.9, "tp": 0.15}
AIR = {"so2": 10.0, "no2": 30.0, "co": 0.6, "o3": 80.0, "pm10": 60.0, "pm25": 35.0}
RULES: list[dict[str, Any]] = [
    {"name": "section", "kind": "section"},
    {"name": "tn-target", "kind": "target", "limits": {"tp": 0.18}},
    {"name": "trend", "kind": "trend", "parameters": ["nh3n", "tp", "codmn"]},
    {"name": "rate", "kind": "rate", "parameters": ["nh3n"], "rise": 0.5, "within": "1h"},
    {"name": "flat", "kind": "flatline", "count": 12},
    {"name": "flags", "kind": "flags"},
    {"name": "turbid", "kind": "threshold", "parameters": ["turb", "pm25"], "above": 500},
    {"name": "aqi", "kind": "aqi", "standard": "HJ633-2026"},
    {"name": "silent", "kind": "deadman", "silent_for": "2h"},
]
SMOKE = {"stations": 20, "messages": 200, "rate": 100, "seconds": 1.0}


def registry(stations: int) -> str:
    """A registry TOML of ``stations`` stations, one in ten an air station."""
    out = ['kind = "registry"']
    for i in range(stations):
        air = i % 10 == 9
        out.append(f'[[stations]]\nid = "s{i:04d}"\nname = "站{i}"\nlat = 30.0\nlon = 120.0')
        out.append('kind = "air"' if air else 'kind = "water"\ntarget_class = "III"\nwater_body = "river"')
    return "\n".join(out) + "\n"


def make_config(tmp: Path, stations: int, port: int = 1883) -> RulesConfig:
    (tmp / "registry.toml").write_text(registry(stations), encoding="utf-8")
    return RulesConfig.model_validate(
        {
            "registry": str(tmp / "registry.toml"),
            "state": str(tmp / "state.sqlite3"),
            "mqtt": {"port": port, "client_id": "bench-rules"},
            "rules": RULES,
        }
    )


def messages(stations: int, count: int) -> list[StationMessage]:
    """``count`` messages round-robin over the stations, one minute apart per station, values jittered."""
    out = []
    for n in range(count):
        i, k = n % stations, n // stations
        station, ts = f"s{i:04d}", T0 + timedelta(minutes=k)
        base = AIR if i % 10 == 9 else WATER
        readings = tuple(
            Reading(station, p, v * (1 + 0.05 * ((n + j) % 7)), "mg/L", ts)
            for j, (p, v) in enumerate(base.items())
        )
        out.append(StationMessage(station, "dev", k, ts, readings))
    return out


def in_process(stations: int, count: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        cfg = make_config(Path(tmp), stations)
        msgs = messages(stations, count)
        values = sum(len(m.readings) for m in msgs)
        encoded = [wire.encode(m) for m in msgs]
        started = time.perf_counter()
        for topic, payload in encoded:
            wire.decode(topic, payload)
        decode_rate = values / (time.perf_counter() - started)
        ev = Evaluator(cfg, cfg.load_registry(), T0)
        tune_gc()  # as the service does once its rules and state are loaded
        started = time.perf_counter()
        for m in msgs:
            ev.process(m, m.ts)
        rate = values / (time.perf_counter() - started)
    print(f"in process: {stations} stations, {len(RULES)} rules, {values} readings")
    print(
        f"  evaluated: {rate:,.0f} readings/s   (baseline strict wire decode: {decode_rate:,.0f} readings/s,"
        f" ratio {rate / decode_rate:.2f})"
    )


async def end_to_end(stations: int, rate: int, seconds: float) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        broker = Mosquitto("mosquitto", Path(tmp))
        broker.start()
        try:
            await _measure(make_config(Path(tmp), stations, broker.port), stations, rate, seconds)
        finally:
            broker.stop()


async def _publish_all(
    pub: aiomqtt.Client, stations: int, rate: int, seconds: float, sent: dict[tuple[str, datetime], float]
) -> int:
    """Publish ``rate`` x ``seconds`` single-reading messages, paced; record each publication time."""
    total = int(rate * seconds)
    start = time.perf_counter()
    now = datetime.now(UTC).replace(microsecond=0)
    water = [f"s{i:04d}" for i in range(stations) if i % 10 != 9]
    for n in range(total):
        station, k = water[n % len(water)], n // len(water)
        ts = now + timedelta(milliseconds=k)
        value = 1.3 if k % 2 == 0 else 0.2  # yellow, then resolved: every message changes a warning
        topic, payload = wire.encode(
            StationMessage(station, "b", k, ts, (Reading(station, "nh3n", value, "mg/L", ts),))
        )
        delay = start + n / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)  # pacing the publisher to --rate
        sent[station, ts] = time.perf_counter()
        await pub.publish(topic, payload, qos=1)
    return total


async def _measure(cfg: RulesConfig, stations: int, rate: int, seconds: float) -> None:
    sent: dict[tuple[str, datetime], float] = {}
    latencies: list[float] = []
    ready = asyncio.Event()
    engine = asyncio.create_task(run(cfg, ready))
    try:
        async with asyncio.timeout(20):
            await ready.wait()
        async with (
            aiomqtt.Client(
                "127.0.0.1", cfg.mqtt.port, identifier="bench-sub", max_queued_incoming_messages=0
            ) as sub,
            aiomqtt.Client(
                "127.0.0.1", cfg.mqtt.port, identifier="bench-pub", max_inflight_messages=1000
            ) as pub,
        ):
            await sub.subscribe("warnings/#", qos=1)

            async def collect() -> None:
                async for message in sub.messages:
                    got = time.perf_counter()
                    payload = message.payload if isinstance(message.payload, bytes) else b""
                    msg = wire.decode(message.topic.value, payload)
                    if isinstance(msg, WarningEvent) and (key := (msg.station, msg.ts)) in sent:
                        latencies.append(got - sent.pop(key))
                        if finished and not sent:
                            drained.set()

            drained = asyncio.Event()
            finished = False
            collector = asyncio.create_task(collect())
            total = await _publish_all(pub, stations, rate, seconds, sent)
            finished = True
            if not sent:
                drained.set()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(30):
                    await drained.wait()
            collector.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await collector
    finally:
        engine.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await engine
    lat = sorted(latencies)
    if not lat:
        print("end to end: no warnings received")
        return
    p50, p99 = lat[len(lat) // 2], lat[min(len(lat) - 1, int(len(lat) * 0.99))]
    print(f"end to end: {total} readings at {rate}/s -> {len(lat)} warnings ({len(sent)} missing)")
    print(
        f"  publication -> warning latency: p50 {p50 * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms,"
        f" mean {statistics.fmean(lat) * 1000:.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stations", type=int, default=1000)
    parser.add_argument("--messages", type=int, default=20000)
    parser.add_argument("--rate", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = smoke.parse(parser, SMOKE)
    in_process(args.stations, args.messages)
    asyncio.run(end_to_end(args.stations, args.rate, args.seconds))


if __name__ == "__main__":
    main()
