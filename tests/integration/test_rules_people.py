"""The channels people read, end to end: the engine on the real broker, each channel against a local
receiver that checks the request as the provider documents it (DingTalk's sign recomputed, WeCom's key and
size, an SMS gateway's bearer token), e-mail through Debian's Exim with STARTTLS and AUTH, grouping of a
burst, routing by city, quiet hours with the red override, a durable rate limit, and the outbox surviving
a SIGKILL of a real engine process."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from stationpipe.rules.config import RulesConfig
from stationpipe.testbed.robots import DingTalkRobot, SmsGateway, WeComRobot
from stationpipe.testbed.services import Services, free_port
from stationpipe.testbed.smtp import Exim
from tests.integration.rules_helpers import engine, listening, publish, recent, wait_for

pytestmark = pytest.mark.integration
PHONE = "13800000001"


def registry(count: int) -> str:
    """Water stations s0..s<count-1>: even ones in 杭州市 on 钱塘江, odd ones in 宁波市 on 甬江."""
    out = ['kind = "registry"']
    for i in range(count):
        city, river = ("杭州市", "钱塘江") if i % 2 == 0 else ("宁波市", "甬江")
        out.append(
            f'[[stations]]\nid = "s{i}"\nname = "断面{i}"\nkind = "water"\nsection = "断面{i}"\n'
            f'city = "{city}"\nriver = "{river}"\ntarget_class = "III"\nwater_body = "river"\n'
            "lat = 30.0\nlon = 120.0"
        )
    return "\n".join(out) + "\n"


def document(services: Services, tmp: Path, delivery: dict[str, Any], stations: int = 4) -> dict[str, Any]:
    (tmp / "registry.toml").write_text(registry(stations), encoding="utf-8")
    return {
        "kind": "rules",
        "group": f"rules{free_port()}",
        "registry": str(tmp / "registry.toml"),
        "state": str(tmp / "state.sqlite3"),
        "mqtt": {"port": services.mosquitto.port, "client_id": f"people-{free_port()}"},
        "evaluation": {"tick": "0.2s"},
        "delivery": {"retry_cap": 1.0, **delivery},
        "rules": [{"name": "section", "kind": "section", "parameters": ["nh3n"], "consecutive": 10}],
    }


def config(services: Services, tmp: Path, delivery: dict[str, Any], stations: int = 4) -> RulesConfig:
    return RulesConfig.model_validate(document(services, tmp, delivery, stations))


@pytest.fixture
def dingtalk(monkeypatch: pytest.MonkeyPatch) -> Iterator[DingTalkRobot]:
    robot = DingTalkRobot()
    monkeypatch.setenv("PEOPLE_DT_TOKEN", robot.token)
    monkeypatch.setenv("PEOPLE_DT_SECRET", robot.secret)
    yield robot
    robot.stop()


def dt_settings(robot: DingTalkRobot, **extra: Any) -> dict[str, Any]:
    return {
        "url": robot.url,
        "access_token_env": "PEOPLE_DT_TOKEN",
        "secret_env": "PEOPLE_DT_SECRET",
        "group_window": "1s",
        "routes": [{"name": "hz", "cities": ["杭州市"], "recipients": [PHONE]}],
        **extra,
    }


def toml(doc: dict[str, Any]) -> str:
    """``doc`` as TOML, every table inline (the tests' configs are small)."""

    def value(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, int | float):
            return repr(v)
        if isinstance(v, str):
            return json.dumps(v, ensure_ascii=False)
        if isinstance(v, list | tuple):
            return "[" + ", ".join(value(x) for x in v) + "]"
        return "{" + ", ".join(f"{key(k)} = {value(x)}" for k, x in v.items()) + "}"

    def key(k: str) -> str:
        return k if re.fullmatch(r"[A-Za-z0-9_\-]+", k) else json.dumps(k)

    return "".join(f"{key(k)} = {value(v)}\n" for k, v in doc.items())


def outbox(tmp: Path, sink: str) -> int:
    """Rows waiting for ``sink``; 0 while the engine has created the state file but not yet its tables."""
    with contextlib.closing(sqlite3.connect(tmp / "state.sqlite3")) as db:
        try:
            return int(db.execute("SELECT count(*) FROM outbox WHERE sink = ?", (sink,)).fetchone()[0])
        except sqlite3.OperationalError as exc:
            if "no such table" in str(exc):
                return 0
            raise


async def test_dingtalk_signed_markdown_with_mentions(
    services: Services, tmp_path: Path, dingtalk: DingTalkRobot
) -> None:
    dingtalk.start()
    cfg = config(services, tmp_path, {"dingtalk": dt_settings(dingtalk)})
    async with listening(services) as (_, client), engine(cfg):
        await publish(client, 0, 1.2, recent(0), station="s0")  # yellow in 杭州市
        await publish(client, 0, 1.2, recent(0), station="s1")  # yellow in 宁波市: no route
        await wait_for(lambda: len(dingtalk.accepted) >= 1, "a DingTalk message")
        await asyncio.sleep(1.5)
    assert dingtalk.refused == []  # token, timestamp, sign, format: all as DingTalk checks them
    [msg] = dingtalk.accepted
    assert msg["msgtype"] == "markdown"
    assert msg["at"] == {"atMobiles": [PHONE], "isAtAll": False}
    text = msg["markdown"]["text"]
    assert f"@{PHONE}" in text
    assert "断面0（杭州市 钱塘江）" in text
    assert "黄色预警" in text
    assert "yellow warning" in text
    assert "断面1" not in text
    assert dingtalk.keys[0].startswith("dingtalk-")


async def test_a_wrong_secret_is_refused_and_dropped_a_rate_limit_is_retried(
    services: Services, tmp_path: Path, dingtalk: DingTalkRobot, monkeypatch: pytest.MonkeyPatch
) -> None:
    dingtalk.start()
    dingtalk.answers.append((200, {"errcode": 130101, "errmsg": "send too fast, exceed 20 times per minute"}))
    cfg = config(services, tmp_path, {"dingtalk": dt_settings(dingtalk)})
    async with listening(services) as (_, client), engine(cfg):
        await publish(client, 0, 1.2, recent(0), station="s0")
        await wait_for(lambda: len(dingtalk.accepted) >= 1, "delivered after the rate limit", within=30)
        monkeypatch.setenv("PEOPLE_DT_SECRET", "SECwrong")  # read at each send: a rotated, wrong secret
        await publish(client, 1, 0.3, recent(1), station="s0")  # resolved
        await wait_for(lambda: len(dingtalk.refused) >= 1, "the wrong sign refused")
        await wait_for(lambda: outbox(tmp_path, "dingtalk") == 0, "the refused message dropped")
    assert len(dingtalk.accepted) == 1
    assert "sign not match" in dingtalk.refused[0]


async def test_a_burst_is_one_message_per_route(
    services: Services, tmp_path: Path, dingtalk: DingTalkRobot
) -> None:
    dingtalk.start()
    routes = [
        {"name": "hz", "cities": ["杭州市"], "recipients": [PHONE]},
        {"name": "nb", "rivers": ["甬江"], "recipients": ["13800000002"]},
    ]
    cfg = config(
        services, tmp_path, {"dingtalk": dt_settings(dingtalk, group_window="3s", routes=routes)}, 40
    )
    async with listening(services) as (_, client), engine(cfg):
        for i in range(40):
            await publish(client, 0, 1.2 if i % 4 else 2.5, recent(0), station=f"s{i}")
        await wait_for(lambda: len(dingtalk.accepted) >= 2, "two grouped messages")
        await asyncio.sleep(4)
    assert len(dingtalk.accepted) == 2, [m["markdown"]["title"] for m in dingtalk.accepted]
    by_mention = {m["at"]["atMobiles"][0]: m["markdown"]["text"] for m in dingtalk.accepted}
    assert "20 条预警变化" in by_mention[PHONE]
    assert "最高红色" in by_mention[PHONE]
    assert "20 warning changes" in by_mention["13800000002"]
    assert "宁波市" not in by_mention[PHONE]
    assert "杭州市" not in by_mention["13800000002"]


async def test_quiet_hours_hold_yellow_and_let_red_through(
    services: Services, tmp_path: Path, dingtalk: DingTalkRobot
) -> None:
    dingtalk.start()
    now = datetime.now(ZoneInfo("Asia/Shanghai"))
    quiet = {
        "start": (now - timedelta(hours=1)).strftime("%H:%M"),
        "end": (now + timedelta(hours=1)).strftime("%H:%M"),
        "timezone": "Asia/Shanghai",
    }
    cfg = config(services, tmp_path, {"dingtalk": dt_settings(dingtalk, quiet=quiet, group_window="0s")})
    async with listening(services) as (_, client), engine(cfg):
        await publish(client, 0, 1.2, recent(0), station="s0")  # yellow: held
        await publish(client, 0, 2.5, recent(0), station="s2")  # red: goes out
        await wait_for(lambda: len(dingtalk.accepted) >= 1, "the red warning")
        await asyncio.sleep(1.5)
        assert outbox(tmp_path, "dingtalk") == 1  # the yellow one waits for the end of the window
    [msg] = dingtalk.accepted
    assert "红色预警" in msg["markdown"]["text"]
    assert "断面2" in msg["markdown"]["text"]
    assert "断面0" not in msg["markdown"]["text"]


async def test_wecom_markdown_rate_limit_45009_is_retried(
    services: Services, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    robot = WeComRobot()
    robot.start()
    monkeypatch.setenv("PEOPLE_WC_KEY", robot.key)
    robot.answers.append((200, {"errcode": 45009, "errmsg": "api freq out of limit"}))
    settings = {
        "url": robot.url,
        "key_env": "PEOPLE_WC_KEY",
        "group_window": "1s",
        "routes": [{"name": "all", "recipients": ["zhangsan"]}],
    }
    try:
        async with (
            listening(services) as (_, client),
            engine(config(services, tmp_path, {"wecom": settings})),
        ):
            await publish(client, 0, 1.6, recent(0), station="s0")
            await wait_for(lambda: len(robot.accepted) >= 1, "WeCom after the rate limit", within=30)
    finally:
        robot.stop()
    [msg] = robot.accepted
    assert msg["msgtype"] == "markdown"
    assert "<@zhangsan>" in msg["markdown"]["content"]
    assert "橙色预警" in msg["markdown"]["content"]


async def test_sms_rate_limit_is_durable_and_merges(
    services: Services, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gateway = SmsGateway()
    gateway.start()
    monkeypatch.setenv("PEOPLE_SMS_TOKEN", gateway.token)
    settings = {
        "url": gateway.url,
        "auth": {"kind": "bearer", "secret_env": "PEOPLE_SMS_TOKEN"},
        "body": {"to": "${phone}", "text": "${message}"},
        "success_field": "code",
        "success_value": "OK",
        "group_window": "0.5s",
        "rate_limit": {"count": 1, "per": "1h"},
        "routes": [{"name": "duty", "recipients": ["13900000001"]}],
    }
    cfg = config(services, tmp_path, {"sms": settings})
    try:
        async with listening(services) as (_, client):
            async with engine(cfg):
                await publish(client, 0, 1.2, recent(0), station="s0")
                await wait_for(lambda: len(gateway.accepted) >= 1, "the first SMS")
                await publish(client, 1, 0.3, recent(1), station="s0")  # resolved: over the limit
                await asyncio.sleep(1.5)
            async with engine(cfg):  # a restart does not reset the count
                await asyncio.sleep(1.5)
    finally:
        gateway.stop()
    assert len(gateway.accepted) == 1
    assert gateway.accepted[0]["to"] == "13900000001"
    assert "【预警】" in gateway.accepted[0]["text"]
    assert outbox(tmp_path, "sms") == 1  # the resolution waits for the next allowed message


@pytest.fixture
def exim() -> Iterator[Exim]:
    server = Exim()
    server.start()
    yield server
    server.stop()


async def test_email_through_exim_with_starttls_and_auth(
    services: Services, tmp_path: Path, exim: Exim, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "smtp.pw").write_text(exim.password + "\n", encoding="utf-8")
    settings = {
        "host": "127.0.0.1",
        "port": exim.port,
        "sender": "warnings@stationpipe.test",
        "username": exim.username,
        "password_file": str(tmp_path / "smtp.pw"),
        "ca_file": str(exim.cert),
        "group_window": "0.5s",
        "routes": [
            {
                "name": "duty",
                "stations": ["s0"],
                "recipients": ["duty@stationpipe.test", "chief@stationpipe.test"],
            },
            {"name": "bounce", "stations": ["s2"], "recipients": ["refuse@stationpipe.test"]},
        ],
    }
    async with listening(services) as (_, client), engine(config(services, tmp_path, {"email": settings})):
        await publish(client, 0, 2.5, recent(0), station="s2")  # its only recipient is refused (550): dropped
        await publish(client, 0, 2.5, recent(0), station="s0")
        await wait_for(lambda: len(exim.messages()) >= 1, "a queued e-mail")
        await wait_for(lambda: outbox(tmp_path, "email") == 0, "the refused one dropped")
    [mail] = exim.messages()
    assert mail["From"] == "warnings@stationpipe.test"
    assert "duty@stationpipe.test" in mail["To"]
    assert "chief@stationpipe.test" in mail["To"]
    assert "红色预警" in mail["Subject"]
    assert "red warning" in mail["Subject"]
    assert mail["Message-ID"] == f"<{mail['X-Stationpipe-Key']}@stationpipe>"
    body = mail.get_content()
    assert "断面0（杭州市 钱塘江）" in body
    assert "red warning" in body
    received = [line for line in exim.log().splitlines() if " <= warnings@stationpipe.test" in line]
    assert len(received) == 1
    assert "P=esmtpsa" in received[0]
    assert " X=TLS" in received[0]
    assert f"A=plain:{exim.username}" in received[0]


@contextlib.contextmanager
def process(path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """``stationpipe rules --config path`` as a child process."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "stationpipe", "rules", "--config", str(path)],
        env=os.environ.copy(),
        stdout=subprocess.DEVNULL,
        stderr=(path.parent / f"rules-{free_port()}.log").open("wb"),
    )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(10)


async def test_the_outbox_survives_sigkill_and_delivers_once(
    services: Services, tmp_path: Path, dingtalk: DingTalkRobot
) -> None:
    path = tmp_path / "rules.toml"
    path.write_text(toml(document(services, tmp_path, {"dingtalk": dt_settings(dingtalk)})), encoding="utf-8")
    async with listening(services) as (found, client):
        with process(path) as first:  # the robot is down
            at = recent(0)
            async with asyncio.timeout(30):
                while not (tmp_path / "state.sqlite3").exists() or outbox(tmp_path, "dingtalk") < 2:
                    # again until the engine has subscribed: a repeated reading is recognised as such
                    await publish(client, 0, 1.2, at, station="s0")
                    await publish(client, 0, 2.5, at, station="s2")
                    await asyncio.sleep(0.5)
            assert outbox(tmp_path, "dingtalk") == 2
            first.send_signal(signal.SIGKILL)
            await asyncio.to_thread(first.wait, 10)
        assert outbox(tmp_path, "dingtalk") == 2
        dingtalk.start()
        with process(path):
            await wait_for(lambda: len(dingtalk.accepted) >= 1, "delivered after the restart", within=30)
            await wait_for(lambda: outbox(tmp_path, "dingtalk") == 0, "the outbox emptied")
            await asyncio.sleep(1.5)
    assert len(found.warnings) >= 2
    assert len(dingtalk.accepted) == len(dingtalk.unique()) == 1  # once per idempotency key
    text = dingtalk.accepted[0]["markdown"]["text"]
    assert "断面0" in text
    assert "断面2" in text
    assert "2 warning changes" in text
    assert datetime.now(UTC)
