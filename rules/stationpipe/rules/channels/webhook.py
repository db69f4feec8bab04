"""Webhook channel (``[delivery.webhook]``): signed JSON POSTs to the early-warning system.

Request: ``POST <url>`` with ``Content-Type: application/json; charset=utf-8`` and headers

- ``X-Stationpipe-Signature: sha256=<hex>``: HMAC-SHA256 of the exact body bytes with the shared key;
- ``Idempotency-Key: <id>``: the notification id; the same change always carries the same key, so a
  receiver stores each key once (a retry after a lost response repeats it).

Body (UTF-8 JSON object, ``"v": 1``)::

    id                   str    station/instance/started-ms/change/level (the idempotency key)
    station, section     str    station id, section name (may be "")
    rule, instance       str    rule name; rule.parameter as in warnings/<station>/<instance>
    parameter            str|null
    level                int    1 blue, 2 yellow, 3 orange, 4 red
    colour               str    blue | yellow | orange | red
    state                str    pending | firing | resolved
    change               str    pending | firing | escalated | deescalated | cancelled | resolved
    value, limit         number|null  in the parameter's unit
    target_class         str|null     Ⅲ …
    exceedance_multiple  number|null  超标倍数 against the limit
    started, ended, ts   RFC 3339 UTC (ended null until resolved; ts: the evaluation instant)
    expected             RFC 3339 UTC|null  predicted crossing (trend rules)
    backfilled           bool   raised by data that arrived after an outage
    fired                bool   the instance reached firing
    station_name         str    the registry's name of the station ("" if unknown)
    city, river          str    the registry's city and river of the station (may be "")
    kind                 str    the rule's kind (section, aqi, trend, deadman …; "" on a re-send)
    message              {"zh": str, "en": str}
    acknowledged         bool   an operator acknowledged the episode: reminders and escalation to people stop
    handling             {"state": issued | verified | responding | lifted | false_alarm,
                          "acknowledged_by": str|null, "assignee": str|null}  the human state

Sent: the changes of instances that fired (firing, escalated, deescalated, resolved), and pending ones
too with ``include_pending``. Answers: 2xx delivered; 408, 425, 429 and 5xx retried (``Retry-After``
honoured); other 4xx dropped.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import httpx

from stationpipe.kernel.errors import RejectedError, TransientError
from stationpipe.rules.channels.base import Body, ChannelType, Link, SendsOnce, fired
from stationpipe.rules.config import Delivery, RulesConfig, WebhookSettings

WEBHOOK = "webhook"
SIGNATURE = "X-Stationpipe-Signature"
IDEMPOTENCY = "Idempotency-Key"
_RETRY = {408, 425, 429}


def sign(key: bytes, body: bytes) -> str:
    """The signature header value: ``sha256=<hex HMAC-SHA256 of body>``."""
    return "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()


def retry_after(resp: httpx.Response) -> float | None:
    """The seconds of a ``Retry-After`` header, when it holds a number."""
    try:
        return float(resp.headers.get("Retry-After", ""))
    except ValueError:
        return None


class WebhookSink(SendsOnce):
    """POSTs each notification once it is confirmed with a 2xx (see module docstring)."""

    concurrent = False

    def __init__(self, settings: WebhookSettings) -> None:
        self.url = str(settings.url)
        self.key = settings.key().get_secret_value().encode()
        self.client = httpx.AsyncClient(timeout=settings.timeout)

    async def aclose(self) -> None:
        """Close the HTTP connection pool."""
        await self.client.aclose()

    async def send(self, body: dict[str, Any]) -> None:
        """One signed POST; ``TransientError`` to retry, ``RejectedError`` to drop."""
        raw = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            SIGNATURE: sign(self.key, raw),
            IDEMPOTENCY: body["id"],
        }
        try:
            resp = await self.client.post(self.url, content=raw, headers=headers)
        except httpx.HTTPError as exc:
            raise TransientError(f"webhook {self.url}: {exc!r}") from exc
        if resp.is_success:
            return
        if resp.status_code in _RETRY or resp.status_code >= 500:
            raise TransientError(f"webhook answered {resp.status_code}", retry_after=retry_after(resp))
        raise RejectedError(f"webhook answered {resp.status_code}: {resp.text[:200]}")


def _wants(body: Body, delivery: Delivery) -> bool:
    settings = delivery.webhook
    return settings is not None and (
        fired(body) or (settings.include_pending and body["change"] == "pending")
    )


def _build(config: RulesConfig, _link: Link) -> WebhookSink | None:
    settings = config.delivery.webhook
    return None if settings is None else WebhookSink(settings)


CHANNEL = ChannelType(wants=_wants, build=_build)
