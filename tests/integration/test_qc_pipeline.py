"""QC checks through the real pipeline: the simulated nutrient analyser runs its checks on a scaled clock (a
simulated day in ten seconds: zero check, span check 2.5 s later, standard-sample check 5 s in, every
second one failing by 15 %) and shows the latest in its profile's QC registers; ``stationpipe edge``
reads them and publishes ``stations/<id>/qc``; the rules engine's ``qc`` rule warns on the failed
standard-sample check and marks the NH3-N readings since the last passing one for review
(``reviews/<id>/nh3n``); the collector stores checks, warnings and marks in InfluxDB. The engine's console
keeps each review mark after publishing it: the audit API lists the period and the audit page (over HTTP,
with its login and CSRF token) turns it into an invalidation in one click."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from stationpipe.testbed.pipeline import Pipeline, SimStation
from stationpipe.testbed.services import Services, free_port

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]
SCHEDULE = """time_factor = 8640.0
standard_every = 86400.0
standard_offset = 43200.0
span_offset = 21600.0
fail_every = 2
fail_error = 15.0"""
RULES = '[[rules]]\nname = "qc"\nkind = "qc"\n'
RULE = "qc.nh3n.standard"
AUDITOR = ("chen", "chen-secret-4")


def _rows(services: Services, query: str) -> list[dict[str, Any]]:
    series = services.influx.query(query)
    if not series:
        return []
    columns = series[0]["columns"]
    return [dict(zip(columns, values, strict=True)) for values in series[0]["values"]]


def _until(check: Callable[[], bool], what: str, within: float, pipe: Pipeline) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.3)  # polling the database with a deadline
    logs = "\n".join(f"--- {name}\n{pipe.log(name)[-3000:]}" for name in pipe.procs)
    pytest.fail(f"{what} not within {within} s\n{logs}")


def _at(ns: int) -> datetime:
    return datetime.fromtimestamp(ns / 1e9, UTC)


def _console(tmp_path: Path) -> tuple[str, str]:
    """An auditor account and the ``[api]`` table of the engine's console: ``(toml, url)``."""
    users = tmp_path / "users.json"
    argv = [sys.executable, "-m", "stationpipe", "rules", "user", "add", AUDITOR[0], "--role", "auditor"]
    argv += ["--users", str(users), "--password-stdin"]
    subprocess.run(argv, input=f"{AUDITOR[1]}\n".encode(), check=True, capture_output=True, timeout=60)
    port = free_port()
    return f'[api]\nport = {port}\nusers = "{users}"\n', f"http://127.0.0.1:{port}"


def _confirm_on_the_page(url: str, station: str, ref: int) -> str:
    """Log in, press the review's invalidate button (with the CSRF token); the page afterwards."""
    with httpx.Client(base_url=url, timeout=10) as client:
        token = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text)
        assert token is not None
        login = {"csrf": token.group(1), "user": AUDITOR[0], "password": AUDITOR[1]}
        assert client.post("/login", data=login).status_code == 303
        page = client.get(f"/audit/{station}").text
        assert f'id="confirm-{ref}"' in page
        csrf = re.search(r'name="csrf" value="([^"]+)"', page)
        assert csrf is not None
        assert client.post(f"/audit/{station}/confirm/{ref}").status_code == 403  # no CSRF token
        answer = client.post(f"/audit/{station}/confirm/{ref}", data={"csrf": csrf.group(1)})
        assert answer.status_code == 303, answer.text
        return client.get(f"/audit/{station}").text


def test_failed_standard_sample_check_warns_and_marks_readings(services: Services, tmp_path: Path) -> None:
    station = SimStation("it-qc-01", "II", seed=3, qc=SCHEDULE)
    where = f"station = '{station.id}' AND parameter = 'nh3n'"
    marks: list[dict[str, Any]] = []

    def marked_after_a_pass() -> bool:
        standard = f"SELECT * FROM qc WHERE {where} AND \"check\" = 'standard'"
        passes = _rows(services, f"{standard} AND passed = true")
        found = _rows(services, f"SELECT * FROM review_marks WHERE {where}")
        known = {row["time"] for row in passes}
        marks[:] = [m for m in found if m["time"] in known]
        return bool(marks)

    api, url = _console(tmp_path)
    with Pipeline(services, [station], interval=1.0, rules=RULES + api, consumers_first=True) as pipe:
        _until(marked_after_a_pass, "a review mark from a passing to a failed check", 90, pipe)
        query = f"SELECT * FROM warnings WHERE station = '{station.id}' AND rule = '{RULE}'"
        warnings = _rows(services, query)
        answer = httpx.get(f"{url}/api/v1/audit/reviews/{station.id}", auth=AUDITOR, timeout=10)
        page = ""
        if answer.status_code == 200:
            listed = [r for r in answer.json()["reviews"] if r["check"] == marks[0]["check"]]
            page = _confirm_on_the_page(url, station.id, listed[0]["id"]) if listed else ""
        codes = pipe.stop()
    assert codes == {"sim": 0, "collector": 0, "rules": 0, f"edge-{station.id}": 0}, codes

    mark = marks[0]
    checks = _rows(services, f"SELECT * FROM qc WHERE {where} AND \"check\" = 'standard'")
    failed = next(c for c in checks if c["id"] == mark["check"])
    assert failed["passed"] is False
    assert failed["error"] == pytest.approx(15.0, abs=0.01)
    assert failed["standard"] == pytest.approx(2.0)  # 20 % of the 10 mg/L range
    assert failed["measure"] == "relative"
    assert (failed["low"], failed["high"]) == (-10.0, 10.0)
    assert mark["reason"] == "qc_failed"
    assert mark["rule"] == "qc"
    end = datetime.fromisoformat(mark["end"])
    assert end == _at(failed["time"])
    assert _at(mark["time"]) < end  # from the passing check before it
    inside = _rows(
        services,
        f"SELECT value FROM readings WHERE {where} AND time >= {mark['time']} AND time <= {failed['time']}",
    )
    assert len(inside) >= 3  # the NH3-N readings the mark covers, polled every second, stay as they were

    fired = [w for w in warnings if w["state"] == "firing"]
    assert fired, warnings
    message = fired[0]["message"]
    assert "标样核查不合格 氨氮 NH3-N：相对误差 15% > 10%" in message
    assert "standard-sample check failed NH3-N: relative error 15% > 10%" in message
    assert fired[0]["level"] == "2"

    assert answer.status_code == 200, answer.text  # the mark, published and stored, is still listed
    assert [r["reason"] for r in listed] == ["qc_failed"], answer.json()
    review = listed[0]
    assert (review["parameter"], review["rule"]) == ("nh3n", "qc")
    assert datetime.fromisoformat(review["start"]) == _at(mark["time"])
    assert datetime.fromisoformat(review["end"]) == end
    assert "已确认 confirmed" in page
    assert re.search(r'<table id="marks">.*<td>nh3n</td>.*质控不合格 QC check failed', page)
