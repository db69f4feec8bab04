"""``scripts/demo`` (its Python entry point): readings arrive within seconds and it stops cleanly,
both after ``--duration`` and on Ctrl-C (SIGINT), leaving no process behind."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration


def _children_of(pid: int) -> list[int]:
    out = subprocess.run(
        ["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True, check=False
    )
    return [int(p) for p in out.stdout.split()]


def _stored(output: str) -> int:
    match = re.search(r"(\d+) readings stored in InfluxDB", output)
    assert match, output[-3000:]
    return int(match.group(1))


def test_demo_shows_readings_and_stops_after_duration() -> None:
    start = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "testbed.demo", "--duration", "6", "--interval", "1"],
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert _stored(done.stdout) >= 2 * 9  # at least one poll of each of the 9 parameters at 2 stations
    assert "氨氮 NH3-N" in done.stdout
    assert "stopped cleanly" in done.stdout
    assert time.monotonic() - start < 60


def test_demo_stops_cleanly_on_ctrl_c() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "testbed.demo", "--interval", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # like a terminal: Ctrl-C reaches the whole process group
    )
    assert proc.stdout is not None
    deadline = time.monotonic() + 60
    for line in proc.stdout:  # wait for the event: the demo has started its processes
        if "Ctrl-C stops" in line or time.monotonic() > deadline:
            break
    children = _children_of(proc.pid)
    assert len(children) >= 5  # mosquitto, influxd, sim, collector, two edge agents
    os.killpg(proc.pid, signal.SIGINT)
    rest, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, rest[-3000:]
    assert "readings stored in InfluxDB" in rest
    assert all(not Path(f"/proc/{pid}").exists() for pid in children), "a child outlived the demo"
