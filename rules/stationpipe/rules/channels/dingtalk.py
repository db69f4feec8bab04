"""DingTalk channel (``[delivery.dingtalk]``): a custom robot (自定义机器人) with signing (加签).

Request, as DingTalk documents it (docs/domain.md, "Channels people read", with the sources)::

    POST <url>?access_token=<token>&timestamp=<ms>&sign=<sign>
    Content-Type: application/json; charset=utf-8

    {"msgtype": "markdown",
     "markdown": {"title": "<shown in the notification>", "text": "<markdown> … @13800000000"},
     "at": {"atMobiles": ["13800000000"], "isAtAll": false}}

``timestamp``: now in milliseconds (DingTalk refuses one more than an hour off); ``sign``: the URL-encoded
Base64 of HMAC-SHA256 over ``"<timestamp>\\n<secret>"`` keyed by the secret (UTF-8). A mention works only
when the text holds ``@<phone>`` as well as ``at.atMobiles``. Answers: HTTP 200 with ``errcode`` 0 is
delivered; ``errcode`` -1 (busy), 130101 (over 20 messages a minute), 660026 and 90030 (over a send quota)
are retried; any other errcode, and 4xx, is dropped with the reason.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
import urllib.parse

import httpx

from stationpipe.rules.channel_models import DingTalkSettings
from stationpipe.rules.channels.base import Body, ChannelType, Link
from stationpipe.rules.channels.digest import Digest, digest, fit
from stationpipe.rules.channels.people import Message, PeopleChannel, targets, wanted
from stationpipe.rules.channels.robot import post_robot
from stationpipe.rules.config import Delivery, RulesConfig

DINGTALK = "dingtalk"
TRANSIENT = frozenset({-1, 130101, 660026, 90030})
#: DingTalk's limit for a markdown text is about 20,000 bytes; stay well inside it.
MAX_BYTES = 18_000
_MARKS = {1: "🔵", 2: "🟡", 3: "🟠", 4: "🔴"}


def sign(timestamp_ms: int, secret: str) -> str:
    """The ``sign`` query value: urlencode(base64(HMAC-SHA256(key=secret, "<timestamp>\\n<secret>")))."""
    text = f"{timestamp_ms}\n{secret}".encode()
    mac = hmac.new(secret.encode(), text, hashlib.sha256).digest()
    return urllib.parse.quote_plus(base64.b64encode(mac).decode())


def signed_url(base: str, token: str, secret: str, timestamp_ms: int) -> str:
    """``base?access_token=…&timestamp=…&sign=…``."""
    token_q = urllib.parse.quote_plus(token)
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}access_token={token_q}&timestamp={timestamp_ms}&sign={sign(timestamp_ms, secret)}"


def markdown(d: Digest, mobiles: tuple[str, ...]) -> str:
    """The markdown text: title, one bullet per warning (Chinese, then English), the @-mentions."""
    lines = [f"#### {_MARKS[d.level]} {d.title_zh}", f"**{d.title_en}**", ""]
    for item in d.items:
        mark = "✅" if item.resolved else _MARKS[item.level]
        lines += [f"- {mark} **{item.time}** {item.place}  ", f"  {item.zh}  ", f"  *{item.en}*"]
    if d.more:
        lines += ["", f"> {d.more_line}"]
    if mobiles:
        lines += ["", " ".join(f"@{m}" for m in mobiles)]
    return "\n".join(lines)


def payload(message: Message, settings: DingTalkSettings) -> dict[str, object]:
    """The robot's JSON for one message."""
    d = digest(message.bodies, settings.timezone, settings.max_items)
    mobiles = message.recipients
    text = fit(lambda shown: markdown(shown, mobiles), d, MAX_BYTES)
    return {
        "msgtype": "markdown",
        "markdown": {"title": d.title_zh[:64], "text": text},
        "at": {"atMobiles": list(mobiles), "isAtAll": message.route.at_all},
    }


def _build(config: RulesConfig, _link: Link) -> PeopleChannel | None:
    settings = config.delivery.dingtalk
    if settings is None:
        return None
    client = httpx.AsyncClient(timeout=settings.timeout)
    base = str(settings.url)

    async def post(message: Message) -> None:
        token = settings.access_token().get_secret_value()
        url = signed_url(base, token, settings.secret().get_secret_value(), round(time.time() * 1000))
        await post_robot(
            client, url, payload(message, settings), key=message.key, transient=TRANSIENT, name=DINGTALK
        )

    return PeopleChannel(DINGTALK, settings, post, client.aclose)


def _wants(body: Body, delivery: Delivery) -> bool:
    return wanted(body, delivery.dingtalk)


def _targets(body: Body, delivery: Delivery) -> list[str]:
    return targets(body, delivery.dingtalk, per_recipient=False)


CHANNEL = ChannelType(wants=_wants, build=_build, targets=_targets)
