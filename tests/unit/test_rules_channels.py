"""The channel table: which channels each change goes to (the routing every row decides for itself), and
that a row builds its channel only when its section is configured."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from stationpipe.rules.channels import CHANNELS, route
from stationpipe.rules.config import Delivery
from stationpipe.rules.lifecycle import Instance, Phase
from tests.unit.rules_helpers import config

_SECRET = "STATIONPIPE_TEST_CHANNEL_SECRET"
_HOOK = {"url": "http://127.0.0.1:9/hook", "secret_env": _SECRET}
_AM = {"url": "http://127.0.0.1:9"}
CHANGES = ("pending", "firing", "escalated", "deescalated", "cancelled", "resolved")
FIRED = {"firing", "escalated", "deescalated", "resolved"}


@pytest.fixture(autouse=True)
def _secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(_SECRET, "key")


def _delivery(**sections: Any) -> Delivery:
    return Delivery.model_validate(sections)


@pytest.mark.parametrize("change", CHANGES)
def test_each_change_goes_to_the_channels_that_want_it(change: str) -> None:
    body = {"change": change}
    fired = change in FIRED
    assert route(body, _delivery()) == ["mqtt"]
    assert route(body, _delivery(webhook=_HOOK)) == ["mqtt", "webhook"] if fired else ["mqtt"]
    pending = fired or change == "pending"
    both = _delivery(webhook={**_HOOK, "include_pending": True}, alertmanager=_AM)
    expected = ["mqtt", *(["webhook"] if pending else []), *(["alertmanager"] if fired else [])]
    assert route(body, both) == expected


async def test_a_row_builds_its_channel_only_when_configured(tmp_path: Path) -> None:
    def built(**delivery: Any) -> list[str]:
        cfg = config(tmp_path, [], delivery=delivery)
        return [name for name, row in CHANNELS.items() if row.build(cfg, lambda: None) is not None]

    assert built() == ["mqtt"]
    assert built(webhook=_HOOK, alertmanager=_AM) == ["mqtt", "webhook", "alertmanager"]


async def test_only_alertmanager_queues_firing_instances_again_on_the_timer(tmp_path: Path) -> None:
    cfg = config(tmp_path, [], delivery={"webhook": _HOOK, "alertmanager": _AM})
    built = {name: row.build(cfg, lambda: None) for name, row in CHANNELS.items()}
    channels = {name: channel for name, channel in built.items() if channel is not None}  # configured ones
    assert list(channels) == ["mqtt", "webhook", "alertmanager"]
    now = datetime(2026, 1, 1, tzinfo=UTC)
    firing = Instance("W1", "section", "nh3n", Phase.FIRING, level=2, since=now.timestamp() - 60, fired=True)
    resent = {}
    for name, channel in channels.items():
        assert channel is not None
        resent[name] = [key for key, _ in channel.resends(now, [firing], {})]
        assert channel.concurrent is (name == "mqtt")
        await channel.aclose()
    assert resent["mqtt"] == resent["webhook"] == []
    assert [key.split("#")[1] for key in resent["alertmanager"]] == [f"resend@{int(now.timestamp())}"]
