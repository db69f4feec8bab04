"""Readings and audit marks as the reports read them (docs/design.md#influxdb): the raw readings of a
period, the marks in force, and the two together (marks applied at read time, the stored data unchanged).

The audit store is InfluxDB: measurement ``audit_marks`` (one point per mark version) and ``audit_days``
(one point per station-day status change), written by the collector like every other record.
"""

# ruff: noqa: S608 - InfluxQL text built from constants and validated dates only

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from stationpipe.kernel.audit import (
    DayRecord,
    DayStatus,
    MarkIndex,
    MarkVersion,
    apply_marks,
    day_status,
    days_from_rows,
    load_marks_file,
    marks_from_rows,
)
from stationpipe.kernel.catalogue import CATALOGUE
from stationpipe.kernel.reading import Flag, Reading
from stationpipe.ops.report.influx import InfluxSource

#: What every audited output says about its data.
AUDITED_NOTE = "审核后数据 audited data: audit marks applied, raw data unchanged"


def _reading(row: dict[str, object]) -> Reading | None:
    station, code = str(row["station"]), str(row["parameter"])
    value = row.get("value")
    ts = datetime.fromtimestamp(int(str(row["time"])) // 10**9, UTC)
    unit = CATALOGUE[code].unit if code in CATALOGUE else "-"
    try:
        flag = Flag(str(row.get("flag") or "N"))
    except ValueError:
        flag = Flag.D  # an unknown letter is kept as a fault, as the HJ 212 server does
    number = None if value is None else float(str(value))
    return Reading(station, code, number, unit, ts, flag)


def readings(src: InfluxSource, where: str, parameters: Iterable[str] | None = None) -> tuple[Reading, ...]:
    """The stored readings matching the InfluxQL time condition ``where`` (and ``parameters``, if given)."""
    only = ""
    if parameters is not None:
        codes = sorted(set(parameters))
        only = " AND (" + " OR ".join(f"\"parameter\" = '{c}'" for c in codes) + ")"
    rows = src.rows(
        f'SELECT "value", "flag" FROM "readings" WHERE {where}{only} GROUP BY "station", "parameter"',
        "readings",
    )
    out = (_reading(r) for r in rows)
    return tuple(r for r in out if r is not None)


def marks(src: InfluxSource, marks_file: Path | None = None) -> tuple[MarkVersion, ...]:
    """Every stored mark version (all time: a mark recorded later still applies), or those of a file."""
    if marks_file is not None:
        return load_marks_file(marks_file)
    rows = src.rows(
        'SELECT "version", "start", "end", "action", "reason", "note", "author" FROM "audit_marks" '
        'GROUP BY "station", "parameter", "mark"',
        "audit marks",
    )
    return marks_from_rows(rows)


def days(src: InfluxSource) -> tuple[DayRecord, ...]:
    """Every stored station-day status change (all time: a day is often reviewed after it ended)."""
    rows = src.rows('SELECT "day", "status", "author" FROM "audit_days" GROUP BY "station"', "audit days")
    return days_from_rows(rows)


def day_counts(
    records: tuple[DayRecord, ...], stations: Iterable[str], first: date, end: date
) -> dict[str, int]:
    """How many station-days of ``stations`` in ``[first, end)`` are unreviewed, reviewed and locked."""
    out = {status.value: 0 for status in DayStatus}
    for station in stations:
        for offset in range((end - first).days):
            out[day_status(records, station, first + timedelta(days=offset)).value] += 1
    return out


@dataclass(frozen=True, slots=True)
class Audited:
    """The raw readings of a period and the ones the marks leave (``audited``)."""

    raw: tuple[Reading, ...]
    audited: tuple[Reading, ...]
    marks: tuple[MarkVersion, ...]

    @property
    def excluded(self) -> int:
        """How many readings the marks took out."""
        return len(self.raw) - len(self.audited)


def audited(
    raw: tuple[Reading, ...], found: tuple[MarkVersion, ...], *, exclude_exceptional: bool
) -> Audited:
    """Apply ``found`` to ``raw``."""
    index = MarkIndex(found, exclude_exceptional=exclude_exceptional)
    return Audited(raw, apply_marks(raw, index), found)
