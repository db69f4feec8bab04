"""``scripts/demo`` (its Python entry point), run as a user would: the compressed story's NH3-N event at a
class III section reaches MQTT, InfluxDB and the signed webhook with its escalations and resolution, the
sonde fault raises and resolves its flag warning, the haze its PM2.5 warning; a short ``--duration`` cuts
the story; Ctrl-C (SIGINT) stops it cleanly, leaving no process behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.integration

CHANNELS = ("mqtt", "influxdb", "webhook")
STATIONS = 10
#: Parameters each kind of station reports (shipped profiles water_five +
#: water_nutrients, air_station).
WATER_PARAMETERS, AIR_PARAMETERS = 9, 6


def _children_of(pid: int) -> list[int]:
    out = subprocess.run(
        ["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True, check=False
    )
    return [int(p) for p in out.stdout.split()]


def _demo(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], dict[str, Any], float]:
    start = time.monotonic()
    summary = tmp_path / "summary.json"
    done = subprocess.run(
        [sys.executable, "-m", "stationpipe.testbed.demo", *args, "--summary-json", str(summary)],
        capture_output=True,
        text=True,
        timeout=100,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-3000:]
    return done, json.loads(summary.read_text()), time.monotonic() - start


def _in_order(wanted: list[str], seen: list[str]) -> bool:
    """True when ``wanted`` occurs in ``seen`` in this order (other states may come between)."""
    rest = iter(seen)
    return all(any(s == w for s in rest) for w in wanted)


def test_demo_story_reaches_every_channel(tmp_path: Path) -> None:
    done, summary, took = _demo(tmp_path, "--duration", "56")  # the story at its shortest (0.4x)
    seq = summary["sequences"]
    for ch in CHANNELS:
        nh3n = seq["nh3n-event"][ch]
        assert _in_order(["blue", "yellow", "orange", "blue"], nh3n), (ch, nh3n)
        assert nh3n[-1] == "resolved", (ch, nh3n)
        assert seq["sonde-fault"][ch] == ["blue", "resolved"], (ch, seq["sonde-fault"])
        assert seq["haze"][ch] == ["yellow", "resolved"], (ch, seq["haze"])
        assert summary["warnings"][ch] >= len(nh3n) + 5 * 2 + 2  # the fault: five sonde parameters
    assert summary["bad_signatures"] == 0
    assert summary["undecodable_mqtt"] == 0
    assert [step["state"] for step in summary["timeline"]] == ["done"] * len(summary["timeline"])
    assert len(summary["exit_codes"]) == STATIONS + 5  # edges, sim, collector, rules, mosquitto, influxdb
    assert set(summary["exit_codes"].values()) == {0}
    assert summary["clean"]
    assert summary["counts_final"]
    assert not summary["interrupted"]
    points = summary["points"]
    assert points["stations"] == STATIONS
    assert points["warnings"] == summary["warnings"]["influxdb"]
    assert points["readings"] > 30 * (7 * WATER_PARAMETERS + 3 * AIR_PARAMETERS)  # 30 polls of everything
    for text in ("氨氮 NH3-N", "汇总 Summary", "stopped cleanly"):
        assert text in done.stdout
    assert "\x1b[" not in done.stdout  # not a terminal: plain lines, no escape codes
    assert took < 90


def test_demo_cuts_the_story_to_a_short_duration(tmp_path: Path) -> None:
    done, summary, took = _demo(tmp_path, "--duration", "6")
    states = [step["state"] for step in summary["timeline"]]
    assert states[0] == "done", states
    assert states[-1] == "cut", states
    assert summary["points"]["readings"] >= 7 * WATER_PARAMETERS + 3 * AIR_PARAMETERS
    assert summary["clean"]
    assert "cut: --duration" in done.stdout
    assert took < 60


def test_demo_stops_cleanly_on_ctrl_c() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "stationpipe.testbed.demo"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # like a terminal: Ctrl-C reaches the whole process group
    )
    assert proc.stdout is not None
    deadline = time.monotonic() + 60
    for line in proc.stdout:  # wait for the event: the stations report and the story starts
        if "Ctrl-C stops" in line or time.monotonic() > deadline:
            break
    children = _children_of(proc.pid)
    assert len(children) >= STATIONS + 5  # mosquitto, influxd, sim, collector, rules, ten edge agents
    os.killpg(proc.pid, signal.SIGINT)
    rest, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, rest[-3000:]
    assert "interrupted (Ctrl-C)" in rest
    assert "readings stored in InfluxDB" in rest
    assert all(not Path(f"/proc/{pid}").exists() for pid in children), "a child outlived the demo"
