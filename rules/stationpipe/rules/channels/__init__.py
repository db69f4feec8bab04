"""Warning channels: where notifications go. One protocol, one table, one file per channel.

============  ============================  =================================================================
channel       configured by                 sends
============  ============================  =================================================================
mqtt          ``[mqtt]`` (always on)        every change: the retained state on ``warnings/<station>/<rule>``
webhook       ``[delivery.webhook]``        changes of instances that fired (+ pending: ``include_pending``)
alertmanager  ``[delivery.alertmanager]``   changes of instances that fired; firing ones again on a timer
dingtalk      ``[delivery.dingtalk]``       fired changes a route matches: signed robot, markdown, @phone
wecom         ``[delivery.wecom]``          fired changes a route matches: group robot, markdown, <@userid>
sms           ``[delivery.sms]``            fired changes a route matches: HTTP gateway template, per phone
email         ``[delivery.email]``          fired changes a route matches: SMTP + STARTTLS, per route
review        a ``qc`` rule, ``[mqtt]``     no notification: the review marks of ``qc`` rules on ``reviews/…``
============  ============================  =================================================================

The last four are the channels people read (:mod:`~stationpipe.rules.channels.people`): a notification is
one outbox row per route it matches (SMS: per route and phone), and their drain groups what waits, holds it
in quiet hours (red goes out anyway) and within a recipient's rate limit. Once an operator acknowledged a
warning they send nothing more for it but its resolution and a rise to red
(:func:`~stationpipe.rules.channels.people.silenced`).

:mod:`~stationpipe.rules.channels.base` holds the :class:`~stationpipe.rules.channels.base.Channel`
protocol (``send``, ``resends``, ``aclose``, ``concurrent``) and the
:class:`~stationpipe.rules.channels.base.ChannelType` row (``wants``: the routing; ``build``: the running
channel). The engine iterates :data:`CHANNELS`: one outbox, one drain and one wake-up event per row, and
never names a channel. Durability is the same for every channel and is not theirs to change: each has
its disk outbox (:mod:`stationpipe.rules.state`), drained oldest first, each instance's rows in order,
transient failures retried with backoff (:mod:`stationpipe.rules.delivery`).

Adding a channel (DingTalk, WeCom, SMS, e-mail …)
--------------------------------------------------
1. Its settings in ``rules/config.py``: a model, and a field ``<name>: <Model> | None = None`` in
   ``Delivery`` (the ``[delivery.<name>]`` section), as a rule kind's model sits in ``rule_models.py``.
2. One file, ``channels/<name>.py``: a class with ``send(body)`` that raises ``TransientError`` (retry:
   transport errors, 5xx, 429, with ``retry_after`` when the receiver says) or ``RejectedError`` (drop:
   the receiver refuses it for good), ``resends`` (usually ``[]``), ``aclose`` and ``concurrent``;
   ``_wants(body, delivery)`` (``False`` while unconfigured; :func:`~stationpipe.rules.channels.base.fired`
   is the usual rule) and ``_build(config, link)``; then ``CHANNEL = ChannelType(wants=_wants,
   build=_build)``. The body is the webhook's documented JSON (:mod:`~stationpipe.rules.channels.webhook`),
   with the bilingual message under ``message``.
3. One row in :data:`CHANNELS`, keyed by the section name (it names the outbox and the metrics label).
4. A test against a receiver on loopback (``tests/integration/test_rules_engine.py`` has the webhook's and
   Alertmanager's).
"""

from __future__ import annotations

from stationpipe.rules.channels import alertmanager, dingtalk, mail, mqtt, review, sms, webhook, wecom
from stationpipe.rules.channels.base import Body, Channel, ChannelType, Link
from stationpipe.rules.config import Delivery

__all__ = ["CHANNELS", "PEOPLE", "Body", "Channel", "ChannelType", "Link", "route", "rows"]

#: Channel (its config section) -> its row. The order is the order of the outbox rows of one change.
CHANNELS: dict[str, ChannelType] = {
    mqtt.MQTT: mqtt.CHANNEL,
    webhook.WEBHOOK: webhook.CHANNEL,
    alertmanager.ALERTMANAGER: alertmanager.CHANNEL,
    dingtalk.DINGTALK: dingtalk.CHANNEL,
    wecom.WECOM: wecom.CHANNEL,
    sms.SMS: sms.CHANNEL,
    mail.EMAIL: mail.CHANNEL,
    review.REVIEW: review.CHANNEL,
}

#: The channels people read (the rows with targets): an acknowledgement silences them.
PEOPLE: tuple[str, ...] = tuple(name for name, row in CHANNELS.items() if row.targets is not None)


def route(body: Body, delivery: Delivery) -> list[str]:
    """The channels one notification (its JSON) goes to."""
    return [name for name, row in CHANNELS.items() if row.wants(body, delivery)]


def rows(body: Body, delivery: Delivery) -> list[tuple[str, str, Body]]:
    """The outbox rows ``(channel, id, body)`` of one notification: one per channel that wants it, or, for a
    channel with targets, one per target (id ``<id>><target>``, the target in the body)."""
    out: list[tuple[str, str, Body]] = []
    for name, row in CHANNELS.items():
        if not row.wants(body, delivery):
            continue
        if row.targets is None:
            out.append((name, body["id"], body))
        else:
            out.extend(
                (name, f"{body['id']}>{t}", {**body, "target": t}) for t in row.targets(body, delivery)
            )
    return out
