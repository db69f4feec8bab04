"""Collector ingest benchmark: sustained values/s from MQTT into InfluxDB, against writing the same line
protocol straight to InfluxDB in the same run (same batch size, gzip, one request at a time).

    .venv/bin/python bench/collector_ingest.py [--messages 20000] [--values 10] [--runs 3]

Each run publishes ``--messages`` readings messages (``--values`` readings each) from a separate process
into the broker while a collector (this process, ``collector.service.run``) stores them; the rate is the
values stored divided by the time from the first message published to the last point written. The
baseline writes the same lines with httpx. Medians of ``--runs`` are printed, and their ratio.
Not run by pytest.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from collector.config import CollectorConfig
from collector.metrics import Metrics
from collector.points import readings_lines
from collector.service import run
from station import wire
from station.reading import Flag, Reading, StationMessage
from testbed.services import Services, running_services

PARAMS = (
    "ph",
    "do",
    "codmn",
    "nh3n",
    "tp",
    "tn",
    "temp",
    "cond",
    "turb",
    "chla",
    "cod",
    "bod5",
    "f",
    "cu",
    "zn",
)
T0 = datetime(2026, 1, 1, tzinfo=UTC)

_PUBLISHER = """
import sys, threading, paho.mqtt.client as mqtt
port, path = int(sys.argv[1]), sys.argv[2]
items = [line.split(b" ", 1) for line in open(path, "rb").read().split(b"\\n") if line]
connected = threading.Event()
c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="bench-pub")
c.on_connect = lambda *args: connected.set()
c.max_inflight_messages_set(1000)
c.max_queued_messages_set(0)
c.connect("127.0.0.1", port)
c.loop_start()
if not connected.wait(30):
    sys.exit("publisher: no CONNACK")
infos = [c.publish(topic.decode(), payload, qos=1) for topic, payload in items]
for info in infos:
    info.wait_for_publish(120)
    if info.rc != 0 or not info.is_published():
        sys.exit(f"publisher: message {info.mid} failed rc={info.rc}")
c.disconnect()
c.loop_stop()
"""


def make_messages(count: int, values: int, run_no: int) -> list[StationMessage]:
    """``count`` messages spread over 100 stations, ``values`` readings each, unique timestamps per run."""
    out = []
    for i in range(count):
        station = f"bench-{i % 100:03d}"
        ts = T0 + timedelta(days=run_no, seconds=i // 100)
        readings = tuple(
            Reading(station, p, i + k / 8, "mg/L", ts, Flag.N) for k, p in enumerate(PARAMS[:values])
        )
        out.append(StationMessage(station, "sonde", i, ts, readings))
    return out


def _config(svc: Services, state: Path, run_no: int) -> CollectorConfig:
    return CollectorConfig.model_validate(
        {
            "group": f"bench{run_no}",
            "state_dir": str(state),
            "mqtt": {"port": svc.mosquitto.port, "client_id": f"bench-collector-{run_no}"},
            "influx": {"url": svc.influx.url, "database": svc.influx.database},
            "batch": {"max_points": 50_000, "max_messages": 500, "max_age": 1.0},
        }
    )


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a live process has used so far (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _cpu(svc: Services) -> dict[str, float]:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)  # the publisher, once reaped
    procs = {"mosquitto": svc.mosquitto.proc, "influxd": svc.influx.proc}
    out = {name: cpu_seconds(p.pid) for name, p in procs.items() if p is not None}
    out["collector"] = own.ru_utime + own.ru_stime
    out["publisher"] = kids.ru_utime + kids.ru_stime
    return out


async def collector_run(svc: Services, msgs: list[StationMessage], run_no: int, work: Path) -> float:
    """Values/s from the first publish to the last point written, through a real collector.

    Also prints the CPU seconds each process used meanwhile, and the wall time: that says what bounds it.
    """
    points = sum(len(m.readings) for m in msgs)
    feed = work / f"feed-{run_no}"
    feed.write_bytes(b"\n".join(b"%s %s" % (t.encode(), p) for t, p in map(wire.encode, msgs)))
    metrics, ready = Metrics(), asyncio.Event()
    task = asyncio.create_task(run(_config(svc, work / f"state-{run_no}", run_no), ready, metrics))
    try:
        async with asyncio.timeout(30):
            await ready.wait()
        before = _cpu(svc)
        started = time.perf_counter()
        pub = subprocess.Popen([sys.executable, "-c", _PUBLISHER, str(svc.mosquitto.port), str(feed)])  # noqa: ASYNC220
        async with asyncio.timeout(600):
            while metrics.value("collector_points_written_total") < points:  # noqa: ASYNC110
                await asyncio.sleep(0.01)  # polling the counter, bounded by the timeout
        elapsed = time.perf_counter() - started
        pub.wait(60)
        used = {k: v - before[k] for k, v in _cpu(svc).items()}
        print(f"  wall {elapsed:.2f} s; CPU s: " + ", ".join(f"{k} {v:.2f}" for k, v in used.items()))
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    return points / elapsed


def direct_run(svc: Services, msgs: list[StationMessage], batch_messages: int) -> float:
    """Values/s writing the same lines straight to InfluxDB: same batches, gzip level 1, sequential."""
    lines = [readings_lines(m) for m in msgs]
    batches = [
        "\n".join(x for group in lines[i : i + batch_messages] for x in group).encode()
        for i in range(0, len(lines), batch_messages)
    ]
    points = sum(len(g) for g in lines)
    with httpx.Client(base_url=svc.influx.url, timeout=60) as client:
        started = time.perf_counter()
        for body in batches:
            resp = client.post(
                "/write",
                params={"db": svc.influx.database, "precision": "ns"},
                content=gzip.compress(body, compresslevel=1),
                headers={"Content-Encoding": "gzip"},
            )
            resp.raise_for_status()
        return points / (time.perf_counter() - started)


async def main(count: int, values: int, runs: int) -> None:
    """Alternate collector and direct runs on fresh timestamps; print medians and the ratio."""
    via, direct = [], []
    with running_services() as svc, tempfile.TemporaryDirectory() as tmp:
        for run_no in range(runs):
            via.append(await collector_run(svc, make_messages(count, values, 2 * run_no), run_no, Path(tmp)))
            direct.append(direct_run(svc, make_messages(count, values, 2 * run_no + 1), 500))
            print(f"run {run_no + 1}: collector {via[-1]:,.0f} values/s, direct {direct[-1]:,.0f} values/s")
    v, d = statistics.median(via), statistics.median(direct)
    print(f"messages/run {count}, values/message {values}, runs {runs}")
    print(f"collector (MQTT -> InfluxDB): {v:,.0f} values/s ({v / values:,.0f} messages/s) median")
    print(f"direct line protocol -> InfluxDB: {d:,.0f} values/s median")
    print(f"ratio collector/direct: {v / d:.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--values", type=int, default=10, choices=range(1, len(PARAMS) + 1))
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(main(args.messages, args.values, args.runs))
