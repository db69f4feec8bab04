"""Collector ingest benchmark: sustained values/s from MQTT into InfluxDB, against writing the same line
protocol straight to InfluxDB in the same run (same batch size, gzip, one request at a time).

    .venv/bin/python -m bench.collector_ingest [--messages 50000] [--values 10] [--runs 5]
        [--collectors 1] [--publisher raw|mosquitto_pub]
    .venv/bin/python -m bench.collector_ingest --smoke   # 500 messages, one run: checks that it runs

Each run publishes ``--messages`` readings messages (``--values`` readings each) from a separate process
into the broker while ``--collectors`` collector processes (``stationpipe collector``, default one) store
them; the rate is the values stored divided by the time from the first message published to the last
point written. The load generator is by default ``bench/raw_publisher.py`` (packets prepared before the
clock starts, as the baseline prepares its bodies); ``--publisher mosquitto_pub`` uses ten C clients,
which take ~0.5 CPU-s per 50,000 messages from the same two cores. The baseline writes the same lines
with httpx into a database of its own: InfluxDB writes a shard's cache out to disk after about a million of
these points (~0.3 s of its CPU), and in one shared database that cost would land in a run in proportion to
its duration, so the collector's longer runs would pay for most of the baseline's. Medians of ``--runs``
are printed, and their ratio. Its ``--smoke`` run is part of the test suite (tests/bench)."""

from __future__ import annotations

import argparse
import gzip
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from bench import smoke
from bench.procstat import cpu_seconds
from stationpipe.collector.points import readings_lines
from stationpipe.kernel import wire
from stationpipe.kernel.reading import Flag, Reading, StationMessage
from stationpipe.testbed.services import Services, free_port, running_services, wait_until

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

STATIONS = 10  # one publisher process per station topic
SMOKE = {"messages": 500, "runs": 1}


class MosquittoPubs:
    """One ``mosquitto_pub -l`` (C, QoS 1) per station topic, each sending its feed file line by line
    (``--publisher mosquitto_pub``): ~10 µs of CPU a message, taken from the cores under test."""

    def __init__(self, port: int, feeds: dict[str, Path]) -> None:
        exe = shutil.which("mosquitto_pub")
        if exe is None:
            raise SystemExit("mosquitto_pub not found: apt-get install mosquitto-clients (scripts/test does)")
        self.argvs = [
            ([exe, "-h", "127.0.0.1", "-p", str(port), "-q", "1", "-M", "1000", "-l", "-t", topic], feed)
            for topic, feed in feeds.items()
        ]
        self.procs: list[subprocess.Popen[bytes]] = []
        self.before = 0.0

    def go(self) -> None:
        """Start them (they connect on the clock)."""
        self.before = _children_cpu()
        for argv, feed in self.argvs:
            with feed.open("rb") as stdin:
                self.procs.append(subprocess.Popen(argv, stdin=stdin))

    def finish(self) -> float:
        """Wait for them; their CPU seconds."""
        for proc in self.procs:
            if proc.wait(60) != 0:
                raise SystemExit(f"mosquitto_pub failed with exit code {proc.returncode}")
        return _children_cpu() - self.before


def _children_cpu() -> float:
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)  # reaped children only
    return kids.ru_utime + kids.ru_stime


class RawPublisher:
    """``bench/raw_publisher.py`` in its own process (the default): packets prepared and the session
    connected before the clock starts, then written in 64 KiB chunks (see its docstring)."""

    def __init__(self, port: int, feeds: dict[str, Path]) -> None:
        argv = [sys.executable, "-m", "bench.raw_publisher", "--port", str(port)]
        argv += [f"{topic}={path}" for topic, path in feeds.items()]
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        assert self.proc.stdin is not None
        assert self.proc.stdout is not None
        self.stdin, self.stdout = self.proc.stdin, self.proc.stdout
        if self.stdout.readline().strip() != b"ready":
            raise SystemExit(f"raw publisher failed to connect (exit code {self.proc.wait(10)})")

    def go(self) -> None:
        """Start sending."""
        self.stdin.write(b"go\n")
        self.stdin.flush()

    def finish(self) -> float:
        """Wait until every message is acknowledged; its CPU seconds; let it exit."""
        done = self.stdout.readline().decode().strip()
        cpu = cpu_seconds(self.proc.pid)
        self.stdin.close()
        if not done.startswith("done") or self.proc.wait(30) != 0:
            raise SystemExit(f"raw publisher failed ({done!r}, exit code {self.proc.wait(30)})")
        return cpu


def make_messages(count: int, values: int, run_no: int) -> list[StationMessage]:
    """``count`` messages spread over the stations, ``values`` readings each, unique timestamps per run."""
    out = []
    for i in range(count):
        station = f"bench-{i % STATIONS:03d}"
        ts = T0 + timedelta(days=run_no, seconds=i // STATIONS)
        readings = tuple(
            Reading(station, p, i + k / 8, "mg/L", ts, Flag.N) for k, p in enumerate(PARAMS[:values])
        )
        out.append(StationMessage(station, "sonde", i, ts, readings))
    return out


def _feeds(msgs: list[StationMessage], stem: Path) -> dict[str, Path]:
    """One file per topic, a JSON payload per line (compact JSON has no newline)."""
    lines: dict[str, list[bytes]] = {}
    for topic, payload in map(wire.encode, msgs):
        lines.setdefault(topic, []).append(payload)
    out = {}
    for n, (topic, payloads) in enumerate(lines.items()):
        out[topic] = stem.with_suffix(f".{n}")
        out[topic].write_bytes(b"\n".join(payloads) + b"\n")
    return out


def settle(svc: Services, quiet: float = 0.01, period: float = 0.25, timeout: float = 60.0) -> None:
    """Wait until the broker and the database are idle: together at most ``quiet`` CPU-s per ``period``.

    InfluxDB compacts and snapshots what earlier runs wrote in the background; without this, that work
    lands in whichever timed run comes next, more often the longer collector run than the direct one.
    Bounded by ``timeout`` (then the run goes ahead and says so).
    """
    deadline = time.perf_counter() + timeout
    before = sum(_cpu(svc).values())
    while time.perf_counter() < deadline:
        time.sleep(period)  # a sampling period: there is no event for "idle"
        now = sum(_cpu(svc).values())
        if now - before <= quiet:
            return
        before = now
    print(f"  (broker and database still busy after {timeout:.0f} s; measuring anyway)")


def _cpu(svc: Services) -> dict[str, float]:
    procs = {"mosquitto": svc.mosquitto.proc, "influxd": svc.influx.proc}
    return {name: cpu_seconds(p.pid) for name, p in procs.items() if p is not None}


@dataclass
class Peers:
    """The collector processes under test, in one shared-subscription group (``--collectors N``)."""

    procs: list[subprocess.Popen[bytes]]
    metrics_urls: list[str]

    def samples(self, client: httpx.Client, name: str) -> list[float]:
        """One unlabelled sample of each peer's ``/metrics``."""
        prefix = f"{name} "
        texts = [client.get(url).text for url in self.metrics_urls]
        return [float(x.split()[1]) for t in texts for x in t.splitlines() if x.startswith(prefix)]

    def sample(self, client: httpx.Client, name: str) -> float:
        """One unlabelled sample of the peers' ``/metrics``, summed over them."""
        return sum(self.samples(client, name))

    def last_write(self, client: httpx.Client) -> float:
        """When the last of the peers' writes finished (Unix seconds, the collectors' own clock)."""
        return max(self.samples(client, "stationpipe_collector_last_write_timestamp_seconds"))

    def written(self, client: httpx.Client) -> float:
        """Points the peers have written so far."""
        return self.sample(client, "stationpipe_collector_points_written_total")

    def writes(self, client: httpx.Client, elapsed: float) -> str:
        """Their batch writes: how many, mean latency, and the share of the run one was in progress."""
        count = self.sample(client, "stationpipe_collector_write_seconds_count")
        busy = self.sample(client, "stationpipe_collector_write_seconds_sum")
        mean = busy / count * 1000 if count else 0.0
        share = busy / len(self.procs) / elapsed * 100
        return f"{count:.0f} writes, mean {mean:.1f} ms, a write in progress {share:.0f} % of the run"

    def cpu(self) -> float:
        """CPU seconds the peers have used so far."""
        return sum(cpu_seconds(p.pid) for p in self.procs)

    def stop(self) -> None:
        """Terminate and reap them (SIGKILL for one still up after 30 s)."""
        for p in self.procs:
            p.terminate()
        for n, p in enumerate(self.procs):
            smoke.stop(p, f"collector {n}", 30)


def start_peers(svc: Services, count: int, run_no: int, work: Path) -> Peers:
    """``count`` collector processes (``stationpipe collector``) sharing one group, subscribed.

    Every run reuses the same client ids, so the broker keeps one persistent session per collector: with
    new ids per run, the stopped collectors' sessions would stay subscribed and have the broker queue
    every later message for them too.
    """
    procs, urls = [], []
    for n in range(count):
        port = free_port()
        cfg = work / f"peer-{run_no}-{n}.toml"
        cfg.write_text(
            f'kind = "collector"\ngroup = "bench"\nstate_dir = "{work / f"peer-{run_no}-{n}"}"\n'
            f'[mqtt]\nport = {svc.mosquitto.port}\nclient_id = "bench-peer-{n}"\n'
            f'[influx]\nurl = "{svc.influx.url}"\ndatabase = "{svc.influx.database}"\n'
            "[batch]\nmax_points = 50000\nmax_messages = 500\nmax_age = 1.0\n"
            f"[metrics]\nport = {port}\n"
        )
        log = (work / f"peer-{run_no}-{n}.log").open("wb")
        argv = [sys.executable, "-m", "stationpipe", "collector", "--config", str(cfg)]
        procs.append(subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT))
        urls.append(f"http://127.0.0.1:{port}/metrics")
    peers = Peers(procs, urls)
    with httpx.Client(timeout=2) as client:
        for proc in procs:
            wait_until(
                lambda: _answers(client, urls), timeout=30, what="peer collectors' /metrics", proc=proc
            )
    time.sleep(1.0)  # their subscriptions follow the metrics endpoint within milliseconds
    return peers


def _answers(client: httpx.Client, urls: list[str]) -> bool:
    try:
        return all(client.get(u).status_code == 200 for u in urls)
    except httpx.HTTPError:
        return False


def collector_run(
    svc: Services, msgs: list[StationMessage], run_no: int, work: Path, *, count: int, publisher: str
) -> float:
    """Values/s from the first publish to the last point written, through ``count`` real collector
    processes (``stationpipe collector``) in one shared-subscription group.

    The collectors run as the service does, in processes of their own: in this process they would also
    carry the benchmark's half a million prepared records through every garbage collection. Also prints
    the CPU seconds each process used meanwhile, and the wall time: that says what bounds it.
    """
    points = sum(len(m.readings) for m in msgs)
    feeds = _feeds(msgs, work / f"feed-{run_no}")
    peers = start_peers(svc, count, run_no, work)
    try:
        load = (RawPublisher if publisher == "raw" else MosquittoPubs)(svc.mosquitto.port, feeds)
        settle(svc)
        with httpx.Client(timeout=5) as client:
            before, peers_before = _cpu(svc), peers.cpu()
            started = time.time()  # the clock of the collectors' last-write gauge
            load.go()
            deadline = time.perf_counter() + 600
            while (stored := peers.written(client)) < points:
                if time.perf_counter() > deadline:
                    raise SystemExit(f"the collectors stored {stored:,.0f} of {points:,} points")
                # polling their /metrics slowly (served on the collectors' own thread: each scrape takes
                # from them); the end of the run is their own record of their last write, bounded by the
                # deadline
                time.sleep(0.25)
            elapsed = peers.last_write(client) - started
            writes = peers.writes(client, elapsed)
        used = {k: v - before[k] for k, v in _cpu(svc).items()}
        used["publisher"] = load.finish()
        used["collectors"] = peers.cpu() - peers_before
        print(f"  wall {elapsed:.2f} s; CPU s: " + ", ".join(f"{k} {v:.2f}" for k, v in used.items()))
        print(f"  collectors: {writes}")
    finally:
        peers.stop()
    return points / elapsed


def direct_run(svc: Services, msgs: list[StationMessage], batch_messages: int, database: str) -> float:
    """Values/s writing the same lines straight to InfluxDB (into ``database``): same batches, gzip
    level 1, sequential."""
    lines = [readings_lines(m) for m in msgs]
    batches = [
        "\n".join(x for group in lines[i : i + batch_messages] for x in group).encode()
        for i in range(0, len(lines), batch_messages)
    ]
    points = sum(len(g) for g in lines)
    settle(svc)
    with httpx.Client(base_url=svc.influx.url, timeout=60) as client:
        before = _cpu(svc)
        started = time.perf_counter()
        for body in batches:
            resp = client.post(
                "/write",
                params={"db": database, "precision": "ns"},
                content=gzip.compress(body, compresslevel=1),
                headers={"Content-Encoding": "gzip"},
            )
            resp.raise_for_status()
        elapsed = time.perf_counter() - started
    influx = _cpu(svc)["influxd"] - before["influxd"]
    mean = elapsed / len(batches) * 1000
    print(
        f"  direct: wall {elapsed:.2f} s, {len(batches)} writes, mean {mean:.1f} ms; "
        f"CPU s: influxd {influx:.2f}"
    )
    return points / elapsed


def main(count: int, values: int, runs: int, collectors: int, publisher: str) -> None:
    """Alternate collector and direct runs on fresh timestamps; print medians and the ratio."""
    via, direct = [], []
    with running_services() as svc, tempfile.TemporaryDirectory() as tmp:
        direct_db = f"{svc.influx.database}_direct"  # its own shards and cache: see the module docstring
        svc.influx.query(f'CREATE DATABASE "{direct_db}"')
        for run_no in range(runs):
            msgs = make_messages(count, values, 2 * run_no)
            via.append(collector_run(svc, msgs, run_no, Path(tmp), count=collectors, publisher=publisher))
            direct.append(direct_run(svc, make_messages(count, values, 2 * run_no + 1), 500, direct_db))
            print(f"run {run_no + 1}: collector {via[-1]:,.0f} values/s, direct {direct[-1]:,.0f} values/s")
    v, d = statistics.median(via), statistics.median(direct)
    print(
        f"messages/run {count}, values/message {values}, runs {runs}, collectors {collectors}, "
        f"publisher {publisher}"
    )
    print(f"collector (MQTT -> InfluxDB): {v:,.0f} values/s ({v / values:,.0f} messages/s) median")
    print(f"direct line protocol -> InfluxDB: {d:,.0f} values/s median")
    print(f"ratio collector/direct: {v / d:.2f}")


def cli() -> None:
    """Parse the arguments and run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=50_000)
    parser.add_argument("--values", type=int, default=10, choices=range(1, len(PARAMS) + 1))
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--collectors", type=int, default=1, help="collector processes sharing the load (shared subscription)"
    )
    parser.add_argument(
        "--publisher",
        choices=("raw", "mosquitto_pub"),
        default="raw",
        help="load generator: prepared packets (bench/raw_publisher.py) or ten mosquitto_pub processes",
    )
    args = smoke.parse(parser, SMOKE)
    main(args.messages, args.values, args.runs, args.collectors, args.publisher)


if __name__ == "__main__":
    cli()
