"""SMS channel (``[delivery.sms]``): any HTTP SMS gateway, described by a template in the config.

One request per recipient (a route's ``recipients`` are phone numbers): ``method url?query`` with
``headers`` and a ``body`` (``body_format``: a JSON object, a URL-encoded form, or none), every value a
template that may hold

- ``${phone}``: the recipient's number; ``${message}``: the text (plain, Chinese then English, at most
  ``max_chars`` characters); ``${key}``: the message's idempotency key;
- ``${secret:NAME}``: the secret ``NAME`` of ``[delivery.sms.secrets]`` (from the environment or a file).

``auth``: ``basic`` (username and secret), ``bearer`` (``Authorization: Bearer <secret>``) or ``header``
(``<header>: <secret>``). Delivered when the status is one of ``success_status`` and, with
``success_field`` (a dotted path into the JSON answer), that field equals ``success_value``; a value in
``transient_values`` (a gateway's throttle code), a 429 or a 5xx is retried; anything else is dropped with
the reason. ``rate_limit`` counts per phone number (the state file keeps the count across restarts); what
is over it waits and goes out merged into the next message allowed.
"""

from __future__ import annotations

import re
from typing import Any

import httpx

from stationpipe.kernel.errors import RejectedError, TransientError
from stationpipe.rules.channel_models import SmsSettings
from stationpipe.rules.channels.base import Body, ChannelType, Link
from stationpipe.rules.channels.digest import Digest, digest
from stationpipe.rules.channels.people import Message, PeopleChannel, targets, wanted
from stationpipe.rules.channels.webhook import IDEMPOTENCY, retry_after
from stationpipe.rules.config import Delivery, RulesConfig

SMS = "sms"
_PLACEHOLDER = re.compile(r"\$\{(phone|message|key|secret:[^}]*)\}")


def text(d: Digest) -> str:
    """The SMS text: the title, one line per warning (Chinese), the English title and lines."""
    zh = [f"【预警】{d.title_zh}", *(f"{i.time} {i.place} {i.zh}" for i in d.items)]
    en = [d.title_en, *(f"{i.time} {i.en}" for i in d.items)]
    more = [d.more_line] if d.more else []
    return "\n".join([*zh, *en, *more])


def fit_chars(d: Digest, limit: int) -> str:
    """:func:`text` with as many warnings as fit in ``limit`` characters; cut at ``limit`` at worst."""
    items = list(d.items)
    while True:
        shown = Digest(d.title_zh, d.title_en, d.level, tuple(items), d.more + len(d.items) - len(items))
        out = text(shown)
        if len(out) <= limit:
            return out
        if not items:
            return out[: limit - 1] + "…"
        items.pop()


def fill(template: str, values: dict[str, str]) -> str:
    """Replace the placeholders of ``template`` (see the module docstring)."""
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], template)


def request(settings: SmsSettings, phone: str, message: str, key: str) -> dict[str, Any]:
    """The httpx ``request`` arguments of one SMS."""
    values = {"phone": phone, "message": message, "key": key}
    values |= {f"secret:{name}": ref.value() for name, ref in settings.secrets.items()}
    headers = {name: fill(v, values) for name, v in settings.headers.items()}
    headers[IDEMPOTENCY] = key
    args: dict[str, Any] = {
        "method": settings.method,
        "url": str(settings.url),
        "params": {name: fill(v, values) for name, v in settings.query.items()},
        "headers": headers,
    }
    body = {name: fill(v, values) for name, v in settings.body.items()}
    if settings.body_format == "json":
        args["json"] = body
    elif settings.body_format == "form":
        args["data"] = body
    auth = settings.auth
    if auth is not None and auth.kind == "basic":
        args["auth"] = (auth.username, auth.secret())
    elif auth is not None and auth.kind == "bearer":
        headers["Authorization"] = f"Bearer {auth.secret()}"
    elif auth is not None:
        headers[auth.header] = auth.secret()
    return args


def _field(answer: Any, path: str) -> Any:
    for part in path.split("."):
        if not isinstance(answer, dict) or part not in answer:
            return None
        answer = answer[part]
    return answer


def judge(settings: SmsSettings, resp: httpx.Response) -> None:
    """Return when the gateway took the SMS; ``TransientError`` to retry, ``RejectedError`` to drop."""
    if resp.status_code == 429 or resp.status_code >= 500:
        raise TransientError(f"sms gateway answered {resp.status_code}", retry_after=retry_after(resp))
    if resp.status_code not in settings.success_status:
        raise RejectedError(f"sms gateway answered {resp.status_code}: {resp.text[:200]}")
    if settings.success_field is None:
        return
    try:
        value = _field(resp.json(), settings.success_field)
    except ValueError:
        value = None
    got = "" if value is None else str(value)
    if got == settings.success_value:
        return
    reason = f"sms gateway {settings.success_field}={got!r}: {resp.text[:200]}"
    if got in settings.transient_values:
        raise TransientError(reason)
    raise RejectedError(reason)


def _build(config: RulesConfig, _link: Link) -> PeopleChannel | None:
    settings = config.delivery.sms
    if settings is None:
        return None
    client = httpx.AsyncClient(timeout=settings.timeout)

    async def post(message: Message) -> None:
        words = fit_chars(digest(message.bodies, settings.timezone, settings.max_items), settings.max_chars)
        for phone in message.recipients:
            try:
                resp = await client.request(**request(settings, phone, words, message.key))
            except httpx.HTTPError as exc:
                raise TransientError(f"sms gateway: {exc!r}") from exc
            judge(settings, resp)

    return PeopleChannel(SMS, settings, post, client.aclose)


def _wants(body: Body, delivery: Delivery) -> bool:
    return wanted(body, delivery.sms)


def _targets(body: Body, delivery: Delivery) -> list[str]:
    return targets(body, delivery.sms, per_recipient=True)


CHANNEL = ChannelType(wants=_wants, build=_build, targets=_targets)
