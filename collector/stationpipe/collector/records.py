"""One MQTT message -> the lines it stores (pure). Anything that does not fit raises ``RejectedError``
with the reason, never anything else: no input may crash the collector."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from stationpipe.collector.clock import ahead_lines
from stationpipe.collector.points import (
    action_lines,
    audit_day_lines,
    audit_mark_lines,
    derived_lines,
    qc_lines,
    review_lines,
    rows_lines,
    warning_lines,
)
from stationpipe.kernel import audit, wire
from stationpipe.kernel.errors import RejectedError
from stationpipe.kernel.messages import Derived, WarningAction, WarningEvent
from stationpipe.kernel.mqtt import subscription
from stationpipe.kernel.partition import Partition
from stationpipe.kernel.qc import QcRecord, ReviewMark
from stationpipe.kernel.wire_topics import readings_topic

#: The topic filters the collector subscribes to (docs/design.md#mqtt); under ``$share/<group>/`` when shared.
TOPICS = (
    "stations/+/readings",
    "derived/+/+",
    "warnings/+/+",
    "warnings/actions/+/+",
    "stations/+/qc",
    "reviews/+/+",
    "audit/+/marks",
    "audit/+/days",
)


class Decoded(NamedTuple):
    """What one message contributes: its kind (metrics label), its station and its lines."""

    kind: str
    station: str
    lines: list[str]
    ahead: int = 0  # readings stamped ahead of the collector's clock (collector/clock.py)


#: The records besides readings the collector stores, by type: their kind (metrics label) and lines.
_STORED: dict[type, Callable[[Any], Decoded]] = {
    Derived: lambda m: Decoded("derived", m.station, derived_lines(m)),
    WarningEvent: lambda m: Decoded("warnings", m.station, warning_lines(m)),
    WarningAction: lambda m: Decoded("actions", m.station, action_lines(m)),
    QcRecord: lambda m: Decoded("qc", m.station, qc_lines(m)),
    ReviewMark: lambda m: Decoded("reviews", m.station, review_lines(m)),
}


def subscriptions(
    group: str, *, shared: bool, partition: Partition | None = None, stations: Iterable[str] = ()
) -> list[str]:
    """The filters a collector subscribes to: shared in its group, or plain for a single instance.

    Partitioned (``partition.count > 1``), instance ``index`` subscribes to the readings of its own
    ``stations`` one filter each (in group ``<group>-p<index>`` when shared), and instance 0 also to every
    other topic: derived results, warnings and actions, QC records, review and audit marks (a few a station
    an hour or a day, and the aggregates' ids are in no registry).
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
        if topic.startswith("audit/"):
            return _audit(topic, payload)
        msg = wire.decode(topic, payload)
        stored = _STORED.get(type(msg))
        if stored is not None:
            return stored(msg)
    except (ValueError, TypeError, UnicodeError, OverflowError) as exc:
        # wire.decode translates what it knows; these would be gaps in it and still are bad input
        raise RejectedError(f"undecodable: {exc}") from exc
    raise RejectedError(f"the collector does not store records from {topic!r}")


def _audit(topic: str, payload: bytes) -> Decoded:
    """One audit record (docs/design.md#audit): a mark version or a station-day status."""
    if topic.endswith("/marks"):
        fields = audit.decode_mark(topic, payload)
        return Decoded("audit", str(fields["station"]), audit_mark_lines(fields))
    if topic.endswith("/days"):
        record = audit.decode_day(topic, payload)
        return Decoded("audit", record.station, audit_day_lines(record))
    raise RejectedError(f"the collector does not store records from {topic!r}")
