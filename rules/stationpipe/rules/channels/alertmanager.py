"""Alertmanager channel (``[delivery.alertmanager]``): ``POST /api/v2/alerts``, one alert per notification.

Labels: ``alertname`` (rule), ``station``, ``instance`` (rule.parameter), ``parameter``, ``severity``
(colour), ``level``, ``section``. Annotations: ``summary`` (bilingual), ``summary_zh``, ``summary_en``,
``value``, ``limit``. ``startsAt`` is the instance's start; a firing alert's ``endsAt`` is
now + 4 x ``resend_every`` (it expires if the engine stops re-sending), a resolved alert's is its end.
Sent: the changes of instances that fired (firing, escalated, deescalated, resolved). On the engine's
timer, firing alerts are queued again every ``resend_every``, and resolved ones for ``resolved_for``
(:meth:`AlertmanagerSink.resends`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from stationpipe.kernel.errors import RejectedError, TransientError
from stationpipe.kernel.registry import StationInfo
from stationpipe.kernel.wire import rfc3339
from stationpipe.rules.channels.base import Body, ChannelType, Link, fired
from stationpipe.rules.config import AlertmanagerSettings, Delivery, RulesConfig
from stationpipe.rules.lifecycle import Change, Instance, Phase
from stationpipe.rules.notify import notification

ALERTMANAGER = "alertmanager"


def alert(body: dict[str, Any], now: datetime, expiry: timedelta) -> dict[str, Any]:
    """The Alertmanager v2 alert of one notification's JSON."""
    labels = {
        "alertname": body["rule"],
        "station": body["station"],
        "instance": body["instance"],
        "severity": body["colour"],
        "level": str(body["level"]),
    }
    if body.get("parameter"):
        labels["parameter"] = body["parameter"]
    if body.get("section"):
        labels["section"] = body["section"]
    message = body["message"]
    annotations = {
        "summary": f"{message['zh']} / {message['en']}",
        "summary_zh": message["zh"],
        "summary_en": message["en"],
    }
    for key in ("value", "limit"):
        if body.get(key) is not None:
            annotations[key] = f"{body[key]:g}"
    ends = body["ended"] if body["state"] == "resolved" and body.get("ended") else rfc3339(now + expiry)
    return {"labels": labels, "annotations": annotations, "startsAt": body["started"], "endsAt": ends}


class AlertmanagerSink:
    """Posts alerts to one Alertmanager (or a load balancer in front of a cluster)."""

    concurrent = False

    def __init__(self, settings: AlertmanagerSettings) -> None:
        self.url = str(settings.url).rstrip("/") + "/api/v2/alerts"
        self.settings = settings
        self.expiry = 4 * settings.resend_every
        self.client = httpx.AsyncClient(timeout=settings.timeout)
        self.resend_at = 0.0

    async def aclose(self) -> None:
        """Close the HTTP connection pool."""
        await self.client.aclose()

    async def send(self, body: dict[str, Any]) -> None:
        """POST one alert; ``TransientError`` to retry (transport, 5xx, 429), ``RejectedError`` for 4xx."""
        try:
            resp = await self.client.post(self.url, json=[alert(body, datetime.now(UTC), self.expiry)])
        except httpx.HTTPError as exc:
            raise TransientError(f"alertmanager {self.url}: {exc!r}") from exc
        if resp.is_success:
            return
        if resp.status_code == 429 or resp.status_code >= 500:
            raise TransientError(f"alertmanager answered {resp.status_code}")
        raise RejectedError(f"alertmanager answered {resp.status_code}: {resp.text[:200]}")

    def resends(
        self, wall: datetime, instances: Iterable[Instance], stations: Mapping[str, StationInfo]
    ) -> list[tuple[str, Body]]:
        """Every ``resend_every``: firing instances again, and resolved ones for ``resolved_for``."""
        now = wall.timestamp()
        if now - self.resend_at < self.settings.resend_every.total_seconds():
            return []
        self.resend_at = now
        horizon = now - self.settings.resolved_for.total_seconds()
        rows = []
        for inst in instances:
            if not inst.fired or (inst.phase is Phase.RESOLVED and inst.seen_wall < horizon):
                continue
            if inst.phase not in {Phase.FIRING, Phase.RESOLVED}:
                continue
            if inst.phase is Phase.FIRING:
                note = notification(inst, Change.FIRING, stations.get(inst.station), inst.last_active or now)
            else:
                note = notification(inst, Change.RESOLVED, stations.get(inst.station), inst.ended or now)
            rows.append((f"{note.id}#resend@{int(now)}", note.to_json()))
        return rows


def _wants(body: Body, delivery: Delivery) -> bool:
    return delivery.alertmanager is not None and fired(body)


def _build(config: RulesConfig, _link: Link) -> AlertmanagerSink | None:
    settings = config.delivery.alertmanager
    return None if settings is None else AlertmanagerSink(settings)


CHANNEL = ChannelType(wants=_wants, build=_build)
