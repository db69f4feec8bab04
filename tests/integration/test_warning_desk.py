"""The operators' desk against the real services: ``stationpipe rules`` with ``[api]`` and
``stationpipe collector`` as processes, real Mosquitto and InfluxDB. Authorised and unauthorised API
calls, the workflow's conflicts, the records on MQTT and in InfluxDB, a kill in the middle; the page in
headless Chromium (Debian's chromium and chromium-driver, driven by Selenium)."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from stationpipe.kernel.messages import Handling
from stationpipe.testbed.services import Services, wait_until
from tests.integration.browser import chromium
from tests.integration.browser import click as page_click
from tests.integration.desk_helpers import Desk, running_desk, stored

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def desk(services: Services, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    yield from running_desk(services, tmp_path_factory.mktemp("desk"))


def _post(desk: Desk, episode: str, action: str, user: str = "li", **body: str) -> httpx.Response:
    url = f"{desk.url}/api/v1/warnings/{episode}/{action}"
    return httpx.post(url, json=body, auth=desk.basic(user), timeout=10)


def test_without_valid_credentials_the_api_answers_401(desk: Desk) -> None:
    url = f"{desk.url}/api/v1/warnings"
    bare = httpx.get(url, timeout=10)
    assert bare.status_code == 401
    assert bare.headers["WWW-Authenticate"].startswith("Basic")
    assert httpx.get(url, auth=("li", "wrong-password"), timeout=10).status_code == 401
    assert httpx.get(url, auth=("nobody", "li-secret-1"), timeout=10).status_code == 401
    bearer = {"Authorization": "Bearer not-a-token"}
    assert httpx.get(url, headers=bearer, timeout=10).status_code == 401
    assert httpx.post(f"{url}/dw1/section.nh3n/1/acknowledge", timeout=10).status_code == 401


def test_a_viewer_reads_but_may_not_act(desk: Desk) -> None:
    episode = desk.fire("dw1")
    assert httpx.get(f"{desk.url}/api/v1/warnings/{episode}", auth=desk.basic("zhao"), timeout=10).is_success
    refused = _post(desk, episode, "acknowledge", "zhao")
    assert refused.status_code == 403
    assert "viewer" in refused.json()["error"]


def test_a_token_made_by_the_cli_authenticates(desk: Desk) -> None:
    argv = [sys.executable, "-m", "stationpipe", "rules", "user", "token", "wang"]
    argv += ["--users", str(desk.workdir / "users.json")]
    token = subprocess.run(argv, check=True, capture_output=True, text=True, timeout=60).stdout.strip()
    got = httpx.get(f"{desk.url}/api/v1/warnings", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert got.status_code == 200


def test_the_workflow_is_recorded_published_stored_and_survives_a_kill(desk: Desk) -> None:
    episode = desk.fire("dw1")
    lift = _post(desk, episode, "lift")
    assert lift.status_code == 409
    assert "verify it first" in lift.json()["error"]
    ack = _post(desk, episode, "acknowledge")
    assert ack.status_code == 200, ack.text
    assert ack.json()["warning"]["acknowledged_by"] == "li"
    again = _post(desk, episode, "acknowledge", "wang")
    assert again.status_code == 409
    assert "already acknowledged by li" in again.json()["error"]
    assert _post(desk, episode, "assign", assignee="zhao").status_code == 409  # a viewer
    assert _post(desk, episode, "assign", assignee="wang").json()["warning"]["assignee"] == "wang"
    assert _post(desk, episode, "verify", "wang").json()["warning"]["handling"] == "verified"
    assert _post(desk, episode, "note", "wang", note="现场采样 on-site sample taken").status_code == 200
    assert _post(desk, episode, "respond", "wang").json()["warning"]["handling"] == "responding"
    still = _post(desk, episode, "lift", "wang")
    assert still.status_code == 409
    assert "still firing" in still.json()["error"]
    assert _post(desk, episode, "nonsense").status_code == 400
    assert _post(desk, "dw1/section.nh3n/1", "acknowledge").status_code in {404, 409}

    done = ["acknowledge", "assign", "verify", "note", "respond"]

    def published() -> bool:
        with desk.recorder.lock:
            return [a.action for a in desk.recorder.actions if a.station == "dw1"] == done

    wait_until(published, timeout=20, what="the actions on warnings/actions/dw1/…", proc=desk.procs["rules"])
    with desk.recorder.lock:
        actions = [a for a in desk.recorder.actions if a.station == "dw1"]
        retained = [w for w in desk.recorder.warnings if w.station == "dw1"][-1]
    assert [a.user for a in actions] == ["li", "li", "wang", "wang", "wang"]
    assert actions[3].note == "现场采样 on-site sample taken"
    assert (retained.state.value, retained.handling) == ("firing", Handling.RESPONDING)
    assert (retained.acknowledged_by, retained.assignee) == ("li", "wang")

    def in_store() -> bool:
        rows = stored(desk, "SELECT * FROM warning_actions WHERE station = 'dw1'")
        return [r["action"] for r in rows] == done

    wait_until(in_store, timeout=30, what="warning_actions in InfluxDB", proc=desk.procs["collector"])
    rows = stored(desk, "SELECT * FROM warning_actions WHERE station = 'dw1'")
    assert rows[0]["user"] == "li"
    assert rows[-1]["handling"] == "responding"
    human = stored(desk, "SELECT last(handling) AS handling FROM warnings WHERE station = 'dw1'")
    assert human
    assert human[0]["handling"] == "responding"
    events = stored(desk, "SELECT count(state) AS n FROM warnings WHERE station = 'dw1'")
    assert events[0]["n"] == 1  # one machine change; the actions rewrote its point, added none

    desk.restart_rules()
    got = httpx.get(f"{desk.url}/api/v1/warnings/{episode}", auth=desk.basic("li"), timeout=10).json()
    assert got["warning"]["handling"] == "responding"
    course = got["course"]
    assert [e["change"] for e in course if e["kind"] == "change"] == ["firing"]
    assert [(e["action"], e["user"]) for e in course if e["kind"] == "action"] == [
        ("acknowledge", "li"),
        ("assign", "li"),
        ("verify", "wang"),
        ("note", "wang"),
        ("respond", "wang"),
    ]


def _login(desk: Desk, user: str) -> tuple[httpx.Client, str]:
    """A browser-like client logged in to the page, and its session's CSRF token."""
    client = httpx.Client(base_url=desk.url, timeout=10)
    form = client.get("/login").text
    token = re.search(r'name="csrf" value="([^"]+)"', form)
    assert token is not None
    password = desk.basic(user)[1]
    answer = client.post("/login", data={"csrf": token.group(1), "user": user, "password": password})
    assert answer.status_code == 303
    page = client.get("/").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page)
    assert csrf is not None
    return client, csrf.group(1)


def test_the_page_refuses_forms_without_their_csrf_token_and_viewers_actions(desk: Desk) -> None:
    episode = desk.fire("dw1")
    assert httpx.get(f"{desk.url}/", timeout=10).headers["Location"] == "/login"
    assert httpx.post(f"{desk.url}/login", data={"user": "li", "password": "li-secret-1"}).status_code == 403
    client, csrf = _login(desk, "li")
    try:
        assert client.post(f"/w/{episode}/acknowledge", data={}).status_code == 403
        assert client.post(f"/w/{episode}/acknowledge", data={"csrf": "forged"}).status_code == 403
        assert client.post("/logout", data={"csrf": csrf}).status_code == 303
        assert client.get("/").headers["Location"] == "/login"  # the session is over
    finally:
        client.close()
    viewer, csrf = _login(desk, "zhao")
    try:
        page = viewer.get(f"/w/{episode}").text
        assert "Read-only account" in page
        assert "do-acknowledge" not in page
        assert viewer.post(f"/w/{episode}/acknowledge", data={"csrf": csrf}).status_code == 403
    finally:
        viewer.close()


def test_the_acknowledgement_travels_with_later_changes_to_the_channels(desk: Desk) -> None:
    episode = desk.fire("dw3", 1.2)  # above class III: yellow
    assert _post(desk, episode, "acknowledge", "wang").status_code == 200
    desk.publish("dw3", 2.5, seq=2, age=20)  # worse than class V: red, the same episode

    def escalated() -> bool:
        with desk.webhook.lock:
            return any(p["station"] == "dw3" and p["change"] == "escalated" for p in desk.webhook.posts)

    wait_until(escalated, timeout=20, what="the escalation at the webhook", proc=desk.procs["rules"])
    with desk.webhook.lock:
        posts = [p for p in desk.webhook.posts if p["station"] == "dw3"]
    assert [(p["change"], p["level"], p["acknowledged"]) for p in posts] == [
        ("firing", 2, False),
        ("escalated", 4, True),
    ]
    assert posts[1]["handling"] == {"state": "issued", "acknowledged_by": "wang", "assignee": None}
    assert desk.webhook.bad_signatures == 0

    def retained_red() -> bool:
        with desk.recorder.lock:
            states = [w for w in desk.recorder.warnings if w.station == "dw3"]
        return bool(states) and states[-1].level == 4

    wait_until(retained_red, timeout=20, what="the red state on warnings/dw3/…", proc=desk.procs["rules"])
    with desk.recorder.lock:
        assert [w for w in desk.recorder.warnings if w.station == "dw3"][-1].acknowledged_by == "wang"


def _dingtalk_about(desk: Desk, name: str) -> list[str]:
    """The texts of the DingTalk messages that name the station ``name``, in arrival order."""
    with desk.dingtalk.lock:
        texts = [m["markdown"]["text"] for m in desk.dingtalk.accepted]
    return [t for t in texts if name in t]


def test_once_acknowledged_people_hear_only_the_resolution(desk: Desk) -> None:
    episode = desk.fire("dw4", 1.2)  # above class III in 宁波: yellow, the DingTalk route "nb"
    rules = desk.procs["rules"]
    wait_until(lambda: bool(_dingtalk_about(desk, "奉化江北渡")), timeout=20, what="DingTalk", proc=rules)
    assert _post(desk, episode, "acknowledge", "li").status_code == 200
    desk.publish("dw4", 1.6, seq=2, age=20)  # 0.6 x over the limit: orange, the same episode

    def escalated() -> bool:
        with desk.webhook.lock:
            return any(p["station"] == "dw4" and p["change"] == "escalated" for p in desk.webhook.posts)

    wait_until(escalated, timeout=20, what="the escalation at the webhook", proc=rules)  # machines hear it
    desk.publish("dw4", 0.3, seq=3, age=10)  # below the clear level: resolved

    def resolved() -> bool:
        return any("已解除" in t for t in _dingtalk_about(desk, "奉化江北渡"))

    wait_until(resolved, timeout=20, what="the resolution at DingTalk", proc=rules)
    texts = _dingtalk_about(desk, "奉化江北渡")
    assert len(texts) == 2, texts  # the firing, then the resolution: nothing about the orange rise
    assert "黄色预警" in texts[0]
    assert "已解除" in texts[1]
    assert not any("橙色预警" in t for t in texts)
    assert desk.dingtalk.refused == []  # signed and formatted as DingTalk checks them
    with desk.webhook.lock:
        changes = [(p["change"], p["level"]) for p in desk.webhook.posts if p["station"] == "dw4"]
    assert changes == [("firing", 2), ("escalated", 3), ("resolved", 3)]


def test_acknowledge_on_the_page_in_chromium(desk: Desk, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By  # noqa: PLC0415 - only this test needs selenium
    from selenium.webdriver.remote.webelement import WebElement  # noqa: PLC0415

    episode = desk.fire("dw2")
    with chromium(tmp_path / "chromium") as browser:

        def click(element: WebElement) -> None:
            page_click(browser, element)

        browser.get(f"{desk.url}/")
        assert browser.current_url.endswith("/login")
        browser.find_element(By.ID, "login-user").send_keys("li")
        browser.find_element(By.ID, "login-password").send_keys("wrong")
        click(browser.find_element(By.ID, "login-submit"))
        assert "Wrong user name or password" in browser.find_element(By.ID, "error").text
        browser.find_element(By.ID, "login-user").send_keys("li")
        browser.find_element(By.ID, "login-password").send_keys("li-secret-1")
        click(browser.find_element(By.ID, "login-submit"))
        row = browser.find_element(By.CSS_SELECTOR, f'tr[data-episode="{episode}"]')
        assert "宁波" in row.text
        assert "预警发布 issued" in row.find_element(By.CLASS_NAME, "handling").text
        assert "宁波" in browser.find_element(By.ID, "counts").text
        click(row.find_element(By.TAG_NAME, "a"))
        assert "预警中 firing" in browser.find_element(By.ID, "machine").text
        assert browser.find_element(By.ID, "acknowledged").text == "—"
        click(browser.find_element(By.ID, "do-acknowledge"))
        assert browser.find_element(By.ID, "acknowledged").text == "li"
        assert "确认收到 Acknowledge" in browser.find_element(By.ID, "course").text
        click(browser.find_element(By.ID, "do-lift"))  # not verified yet: the page says why
        assert "verify it first" in browser.find_element(By.ID, "error").text
        click(browser.find_element(By.ID, "do-verify"))
        assert "已核实 verified" in browser.find_element(By.ID, "handling").text

    def recorded() -> bool:
        with desk.recorder.lock:
            return [(a.action, a.user) for a in desk.recorder.actions if a.station == "dw2"] == [
                ("acknowledge", "li"),
                ("verify", "li"),
            ]

    wait_until(recorded, timeout=20, what="the page's actions on MQTT", proc=desk.procs["rules"])

    def in_store() -> bool:
        rows = stored(desk, "SELECT * FROM warning_actions WHERE station = 'dw2'")
        return [(r["action"], r["user"]) for r in rows] == [("acknowledge", "li"), ("verify", "li")]

    wait_until(in_store, timeout=30, what="the page's actions in InfluxDB", proc=desk.procs["collector"])
