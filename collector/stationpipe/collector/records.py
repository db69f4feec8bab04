"""One MQTT message -> the lines it stores (pure). Anything that does not fit raises ``RejectedError``
with the reason, never anything else: no input may crash the collector."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import NamedTuple

from stationpipe.collector.clock import ahead_lines
from stationpipe.collector.points import action_lines, derived_lines, rows_lines, warning_lines
from stationpipe.kernel import wire
from stationpipe.kernel.errors import RejectedError
from stationpipe.kernel.messages import Derived, WarningAction, WarningEvent
from stationpipe.kernel.mqtt import subscription
from stationpipe.kernel.partition import Partition
from stationpipe.kernel.wire_topics import readings_topic

#: The topic filters the collector subscribes to (docs/design.md#mqtt); under ``$share/<group>/`` when shared.
TOPICS = ("stations/+/readings", "derived/+/+", "warnings/+/+", "warnings/actions/+/+")


class Decoded(NamedTuple):
    """What one message contributes: its kind (metrics label), its station and its lines."""

    kind: str
    station: str
    lines: list[str]
    ahead: int = 0  # readings stamped ahead of the collector's clock (collector/clock.py)


def subscriptions(
    group: str, *, shared: bool, partition: Partition | None = None, stations: Iterable[str] = ()
) -> list[str]:
    """The filters a collector subscribes to: shared in its group, or plain for a single instance.

    Partitioned (``partition.count > 1``), instance ``index`` subscribes to the readings of its own
    ``stations`` one filter each (in group ``<group>-p<index>`` when shared), and instance 0 also to every
    derived result and warning (a few a station an hour, and the aggregates' ids are in no registry).
    """
    if partition is None or partition.count == 1:
        return [subscription(topic, group, shared=shared) for topic in TOPICS]
    own = f"{group}-p{partition.index}"
    readings = [readings_topic(s) for s in sorted(set(stations)) if partition.owns(s)]
    rest = list(TOPICS[1:]) if partition.index == 0 else []
    return [subscription(topic, own, shared=shared) for topic in readings + rest]


def decode(topic: str, payload: bytes, now: datetime | None = None, max_ahead: float = 60.0) -> Decoded:
    """Decode strictly and map to line protocol; ``RejectedError`` (with the reason) for anything else.

    With ``now`` (the collector's clock, UTC), readings more than ``max_ahead`` seconds ahead of it are
    marked (collector/clock.py); so are the readings of a message re-sent after an outage (``backfill``).
    """
    try:
        if topic.endswith("/readings"):
            (station, ts, rows, latest), backfill = wire.decode_readings_marked(topic, payload)
            if backfill or (now is not None and latest > now + timedelta(seconds=max_ahead)):
                lines, ahead = ahead_lines(station, ts, rows, now, max_ahead, backfill=backfill)
                return Decoded("readings", station, lines, ahead)
            return Decoded("readings", station, rows_lines(station, ts, rows))
        msg = wire.decode(topic, payload)
        if isinstance(msg, Derived):
            return Decoded("derived", msg.station, derived_lines(msg))
        if isinstance(msg, WarningEvent):
            return Decoded("warnings", msg.station, warning_lines(msg))
        if isinstance(msg, WarningAction):
            return Decoded("actions", msg.station, action_lines(msg))
    except (ValueError, TypeError, UnicodeError, OverflowError) as exc:
        # wire.decode translates what it knows; these would be gaps in it and still are bad input
        raise RejectedError(f"undecodable: {exc}") from exc
    raise RejectedError(f"the collector does not store records from {topic!r}")
