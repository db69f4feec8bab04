"""Readings stamped in the future: a station whose clock runs ahead of the collector's (pure).

Every reading carries the instant its instrument was read, by the clock of the edge agent (or the data
logger, over HJ 212) that read it. A station cannot see its own clock drift; the collector, which
receives every station, can: a reading whose time is more than ``max_ahead`` seconds ahead of the
collector's clock when it arrives cannot have been measured yet. It is still stored, at its own time
(the point key is the reading's timestamp, so redelivery stays idempotent), with one more field,
``ahead``: how many seconds ahead of the collector's clock it was, so dashboards and queries can tell
it from good data (``WHERE ahead > 0``) and an operator can fix the station's clock.

``max_ahead`` is *policy* (``[clock] max_ahead`` in the collector's config): transit only ever makes a
reading older, so any tolerance covers the clocks' own disagreement (NTP keeps them within well under a
second).
"""

from __future__ import annotations

from datetime import datetime

from stationpipe.collector.lineproto import FieldValue, line, timestamp_ns
from stationpipe.kernel.wire import ReadingRow


def ahead_lines(
    station: str,
    ts: datetime,
    rows: list[ReadingRow],
    now: datetime | None,
    max_ahead: float,
    *,
    backfill: bool = False,
) -> tuple[list[str], int]:
    """The ``readings`` lines of a message whose readings may be ahead of ``now`` (UTC): those more than
    ``max_ahead`` seconds ahead get the field ``ahead`` (seconds, float). Returns the lines and how many
    were marked. The other lines are the same as ``stationpipe.collector.points.rows_lines`` makes.

    ``backfill`` (a message re-sent after an outage, ``StationMessage.backfill``) adds the field
    ``backfill=true`` to every line; ``now`` may then be ``None`` (no clock check).
    """
    out: list[str] = []
    marked = 0
    for r in rows:
        at = r.ts if r.ts is not None else ts
        fields: dict[str, FieldValue] = {"flag": r.flag}
        if r.value is not None:
            fields["value"] = float(r.value)
        if backfill:
            fields["backfill"] = True
        ahead = 0.0 if now is None else (at - now).total_seconds()
        if ahead > max_ahead:
            fields["ahead"] = round(ahead, 3)
            marked += 1
        out.append(line("readings", {"station": station, "parameter": r.parameter}, fields, timestamp_ns(at)))
    return out, marked
