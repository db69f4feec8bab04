"""``scripts/demo`` (its Python entry point), run as a user would: the compressed story's NH3-N event at a
class III section reaches MQTT, InfluxDB and the signed webhook with its escalations and resolution, and
pre-warns the section downstream; the local DingTalk robot accepts signed markdown messages; a person
logs in to the operators' page with the printed demo account and acknowledges the event's warning with the
page's form, and the acknowledgement is published on ``warnings/actions/…``; the sonde fault raises and
resolves its flag warning, the haze its PM2.5 warning; a short ``--duration`` cuts the story; Ctrl-C
(SIGINT) stops it cleanly, leaving no process behind."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
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


#: The line that gives the operators' page and the demo account.
PAGE_LINE = re.compile(r"operators' page 预警处置台: (http://127\.0\.0\.1:\d+/) login: (\S+) / (\S+)")
#: The event's warning on the page (its episode: station/rule.parameter/start in ms).
EVENT_ROW = re.compile(r'data-episode="(hz-qb/section\.nh3n/\d+)"')
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def _page_line(lines: list[str], proc: subprocess.Popen[str]) -> re.Match[str]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        found = next((m for m in map(PAGE_LINE.search, list(lines)) if m), None)
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError("no operators' page line:\n" + "".join(lines)[-3000:])


def _acknowledge_on_the_page(url: str, user: str, password: str, proc: subprocess.Popen[str]) -> str:
    """Log in with the printed account, wait for the event's warning on the page and press acknowledge
    (the page's HTML form with its CSRF token); the episode acknowledged."""
    with httpx.Client(base_url=url, timeout=10) as page:
        deadline = time.monotonic() + 60
        listed, logged_in = None, False
        while listed is None:
            assert proc.poll() is None, "the demo stopped before the event reached the page"
            assert time.monotonic() < deadline, "the event never reached the page"
            time.sleep(0.5)
            with contextlib.suppress(httpx.HTTPError):  # the engine (and its page) may not be up yet
                if not logged_in:
                    login = CSRF.search(page.get("/login").text)
                    assert login is not None
                    form = {"csrf": login.group(1), "user": user, "password": password}
                    assert page.post("/login", data=form).status_code == 303
                    logged_in = True
                listed = EVENT_ROW.search(page.get("/").text)
        csrf = CSRF.search(page.get("/").text)
        assert csrf is not None
        episode = listed.group(1)
        done = page.post(f"/w/{episode}/acknowledge", data={"csrf": csrf.group(1)})
        assert done.status_code == 303, done.text
        return episode


def _demo_with_a_person(tmp_path: Path, *args: str) -> tuple[str, dict[str, Any], float, str]:
    """Run the demo and, while it runs, acknowledge the event's warning on the page as a person would."""
    start = time.monotonic()
    summary = tmp_path / "summary.json"
    argv = [sys.executable, "-m", "stationpipe.testbed.demo", *args, "--summary-json", str(summary)]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    assert proc.stdout is not None
    reader = threading.Thread(target=lambda: lines.extend(proc.stdout or ()), daemon=True)
    reader.start()
    try:
        found = _page_line(lines, proc)
        episode = _acknowledge_on_the_page(found.group(1), found.group(2), found.group(3), proc)
        proc.wait(timeout=100)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    reader.join(10)
    out = "".join(lines)
    assert proc.returncode == 0, out[-6000:]
    return out, json.loads(summary.read_text()), time.monotonic() - start, episode


def _in_order(wanted: list[str], seen: list[str]) -> bool:
    """True when ``wanted`` occurs in ``seen`` in this order (other states may come between)."""
    rest = iter(seen)
    return all(any(s == w for s in rest) for w in wanted)


def test_demo_story_reaches_every_channel(tmp_path: Path) -> None:
    out, summary, took, episode = _demo_with_a_person(tmp_path, "--duration", "56")  # shortest (0.4x)
    seq = summary["sequences"]
    for ch in CHANNELS:
        nh3n = seq["nh3n-event"][ch]
        assert _in_order(["blue", "yellow", "orange", "blue"], nh3n), (ch, nh3n)
        assert nh3n[-1] == "resolved", (ch, nh3n)
        assert seq["sonde-fault"][ch] == ["blue", "resolved"], (ch, seq["sonde-fault"])
        assert seq["haze"][ch] == ["yellow", "resolved"], (ch, seq["haze"])
        assert seq["prewarning"][ch] == ["yellow", "resolved"], (ch, seq["prewarning"])  # 盐官 downstream
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
    dingtalk = summary["dingtalk"]
    assert dingtalk["messages"] >= 2  # the event and the pre-warning, their resolutions
    assert dingtalk["refused"] == []  # each signed and formatted as DingTalk checks it
    assert dingtalk["markdown"]
    assert any("上游断面 七堡 Qibao" in text for text in dingtalk["texts"])
    station, rule, started = episode.split("/")
    assert started.isdigit()
    acks = [a for a in summary["actions"] if a["action"] == "acknowledge"]
    assert [(a["station"], a["rule"], a["user"]) for a in acks] == [(station, rule, "demo")]
    for text in ("氨氮 NH3-N", "汇总 Summary", "stopped cleanly", "钉钉 DingTalk ←", "acknowledge by demo"):
        assert text in out
    assert "\x1b[" not in out  # not a terminal: plain lines, no escape codes
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
