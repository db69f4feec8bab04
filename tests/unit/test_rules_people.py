"""The channels people read, without a network: DingTalk's sign, routing, grouping, quiet hours, rate
limits, the message formats, and secrets that never sit in the config."""

from __future__ import annotations

import contextlib
import json
import sqlite3
from datetime import UTC, datetime, time
from pathlib import Path
from typing import Any

import pytest

from stationpipe.kernel.config import validate
from stationpipe.kernel.errors import ConfigError
from stationpipe.rules.channel_models import DingTalkSettings, QuietHours
from stationpipe.rules.channels import CHANNELS, rows
from stationpipe.rules.channels.digest import digest
from stationpipe.rules.channels.dingtalk import payload as dingtalk_payload
from stationpipe.rules.channels.dingtalk import sign
from stationpipe.rules.channels.people import Message, PeopleChannel, withdrawn
from stationpipe.rules.channels.sms import fit_chars, request
from stationpipe.rules.channels.wecom import payload as wecom_payload
from stationpipe.rules.config import RulesConfig
from stationpipe.rules.state import Batch, Queued, State
from stationpipe.testbed.robots import dingtalk_sign
from tests.unit.rules_helpers import REGISTRY

NOON = datetime(2026, 5, 1, 4, 0, tzinfo=UTC).timestamp()  # 12:00 in Asia/Shanghai


def body(n: int, level: int = 2, city: str = "杭州市", river: str = "钱塘江", **extra: Any) -> dict[str, Any]:
    """A fired notification of station ``s<n>``."""
    colour = {1: "blue", 2: "yellow", 3: "orange", 4: "red"}[level]
    return {
        "id": f"s{n}/section.nh3n/1/firing/{level}",
        "station": f"s{n}",
        "station_name": f"断面{n}",
        "city": city,
        "river": river,
        "rule": "section",
        "kind": "section",
        "instance": "section.nh3n",
        "level": level,
        "colour": colour,
        "state": "firing",
        "change": "firing",
        "ts": "2026-05-01T04:00:00Z",
        "message": {"zh": f"黄色预警 氨氮 {n}", "en": f"yellow warning: NH3-N {n}"},
        **extra,
    }


@pytest.fixture
def secrets_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {"DT_TOKEN": "tok", "DT_SECRET": "SECabc", "WC_KEY": "k1", "SMS_TOKEN": "t"}.items():
        monkeypatch.setenv(name, value)


def rules_file(tmp: Path, delivery: dict[str, Any]) -> RulesConfig:
    (tmp / "registry.toml").write_text(REGISTRY, encoding="utf-8")
    doc = {
        "registry": "registry.toml",
        "state": "state.sqlite3",
        "mqtt": {"client_id": "t"},
        "delivery": delivery,
    }
    return validate(tmp / "rules.toml", doc, RulesConfig)


DINGTALK: dict[str, Any] = {
    "access_token_env": "DT_TOKEN",
    "secret_env": "DT_SECRET",
    "routes": [
        {"name": "hz", "cities": ["杭州市"], "recipients": ["13800000001"]},
        {"name": "red", "levels": [4], "recipients": ["13800000002"], "at_all": True},
    ],
}
SMS: dict[str, Any] = {
    "url": "http://127.0.0.1:9/sms",
    "auth": {"kind": "bearer", "secret_env": "SMS_TOKEN"},
    "body": {"to": "${phone}", "text": "${message}"},
    "routes": [{"name": "duty", "rivers": ["钱塘江"], "recipients": ["13900000001", "13900000002"]}],
    "rate_limit": {"count": 2, "per": "1h"},
}


def test_dingtalk_sign_matches_the_documented_computation_and_a_published_vector() -> None:
    # The vector is the dingding crate's test (docs/domain.md cites it): timestamp 1700000000000, "secret".
    assert sign(1_700_000_000_000, "secret") == "OuzzJR5%2BxZ4%2FEYwqtNt6sMYZQMTa%2FHEGvc9miJe7XzY%3D"
    assert sign(1_700_000_000_000, "SECabc") == dingtalk_sign("1700000000000", "SECabc")


def test_routes_by_city_river_level_and_kind_one_row_per_target(tmp_path: Path, secrets_env: None) -> None:
    cfg = rules_file(tmp_path, {"dingtalk": DINGTALK, "sms": SMS})
    hz_red = people(body(1, level=4), cfg)
    assert [(sink, rid.split(">")[1]) for sink, rid, _ in hz_red] == [
        ("dingtalk", "hz"),
        ("dingtalk", "red"),
        ("sms", "duty/13900000001"),
        ("sms", "duty/13900000002"),
    ]
    assert all(b["target"] == rid.split(">")[1] for _, rid, b in hz_red)
    elsewhere = people(body(2, city="宁波市", river="甬江"), cfg)
    assert elsewhere == []
    pending = people(body(3, change="pending", state="pending"), cfg)
    assert pending == []
    assert [r[0] for r in people(body(4, kind="aqi"), cfg)] == ["dingtalk", "sms", "sms"]


def test_kinds_and_rules_select(tmp_path: Path, secrets_env: None) -> None:
    only = {**DINGTALK, "routes": [{"name": "t", "kinds": ["trend"], "rules": ["predict"]}]}
    cfg = rules_file(tmp_path, {"dingtalk": only})
    assert people(body(1), cfg) == []
    assert len(people(body(1, kind="trend", rule="predict"), cfg)) == 1


def people(b: dict[str, Any], cfg: RulesConfig) -> list[tuple[str, str, dict[str, Any]]]:
    """The outbox rows of the channels people read (mqtt always has one)."""
    return [row for row in rows(b, cfg.delivery) if row[0] != "mqtt"]


def queued(n: int, at: float, target: str = "hz", **extra: Any) -> Queued:
    b = {**body(n, **extra), "target": target}
    return Queued(n, f"{b['id']}>{target}", b, 0, at)


def channel(tmp: Path, **settings: Any) -> PeopleChannel:
    cfg = rules_file(tmp, {"dingtalk": {**DINGTALK, **settings}})
    built = CHANNELS["dingtalk"].build(cfg, lambda: None)
    assert isinstance(built, PeopleChannel)
    return built


async def test_a_burst_within_the_window_is_one_message(tmp_path: Path, secrets_env: None) -> None:
    ch = channel(tmp_path, group_window="60s")
    burst = [queued(i, NOON + i) for i in range(50)]
    early = ch.plan(burst, NOON + 30, {})
    assert early.ready == []
    assert early.wake_at == NOON + 60
    due = ch.plan(burst, NOON + 60, {})
    assert len(due.ready) == 1
    message = due.ready[0]
    assert [r.seq for r in message.rows] == list(range(50))
    assert message.key == ch.plan(burst, NOON + 61, {}).ready[0].key  # the same rows, the same key
    assert isinstance(ch.settings, DingTalkSettings)
    text = dingtalk_payload(message, ch.settings)["markdown"]["text"]  # type: ignore[index]
    assert "50 条预警变化" in text
    assert "50 warning changes" in text
    assert "… 还有 30 条 / 30 more" in text  # max_items = 20
    await ch.aclose()


async def test_quiet_hours_hold_all_but_red_until_the_window_ends(tmp_path: Path, secrets_env: None) -> None:
    quiet = {"start": "11:00", "end": "13:00", "timezone": "Asia/Shanghai"}
    ch = channel(tmp_path, group_window="0s", quiet=quiet)
    waiting = [queued(1, NOON - 5), queued(2, NOON - 4, level=4), queued(3, NOON - 3, target="red", level=4)]
    plan = ch.plan(waiting, NOON, {})
    assert [[r.seq for r in m.rows] for m in plan.ready] == [[2], [3]]  # red goes out, yellow waits
    assert plan.wake_at == NOON + 3600  # 13:00 local
    after = ch.plan(waiting[:1], NOON + 3600, {})
    assert [[r.seq for r in m.rows] for m in after.ready] == [[1]]
    await ch.aclose()


def test_quiet_hours_cross_midnight() -> None:
    q = QuietHours(start=time(22, 0), end=time(7, 0))
    late = datetime(2026, 5, 1, 15, 30, tzinfo=UTC).timestamp()  # 23:30 local
    assert q.active(late)
    assert q.ends(late) == datetime(2026, 5, 1, 23, 0, tzinfo=UTC).timestamp()  # 07:00 local
    assert not q.active(NOON)
    assert q.urgent(body(1, level=4))
    assert not q.urgent(body(1, level=4, state="resolved"))


async def test_rate_limit_merges_what_is_over_it_into_the_next_allowed_message(
    tmp_path: Path, secrets_env: None
) -> None:
    cfg = rules_file(tmp_path, {"sms": SMS})
    ch = CHANNELS["sms"].build(cfg, lambda: None)
    assert isinstance(ch, PeopleChannel)
    sends = {"13900000001": [NOON - 1800, NOON - 600]}  # two in the last hour: the limit
    waiting = [queued(i, NOON - 100 + i, target="duty/13900000001") for i in range(3)]
    plan = ch.plan(waiting, NOON, sends)
    assert plan.ready == []
    assert plan.wake_at == NOON - 1800 + 3600
    later = ch.plan(waiting, NOON + 1800, sends)
    assert len(later.ready) == 1
    assert len(later.ready[0].rows) == 3  # merged, none dropped
    facts = ch.counted(later.ready[0], NOON + 1800, sends)
    assert facts == {"rate/sms/13900000001": [NOON - 600, NOON + 1800]}
    await ch.aclose()


def test_sms_request_follows_the_template(tmp_path: Path, secrets_env: None) -> None:
    cfg = rules_file(tmp_path, {"sms": {**SMS, "max_chars": 70}})
    settings = cfg.delivery.sms
    assert settings is not None
    text = fit_chars(digest([body(i) for i in range(5)], "Asia/Shanghai", 20), settings.max_chars)
    assert len(text) <= 70
    assert "5 条预警变化" in text
    args = request(settings, "13900000001", text, "sms-k")
    assert args["json"] == {"to": "13900000001", "text": text}
    assert args["headers"]["Authorization"] == "Bearer t"
    assert args["headers"]["Idempotency-Key"] == "sms-k"


async def test_wecom_markdown_fits_4096_bytes_and_mentions(tmp_path: Path, secrets_env: None) -> None:
    wecom = {"key_env": "WC_KEY", "max_items": 500, "routes": [{"name": "all", "recipients": ["zhangsan"]}]}
    cfg = rules_file(tmp_path, {"wecom": wecom})
    ch = CHANNELS["wecom"].build(cfg, lambda: None)
    assert isinstance(ch, PeopleChannel)
    rows_ = tuple(queued(i, NOON, target="all") for i in range(200))
    route = ch.settings.routes[0]
    content = wecom_payload(Message("wecom", "all", route, ("zhangsan",), rows_), cfg.delivery.wecom)  # type: ignore[arg-type]
    text = content["markdown"]["content"]  # type: ignore[index]
    assert len(text.encode()) <= 4096
    assert text.endswith("<@zhangsan>")
    assert "more" in text
    assert json.dumps(content, ensure_ascii=False)
    await ch.aclose()


@pytest.mark.parametrize(
    ("section", "settings", "says"),
    [
        ("dingtalk", {**DINGTALK, "secret": "SECinline"}, "secrets are never written in the config"),
        (
            "dingtalk",
            {**DINGTALK, "url": "https://oapi.dingtalk.com/robot/send?access_token=abc"},
            "access_token is a secret",
        ),
        ("wecom", {"key": "inline"}, "secrets are never written in the config"),
        (
            "email",
            {
                "host": "h",
                "sender": "a@b.c",
                "password": "pw",
                "routes": [{"name": "a", "recipients": ["x@y.z"]}],
            },
            "password_env",
        ),
        (
            "sms",
            {**SMS, "auth": {"kind": "bearer", "secret": "t"}},
            "secrets are never written in the config",
        ),
        ("dingtalk", {"secret_env": "DT_SECRET"}, "access_token_env or access_token_file"),
        (
            "sms",
            {**SMS, "headers": {"Authorization": "Bearer x"}},
            "headers.Authorization looks like a secret",
        ),
        ("sms", {**SMS, "body": {**SMS["body"], "apiKey": "abc"}}, "body.apiKey looks like a secret"),
        ("dingtalk", {**DINGTALK, "secret_env": "NOT_SET_ANYWHERE"}, "NOT_SET_ANYWHERE is not set"),
        ("sms", {**SMS, "routes": [{"name": "x"}]}, "recipients must be phone numbers"),
    ],
)
def test_inline_or_missing_secrets_are_refused_clearly(
    tmp_path: Path, secrets_env: None, section: str, settings: dict[str, Any], says: str
) -> None:
    with pytest.raises(ConfigError, match=says):
        rules_file(tmp_path, {section: settings})


def test_a_state_file_from_before_gets_the_queued_column(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    with contextlib.closing(sqlite3.connect(path)) as db:
        db.execute(
            "CREATE TABLE outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, sink TEXT NOT NULL, "
            "id TEXT NOT NULL, body TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, UNIQUE (sink, id))"
        )
        db.execute("INSERT INTO outbox (sink, id, body) VALUES ('webhook', 'a', '{}')")
        db.commit()
    state = State(path)
    assert [(q.id, q.queued) for q in state.queued("webhook")] == [("a", 0.0)]
    state.commit(Batch({}, {}, [("dingtalk", "b>hz", {"target": "hz"})], {}))
    [row] = state.queued("dingtalk")
    assert row.queued > 0
    state.settle([row.seq], {"rate/dingtalk/hz": [1.0]})
    assert state.queued("dingtalk") == []
    assert state.fact("rate/dingtalk/hz") == [1.0]
    state.close()


def test_an_acknowledged_episode_reaches_people_only_with_its_resolution_or_red(
    tmp_path: Path, secrets_env: None
) -> None:
    cfg = rules_file(tmp_path, {"dingtalk": DINGTALK, "sms": SMS})
    orange = body(1, level=3, change="escalated", acknowledged=True)
    assert people(orange, cfg) == []  # escalation to people stops
    assert [r[0] for r in rows(orange, cfg.delivery)] == ["mqtt"]  # the machine channels keep sending
    assert people(body(1, level=2, change="deescalated", acknowledged=True), cfg) == []
    resolved = people(body(1, change="resolved", state="resolved", acknowledged=True), cfg)
    assert [r[0] for r in resolved] == ["dingtalk", "sms", "sms"]
    red = people(body(1, level=4, change="escalated", acknowledged=True), cfg)
    assert [r[0] for r in red] == ["dingtalk", "dingtalk", "sms", "sms"]  # a new response tier
    assert [r[0] for r in people(body(1, level=3, change="escalated"), cfg)] == ["dingtalk", "sms", "sms"]


def test_an_acknowledgement_withdraws_the_episodes_waiting_rows_in_its_transaction(tmp_path: Path) -> None:
    state = State(tmp_path / "state.sqlite3")
    episode = "s1/section.nh3n/1"
    mine = [
        ("dingtalk", f"{episode}/firing/2>hz", {**body(1), "id": f"{episode}/firing/2"}),
        ("dingtalk", f"{episode}/escalated/4>red", {**body(1, level=4), "id": f"{episode}/escalated/4"}),
        (
            "dingtalk",
            f"{episode}/resolved/4>hz",
            {**body(1, state="resolved"), "id": f"{episode}/resolved/4"},
        ),
    ]
    other = ("dingtalk", "s12/section.nh3n/1/firing/2>hz", {**body(12), "id": "s12/section.nh3n/1/firing/2"})
    state.commit(Batch({}, {}, [*mine, other], {}))
    waiting = state.waiting("dingtalk", f"{episode}/")
    assert [row.id for row in waiting] == [row[1] for row in mine]  # s12 does not share the prefix
    gone = withdrawn(state.queued("dingtalk"), episode)
    assert gone == [waiting[0].seq, waiting[1].seq]  # the resolution stays
    state.commit(Batch({}, {}, [], {}, [(episode, {"kind": "action", "action": "acknowledge"})], gone))
    assert [row.id for row in state.queued("dingtalk")] == [mine[2][1], other[1]]
    assert state.journal(episode) == [{"kind": "action", "action": "acknowledge"}]
    state.close()
