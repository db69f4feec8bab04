"""Data audit against the real services: ``stationpipe rules`` (with ``[api]``) and ``stationpipe
collector`` as processes, real Mosquitto and InfluxDB. The audit API's authentication and roles, marks that
survive a kill, a mark published -> collector -> InfluxDB -> ``stationpipe report stats`` (the audited class
changes, the raw data does not), a locked day refusing a mark, and the audit page in headless Chromium."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from stationpipe.ops.report.cli import report_app
from stationpipe.testbed.services import Services, wait_until
from tests.integration.browser import chromium
from tests.integration.browser import click as page_click
from tests.integration.desk_helpers import Desk, running_desk, stored

pytestmark = pytest.mark.integration
CHINA = "+08:00"
JUNE1 = datetime.fromisoformat(f"2026-06-01T00:00{CHINA}").astimezone(UTC)
H = timedelta(hours=1)
#: dw1's NH3-N on 1 June every 4 hours from 00:00 China time; 2 June is 0.5 throughout.
NH3N = (1.8, 1.6, 0.6, 0.5, 0.5, 0.4)
MORNING = {
    "station": "dw1",
    "parameter": "nh3n",
    "start": f"2026-06-01T00:00{CHINA}",
    "end": f"2026-06-01T08:00{CHINA}",
    "reason": "instrument_fault",
    "note": "清洗后漂移 drift after cleaning",
}


@pytest.fixture(scope="module")
def desk(services: Services, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    yield from running_desk(services, tmp_path_factory.mktemp("audit"))


def _ns(at: datetime) -> int:
    return int(at.timestamp()) * 10**9


def _raw_june(desk: Desk) -> None:
    """dw1 and its readings of 1-2 June, written straight into the desk's database (the raw data)."""
    lines = [
        (
            f'stations,station=dw1,kind=water,city=杭州,river=钱塘江 name="钱塘江闸口",section="闸口",'
            f'target_class=3i,water_body="river" {_ns(JUNE1 - 24 * H)}'
        )
    ]
    for day, nh3n in ((0, NH3N), (1, (0.5,) * 6)):
        for i, value in enumerate(nh3n):
            at = _ns(JUNE1 + (24 * day + 4 * i) * H)
            for code, v in (("nh3n", value), ("do", 7.0), ("codmn", 3.0), ("tp", 0.08)):
                lines.append(f'readings,station=dw1,parameter={code} flag="N",value={v} {at}')
    url = f"{desk.services.influx.url}/write"
    answer = httpx.post(url, params={"db": desk.database}, content="\n".join(lines).encode(), timeout=30)
    assert answer.status_code == 204, answer.text


def _api(desk: Desk, method: str, path: str, user: str | None = "chen", **body: Any) -> httpx.Response:
    auth = desk.basic(user) if user else None
    return httpx.request(method, f"{desk.url}/api/v1/audit{path}", json=body or None, auth=auth, timeout=10)


def _stats(desk: Desk) -> dict[str, Any]:
    args = [
        "stats",
        "--month",
        "2026-06",
        "--influx-url",
        desk.services.influx.url,
        "--database",
        desk.database,
    ]
    result = CliRunner().invoke(report_app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def test_without_credentials_401_a_viewer_reads_only_and_only_an_auditor_unlocks(desk: Desk) -> None:
    assert _api(desk, "GET", "/marks", None).status_code == 401
    assert _api(desk, "GET", "/marks", None).headers["WWW-Authenticate"].startswith("Basic")
    assert httpx.get(f"{desk.url}/api/v1/audit/marks", auth=("chen", "wrong"), timeout=10).status_code == 401
    bearer = {"Authorization": "Bearer not-a-token"}
    assert httpx.get(f"{desk.url}/api/v1/audit/marks", headers=bearer, timeout=10).status_code == 401
    assert _api(desk, "POST", "/marks", None, **MORNING).status_code == 401
    assert _api(desk, "GET", "/marks", "zhao").status_code == 200
    refused = _api(desk, "POST", "/marks", "zhao", **{**MORNING, "station": "dw3"})
    assert refused.status_code == 403
    assert "read only" in refused.json()["error"]
    assert _api(desk, "POST", "/marks", "chen", **{**MORNING, "station": "nowhere"}).status_code == 404
    assert _api(desk, "POST", "/marks", "chen", **{**MORNING, "reason": "boredom"}).status_code == 400
    assert _api(desk, "POST", "/marks", "chen", **{**MORNING, "parameter": "nope"}).status_code == 400
    backwards = {**MORNING, "start": MORNING["end"], "end": MORNING["start"]}
    assert "not after start" in _api(desk, "POST", "/marks", "chen", **backwards).json()["error"]
    assert _api(desk, "POST", "/days/dw3/2026-05-01", "li", status="reviewed").status_code == 200
    assert _api(desk, "POST", "/days/dw3/2026-05-01", "li", status="locked").status_code == 403
    assert _api(desk, "POST", "/days/dw3/2026-05-01", "chen", status="locked").status_code == 200
    unlock = _api(desk, "POST", "/days/dw3/2026-05-01", "li", status="reviewed")
    assert unlock.status_code == 403
    assert "only an auditor may unlock" in unlock.json()["error"]
    assert _api(desk, "POST", "/days/dw3/2026-05-01", "chen", status="reviewed").status_code == 200


def test_an_invalidated_morning_changes_the_audited_class_and_not_the_raw_data(desk: Desk) -> None:
    _raw_june(desk)
    before = _stats(desk)
    assert before["audited"]["sections"]["dw1"]["daily"]["2026-06-01"] == "III"
    made = _api(desk, "POST", "/marks", **MORNING)
    assert made.status_code == 201, made.text
    mark = made.json()["mark"]
    assert (mark["version"], mark["author"], mark["previous"]) == (1, "chen", None)

    def in_store() -> bool:
        return bool(stored(desk, f"SELECT * FROM audit_marks WHERE \"mark\" = '{mark['id']}'"))

    wait_until(in_store, timeout=30, what="the mark in InfluxDB", proc=desk.procs["collector"])
    after = _stats(desk)
    raw, audited = after["raw"]["sections"]["dw1"], after["audited"]["sections"]["dw1"]
    # 1 June: raw NH3-N mean 5.4 / 6 = 0.9 -> III; audited (0.6 + 0.5 + 0.5 + 0.4) / 4 = 0.5 -> II
    assert (raw["daily"]["2026-06-01"], audited["daily"]["2026-06-01"]) == ("III", "II")
    # June: raw (5.4 + 3.0) / 12 = 0.7 -> III; audited (2.0 + 3.0) / 10 = 0.5 -> II
    assert (raw["class"], audited["class"]) == ("III", "II")
    assert after["audit"]["excluded"] == 2
    rows = stored(desk, "SELECT \"value\" FROM readings WHERE station = 'dw1' AND parameter = 'nh3n'")
    assert [r["value"] for r in rows] == [*NH3N, *(0.5,) * 6]


def test_a_locked_day_refuses_a_mark_with_the_reason(desk: Desk) -> None:
    day = "2026-06-02"
    assert _api(desk, "POST", f"/days/dw1/{day}", status="locked").status_code == 200
    refused = _api(
        desk, "POST", "/marks", **{**MORNING, "start": f"{day}T10:00{CHINA}", "end": f"{day}T12:00{CHINA}"}
    )
    assert refused.status_code == 409
    assert "dw1 is locked on 2026-06-02" in refused.json()["error"]
    days = _api(desk, "GET", f"/days/dw1?from={day}&to={day}").json()["days"]
    assert [(d["day"], d["status"], d["author"]) for d in days] == [(day, "locked", "chen")]

    def in_store() -> bool:
        return bool(stored(desk, "SELECT * FROM audit_days WHERE station = 'dw1' AND status = 'locked'"))

    wait_until(in_store, timeout=30, what="the lock in InfluxDB", proc=desk.procs["collector"])


def test_marks_and_their_trail_survive_a_kill(desk: Desk) -> None:
    made = _api(
        desk, "POST", "/marks", **{**MORNING, "parameter": "do", "reason": "maintenance", "note": "运维"}
    )
    mark_id = made.json()["mark"]["id"]
    restored = _api(desk, "POST", f"/marks/{mark_id}/restore", "li", note="误判 mistaken")
    assert restored.json()["mark"]["previous"]["action"] == "invalidate"
    desk.restart_rules()
    trail = _api(desk, "GET", f"/marks/{mark_id}").json()["trail"]
    assert [(m["version"], m["action"], m["author"]) for m in trail] == [
        (1, "invalidate", "chen"),
        (2, "restore", "li"),
    ]
    listed = _api(
        desk, "GET", "/marks?station=dw1&parameter=do&from=2026-05-31T16:00:00Z&to=2026-06-01T00:00:00Z"
    )
    assert [(m["id"], m["version"]) for m in listed.json()["marks"]] == [(mark_id, 2)]
    assert _api(desk, "GET", "/marks/nope").status_code == 404


def _login(desk: Desk, user: str) -> tuple[httpx.Client, str]:
    client = httpx.Client(base_url=desk.url, timeout=10)
    token = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text)
    assert token is not None
    form = {"csrf": token.group(1), "user": user, "password": desk.basic(user)[1]}
    assert client.post("/login", data=form).status_code == 303
    csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/audit/dw2").text)
    assert csrf is not None
    return client, csrf.group(1)


def test_the_page_needs_its_csrf_token_and_a_viewer_sees_no_forms(desk: Desk) -> None:
    assert httpx.get(f"{desk.url}/audit/dw2", timeout=10).headers["Location"] == "/login"
    assert _api(desk, "POST", "/days/dw2/2026-05-10", status="locked").status_code == 200
    client, csrf = _login(desk, "chen")
    try:
        page = client.get("/audit/dw2?to=2026-05-12").text
        assert re.search(r'data-day="2026-05-10"><td>2026-05-10</td><td class="status">已锁定 locked', page)
        assert client.get("/audit/dw2?to=someday").status_code == 400
        form = {
            "parameter": "nh3n",
            "start": "2026-05-03 00:00",
            "end": "2026-05-03 06:00",
            "reason": "other",
        }
        assert client.post("/audit/dw2/mark", data=form).status_code == 403
        assert client.post("/audit/dw2/mark", data={**form, "csrf": csrf}).status_code == 303
    finally:
        client.close()
    viewer, csrf = _login(desk, "zhao")
    try:
        page = viewer.get("/audit/dw2").text
        assert "Read-only account" in page
        assert "mark-form" not in page
        form = {
            "parameter": "nh3n",
            "start": "2026-05-04 00:00",
            "end": "2026-05-04 06:00",
            "reason": "other",
        }
        assert viewer.post("/audit/dw2/mark", data={**form, "csrf": csrf}).status_code == 403
    finally:
        viewer.close()


def test_the_audit_page_in_chromium(desk: Desk, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By  # noqa: PLC0415 - only this test needs selenium
    from selenium.webdriver.remote.webelement import WebElement  # noqa: PLC0415
    from selenium.webdriver.support.select import Select  # noqa: PLC0415

    today = datetime.now(UTC).astimezone(datetime.fromisoformat(f"2026-01-01T00:00{CHINA}").tzinfo).date()
    with chromium(tmp_path / "chromium") as browser:

        def click(element: WebElement) -> None:
            page_click(browser, element)

        browser.get(f"{desk.url}/audit")
        assert browser.current_url.endswith("/login")
        browser.find_element(By.ID, "login-user").send_keys("chen")
        browser.find_element(By.ID, "login-password").send_keys("chen-secret-4")
        click(browser.find_element(By.ID, "login-submit"))
        click(browser.find_element(By.ID, "nav-audit"))
        click(browser.find_element(By.LINK_TEXT, "曹娥江上浦闸 (dw3)"))
        assert "氨氮 NH3-N" in browser.find_element(By.ID, "parameters").text
        Select(browser.find_element(By.ID, "mark-parameter")).select_by_value("nh3n")
        browser.find_element(By.ID, "mark-start").send_keys(f"{today} 00:00")
        browser.find_element(By.ID, "mark-end").send_keys(f"{today} 06:00")
        Select(browser.find_element(By.ID, "mark-reason")).select_by_value("qc_failed")
        browser.find_element(By.ID, "mark-note").send_keys("跨度核查不合格 span check failed")
        click(browser.find_element(By.ID, "mark-submit"))
        trail = browser.find_element(By.ID, "trail").text
        assert "跨度核查不合格 span check failed" in trail
        assert "质控不合格 QC check failed" in trail
        assert f"{today} 00:00" in trail
        assert "chen" in trail
        click(browser.find_element(By.ID, f"day-{today}-locked"))
        row = browser.find_element(By.CSS_SELECTOR, f'tr[data-day="{today}"]')
        assert "已锁定 locked" in row.find_element(By.CLASS_NAME, "status").text
        restore = browser.find_element(By.CSS_SELECTOR, "#marks button[id^=restore-]")
        click(restore)  # the day is locked now: the page says why
        assert "locked on" in browser.find_element(By.ID, "error").text
    marks = _api(desk, "GET", "/marks?station=dw3").json()["marks"]
    assert [(m["parameter"], m["reason"], m["author"]) for m in marks] == [("nh3n", "qc_failed", "chen")]
