"""Every benchmark runs: each one's ``--smoke`` mode (tiny sizes, a second or two of measuring) as
``python -m bench.X --smoke`` from the repository root, as bench/README.md documents it.

Each case checks the exit code, that every figure line (and the ratio line) of the report is printed,
and that the benchmark left no process of its own behind. Timings and figures are never asserted: only
that each line is there, with a number where the report prints one.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LIMIT = 90.0  # seconds a smoke run may take (they take 3-15 s on the 2-core machine)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(LIMIT + 25)]

NUM = r"[\d,]+(\.\d+)?"


@dataclass(frozen=True)
class Case:
    """A benchmark's command line (after ``python -m``) and the report lines it must print (regexes,
    matched from the start of a line)."""

    argv: tuple[str, ...]
    lines: tuple[str, ...]


EDGE_POLL = Case(
    ("bench.edge_poll", "--smoke"),
    (
        rf"demanded +{NUM} points/s \(2 devices x 5 float32 every 0\.1 s\)$",
        rf"baseline \(pymodbus\) +{NUM} points/s, {NUM} requests/s \(median of 1\)$",
        rf"edge agent -> MQTT +{NUM} points/s, {NUM} requests/s \(median\)$",
        rf"agent CPU +{NUM} % of one core \(median\), RSS {NUM} MB$",
        rf"delivered/demanded +{NUM}%$",
        rf"ratio agent/baseline +{NUM}$",
    ),
)
EDGE_DTU = Case(
    ("bench.edge_dtu", "--smoke"),
    (
        r"demanded +6 polls every 1 s \(3 DTUs x 2 units x 20 float32\), windows of 2 rounds$",
        *(
            rf"{label} +polls {NUM} / {NUM} delivered, {NUM} flagged B, CPU {NUM} s \({NUM} % of one core\), "
            rf"RSS {NUM} MB \(median of 1\)$"
            for label in (r"baseline \(RTU over TCP\)", "edge over DTUs")
        ),
        rf"ratio DTU/baseline +CPU {NUM}, delivered {NUM}, RSS {NUM}$",
    ),
)
COLLECTOR_LINES = (
    rf"  wall {NUM} s; CPU s: mosquitto {NUM}, influxd {NUM}, publisher {NUM}, collectors {NUM}$",
    rf"  collectors: {NUM} writes, mean {NUM} ms, a write in progress {NUM} % of the run$",
    rf"  direct: wall {NUM} s, {NUM} writes, mean {NUM} ms; CPU s: influxd {NUM}$",
    rf"run 1: collector {NUM} values/s, direct {NUM} values/s$",
    rf"collector \(MQTT -> InfluxDB\): {NUM} values/s \({NUM} messages/s\) median$",
    rf"direct line protocol -> InfluxDB: {NUM} values/s median$",
    rf"ratio collector/direct: {NUM}$",
)
COLLECTOR_INGEST = Case(
    ("bench.collector_ingest", "--smoke"),
    ("messages/run 500, values/message 10, runs 1, collectors 1, publisher raw$", *COLLECTOR_LINES),
)
COLLECTOR_INGEST_PAIR = Case(
    ("bench.collector_ingest", "--smoke", "--collectors", "2", "--publisher", "mosquitto_pub"),
    ("messages/run 500, values/message 10, runs 1, collectors 2, publisher mosquitto_pub$", *COLLECTOR_LINES),
)
RULES_EVAL = Case(
    ("bench.rules_eval", "--smoke"),
    (
        r"in process: 20 stations, 9 rules, \d+ readings$",
        rf"  evaluated: {NUM} readings/s +\(baseline strict wire decode: {NUM} readings/s, ratio {NUM}\)$",
        r"end to end: 100 readings at 100/s -> \d+ warnings \(\d+ missing\)$",
        rf"  publication -> warning latency: p50 {NUM} ms, p99 {NUM} ms, mean {NUM} ms",
    ),
)
E2E_LINES = (
    r"  demanded +",
    r"  polls +",
    r"  readings +",
    r"  drain +",
    r"  edge spools +",
    r"  latency +read -> broker subscriber: p50 ",
    r" +read -> stored in InfluxDB: p50 ",
    r"  collector +points written ",
    r"  process +CPU % of one core +max RSS MB$",
    *(
        rf"  {name} +{NUM} +{NUM}$"
        for name in ("sim", "collector", "rules", "pack-0", "mosquitto", "influxdb")
    ),
    rf"  bench \(self\) +{NUM} +{NUM}$",
    r"  verdict +",
)
E2E = Case(
    ("bench.e2e", "--smoke"),
    (r"stations 3 \(\d+ devices, \d+ values per poll round, every 1 s\), 1 edge packs; window ", *E2E_LINES),
)
E2E_RAMP = Case(
    ("bench.e2e", "--smoke", "--ramp"),
    (
        r"=== ramp step: 2 stations, 2 s ===$",
        r"stations 2 ",
        *E2E_LINES,
        r"largest station count sustained with zero loss and no backlog: ",
    ),
)
CENTRAL_LINES = (
    rf"  rate +{NUM} messages/s, {NUM} values/s ",
    rf"  loss +{NUM} readings produced in the window, {NUM} stored, lost {NUM}$",
    r"  drain +",
    r"  latency +read -> stored: p50 ",
    r"  latency +read -> warning: p50 ",
    rf"  emulator +{NUM} messages, {NUM} CPU-s in all; ",
    r"  collector +points written ",
    *(
        rf"  process +{name} +CPU +{NUM} % of one core +RSS +{NUM} MB$"
        for name in ("collector", "rules", "emulator", "mosquitto", "influxdb", r"bench \(self\)")
    ),
    rf"  central +CPU {NUM} % of one core ",
    rf"  load average {NUM} {NUM} {NUM} ",
)
CENTRAL = Case(
    ("bench.central", "--smoke"),
    (
        r"=== baseline: 10 stations every 2 s ===$",
        r"stations 10 \(\d+ devices, 10 parameters each\) every 2 s, with per-station phase offsets; ",
        *CENTRAL_LINES,
        rf"ratio 30/10 stations: values x{NUM}, central CPU x{NUM}, p99 read->stored x",
        r"stations 30 interval 2s: (sustained|not sustained); lost \d+; p99 read->stored \S+ ms$",
    ),
)
CENTRAL_RAMP = Case(
    ("bench.central", "--smoke", "--ramp"),
    (
        r"=== ramp step: 20 stations every 2 s ===$",
        *CENTRAL_LINES,
        r"stations 20 interval 2s: (sustained|not sustained); lost \d+; p99 read->stored \S+ ms$",
        r"largest station count sustained at 2 s: ",
        r"stations \d+ interval 2s: (sustained|not sustained); lost \d+; p99 read->stored \S+ ms$",
    ),
)
FAULTS_SOAK = Case(
    ("bench.faults_soak", "--smoke"),
    (
        r"influx-down: produced \d+, stored \d+, lost \d+, duplicated \d+$",
        r"influx-down: waiting in spool \d+; ",
        r"influx-down: ok \(\d+ s\)$",
    ),
)
SPOOL_DISK = Case(
    ("bench.spool_disk", "--smoke"),
    (
        r"run 1: write_bytes per message: sqlite [\d,]+, log-fsync-5 [\d,]+, log [\d,]+, sqlite-512 [\d,]+$",
        rf"messages/run 200 of {NUM} bytes \(one device, 10 values\), polls every 1 s \(simulated, ",
        rf"sqlite spool \(before\) +{NUM} B/message written \(median\), wchar {NUM} B/message, {NUM} MiB/day",
        rf"segment log, fsync_interval 5 s \(default\) +{NUM} B/message written \(median\), ",
        rf"segment log, no fsync \(kernel writeback\) +{NUM} B/message written \(median\), ",
        rf"sqlite spool, page_size 512 +{NUM} B/message written \(median\), ",
        rf"ratio segment log \(default\)/sqlite: {NUM}$",
    ),
)
VALUES = Case(
    ("bench.values", "--smoke"),
    (
        rf"float32_shortest +{NUM} us/value$",
        rf"'%\.\*g' digit search +{NUM} us/value  \({NUM}x float32_shortest\)$",
        rf"clean \(int16 x 0\.1\) +{NUM} us/value$",
        rf"decode_request, before +{NUM} us/point ",
        rf"decode_request, after +{NUM} us/point \(shortest decimal\), ratio {NUM}$",
    ),
)
PARTITION_SUBS = Case(
    ("bench.partition_subs", "--smoke"),
    (
        (
            rf"stations 200, 2 partitions \(\d+ / \d+\): subscribed 200 filters in {NUM} s "
            rf"\(\d+ SUBSCRIBE packets\); broker RSS {NUM} -> {NUM} MB \(-?{NUM} bytes a filter\); "
            rf"SIGKILL \+ restart accepting in {NUM} s, filters restored: yes; "
            rf"routing {NUM} us of broker CPU a message$"
        ),
        rf"stations 200, one wildcard subscriber: routing {NUM} us broker CPU a message$",
    ),
)
CASES = {
    "edge_poll": EDGE_POLL,
    "edge_dtu": EDGE_DTU,
    "values": VALUES,
    "collector_ingest": COLLECTOR_INGEST,
    "collector_ingest_two_collectors_mosquitto_pub": COLLECTOR_INGEST_PAIR,
    "rules_eval": RULES_EVAL,
    "e2e": E2E,
    "e2e_ramp": E2E_RAMP,
    "central": CENTRAL,
    "central_ramp": CENTRAL_RAMP,
    "faults_soak": FAULTS_SOAK,
    "spool_disk": SPOOL_DISK,
    "partition_subs": PARTITION_SUBS,
}


def _stop_group(pgid: int) -> None:
    """SIGTERM the run's process group (so the benchmarks' ``finally`` blocks stop their services), then
    SIGKILL whatever is left after 10 s."""
    for sig, grace in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            return
        if _group_gone(pgid, grace):
            return


def _group_gone(pgid: int, within: float) -> bool:
    """True once no process of the group is left (polled: a group's end sends no event)."""
    deadline = time.monotonic() + within
    while True:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)


def run_smoke(argv: tuple[str, ...]) -> tuple[int, str]:
    """Run ``python -m argv...`` from the repository root in a process group of its own; its exit code
    and output (stdout and stderr together). Fails when it outlives ``LIMIT`` or leaves a process behind."""
    proc = subprocess.Popen(
        [sys.executable, "-m", *argv],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )
    try:
        out, _ = proc.communicate(timeout=LIMIT)
    except subprocess.TimeoutExpired:
        _stop_group(proc.pid)
        out, _ = proc.communicate()
        pytest.fail(f"{' '.join(argv)} still running after {LIMIT:g} s:\n{out[-4000:]}")
    if not _group_gone(proc.pid, 5.0):
        _stop_group(proc.pid)
        pytest.fail(f"{' '.join(argv)} exited and left processes of its own running:\n{out[-4000:]}")
    return proc.returncode, out


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_benchmark_runs_in_smoke_mode(case: Case) -> None:
    code, out = run_smoke(case.argv)
    assert code == 0, f"{' '.join(case.argv)} exited with {code}:\n{out[-4000:]}"
    lines = out.splitlines()
    assert lines[0].startswith("smoke mode: "), out[-4000:]
    missing = [p for p in case.lines if not any(re.match(p, line) for line in lines)]
    assert not missing, f"{' '.join(case.argv)}: no line matches {missing}:\n{out[-4000:]}"
