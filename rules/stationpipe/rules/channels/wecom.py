"""WeCom channel (``[delivery.wecom]``): a group robot (企业微信群机器人), markdown messages.

Request, as WeCom documents it (docs/domain.md, "Channels people read", with the sources)::

    POST <url>?key=<webhook key>
    Content-Type: application/json; charset=utf-8

    {"msgtype": "markdown", "markdown": {"content": "<markdown, at most 4096 bytes UTF-8> <@userid>"}}

Mentions in a markdown message are ``<@userid>`` in the content (``mentioned_mobile_list`` belongs to
text messages only); a route's ``recipients`` are those user ids. Colours: ``<font color="warning">``
(orange-red) for orange and red, ``"comment"`` (grey) for resolutions, ``"info"`` (green) otherwise.
Answers: HTTP 200 with ``errcode`` 0 is delivered; -1 (busy) and 45009 (over the API's frequency limit:
20 messages a minute per robot) are retried; any other errcode, and 4xx, is dropped with the reason.
"""

from __future__ import annotations

import urllib.parse

import httpx

from stationpipe.rules.channel_models import WeComSettings
from stationpipe.rules.channels.base import Body, ChannelType, Link
from stationpipe.rules.channels.digest import Digest, digest, fit
from stationpipe.rules.channels.people import Message, PeopleChannel, targets, wanted
from stationpipe.rules.channels.robot import post_robot
from stationpipe.rules.config import Delivery, RulesConfig

WECOM = "wecom"
TRANSIENT = frozenset({-1, 45009})
MAX_BYTES = 4096


def _colour(level: int, *, resolved: bool) -> str:
    if resolved:
        return "comment"
    return "warning" if level >= 3 else "info"


def markdown(d: Digest, users: tuple[str, ...]) -> str:
    """The markdown content: title, one quoted block per warning, the mentions."""
    lines = [f'### <font color="{_colour(d.level, resolved=False)}">{d.title_zh}</font>', f"**{d.title_en}**"]
    for item in d.items:
        colour = _colour(item.level, resolved=item.resolved)
        lines += [
            f"> **{item.time}** {item.place}",
            f'> <font color="{colour}">{item.zh}</font>',
            f"> {item.en}",
        ]
    if d.more:
        lines.append(d.more_line)
    if users:
        lines.append(" ".join(f"<@{u}>" for u in users))
    return "\n".join(lines)


def payload(message: Message, settings: WeComSettings) -> dict[str, object]:
    """The robot's JSON for one message."""
    d = digest(message.bodies, settings.timezone, settings.max_items)
    users = message.recipients
    return {"msgtype": "markdown", "markdown": {"content": fit(lambda s: markdown(s, users), d, MAX_BYTES)}}


def _build(config: RulesConfig, _link: Link) -> PeopleChannel | None:
    settings = config.delivery.wecom
    if settings is None:
        return None
    client = httpx.AsyncClient(timeout=settings.timeout)
    base = str(settings.url)

    async def post(message: Message) -> None:
        sep = "&" if "?" in base else "?"
        url = f"{base}{sep}key={urllib.parse.quote_plus(settings.key().get_secret_value())}"
        await post_robot(
            client, url, payload(message, settings), key=message.key, transient=TRANSIENT, name=WECOM
        )

    return PeopleChannel(WECOM, settings, post, client.aclose)


def _wants(body: Body, delivery: Delivery) -> bool:
    return wanted(body, delivery.wecom)


def _targets(body: Body, delivery: Delivery) -> list[str]:
    return targets(body, delivery.wecom, per_recipient=False)


CHANNEL = ChannelType(wants=_wants, build=_build, targets=_targets)
