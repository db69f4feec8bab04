"""What the DingTalk and WeCom robots share: a JSON POST answered ``{"errcode": 0, "errmsg": "ok"}``.

Both answer HTTP 200 for refused messages too, with a non-zero ``errcode``; which codes mean "later"
(a rate limit, a busy system) and which "never" (a bad token, a bad signature, a deleted robot) is each
provider's table (docs/domain.md, "Channels people read").
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from stationpipe.kernel.errors import RejectedError, TransientError
from stationpipe.rules.channels.webhook import IDEMPOTENCY, retry_after

#: Seconds to wait after a robot's rate-limit answer (both allow 20 messages a minute per robot).
RATE_WAIT = 60.0


async def post_robot(
    client: httpx.AsyncClient,
    url: str,
    payload: dict[str, Any],
    *,
    key: str,
    transient: frozenset[int],
    name: str,
) -> None:
    """POST ``payload``; ``TransientError`` for transport errors, 429, 5xx and ``transient`` errcodes;
    ``RejectedError`` for other 4xx and other non-zero errcodes."""
    raw = json.dumps(payload, ensure_ascii=False).encode()
    headers = {"Content-Type": "application/json; charset=utf-8", IDEMPOTENCY: key}
    try:
        resp = await client.post(url, content=raw, headers=headers)
    except httpx.HTTPError as exc:
        raise TransientError(f"{name}: {exc!r}") from exc
    if resp.status_code == 429 or resp.status_code >= 500:
        raise TransientError(f"{name} answered {resp.status_code}", retry_after=retry_after(resp))
    if not resp.is_success:
        raise RejectedError(f"{name} answered {resp.status_code}: {resp.text[:200]}")
    try:
        answer = resp.json()
        code = int(answer.get("errcode", -1))
    except (ValueError, AttributeError, TypeError):
        raise TransientError(f"{name} answered 200 without an errcode: {resp.text[:200]}") from None
    if code == 0:
        return
    text = f"{name} errcode {code}: {str(answer.get('errmsg', ''))[:200]}"
    if code in transient:
        raise TransientError(text, retry_after=RATE_WAIT if code != -1 else None)
    raise RejectedError(text)
