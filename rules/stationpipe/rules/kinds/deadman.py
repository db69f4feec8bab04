"""Station silent: no message for ``silent_for``, evaluated on a timer (wall clock), never on arrival.

The rule watches readings messages, or with ``watch = "status"`` the ``online`` status messages (a data
logger's heartbeats, published by the HJ 212 server).

The engine records when each station's last message *arrived*; a station never heard from since the
engine started counts from the start, so a restart does not declare the whole registry silent at once.
"""

from __future__ import annotations

from datetime import datetime

from stationpipe.kernel.registry import StationInfo
from stationpipe.rules.kinds.base import Outcome, active, quiet
from stationpipe.rules.rule_models import DeadmanRule

#: The instance parameter of a deadman warning (it concerns the whole station).
STATION = "station"


def silent(rule: DeadmanRule, info: StationInfo, last_arrival: datetime, now: datetime) -> Outcome:
    """Level ``rule.level`` when nothing arrived from ``info`` for ``silent_for`` (wall clock, UTC)."""
    gap = now - last_arrival
    if gap < rule.silent_for:
        return quiet()
    minutes = f"{gap.total_seconds() / 60:.0f}"
    if rule.watch == "status":
        zh, en = (
            f"站点 {info.name} 已 {minutes} 分钟无心跳",
            f"station {info.id} no heartbeat for {minutes} min",
        )
    else:
        zh, en = f"站点 {info.name} 已 {minutes} 分钟无数据", f"station {info.id} silent for {minutes} min"
    return active(rule.level, gap.total_seconds(), rule.silent_for.total_seconds(), zh, en)
