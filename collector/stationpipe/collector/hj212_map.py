"""HJ 212 uploads -> Readings (pure).

- 2011 real-time data gives ``-Rtd``; 2051/2061/2031 (minute, hourly, daily) give ``-Avg`` stamped at the
  interval start (DataTime), falling back to ``-Rtd`` when a logger sends only that.
- ``-Flag`` letters are the HJ 212 data flags; an unknown letter is kept as D (instrument fault) so it is
  never mistaken for valid data. No flag means N.
- Factor codes the logger's mapping and the catalogue do not know are skipped and reported.
- DataTime is China Standard Time; Readings are UTC. The message's ``seq`` is the frame's QN (a
  millisecond timestamp, so it grows with every upload of one logger), and ``device`` names the CN.
- HJ 212-2025 ``RF=1`` (re-sent after an outage) makes a message marked ``backfill``: stored with
  ``backfill=true`` and evaluated as backfill by the rules engine.
- HJ 212-2025 CN 2062 (automatic standard-sample checks) gives QC records (:func:`to_checks`), by the
  rule the edge applies too (:func:`stationpipe.hj212.qc.check_records`).
"""

from __future__ import annotations

from dataclasses import dataclass

from stationpipe.collector.hj212_config import Logger
from stationpipe.hj212 import DataSegment, cst_to_utc
from stationpipe.hj212.qc import check_records
from stationpipe.hj212.readings import UPLOADS, data_flag, factor_value
from stationpipe.kernel.catalogue import parameter
from stationpipe.kernel.errors import RejectedError
from stationpipe.kernel.qc import QcRecord
from stationpipe.kernel.reading import Reading, StationMessage

__all__ = ["UPLOADS", "Mapped", "to_checks", "to_message"]


@dataclass(frozen=True)
class Mapped:
    """The message made of one upload, and the factor codes that were skipped."""

    message: StationMessage
    skipped: tuple[str, ...]


def to_message(segment: DataSegment, logger: Logger) -> Mapped:
    """Readings of one upload; ``RejectedError`` when it has no DataTime or is not an upload."""
    if segment.cn not in UPLOADS:
        raise RejectedError(f"CN {segment.cn} is not a data upload")
    if segment.cp.data_time is None:
        raise RejectedError("upload without DataTime")
    try:
        ts = cst_to_utc(segment.cp.data_time)
    except OverflowError:  # e.g. DataTime=00010101000000: a CST wall clock with no UTC instant
        raise RejectedError(f"DataTime {segment.cp.data_time.isoformat()} is out of range") from None
    readings, skipped = [], []
    for factor in segment.cp.factors:
        code = logger.parameter(factor.code)
        if code is None:
            skipped.append(factor.code)
            continue
        unit = logger.units.get(code, parameter(code).unit)
        value = factor_value(segment.cn, factor)
        readings.append(Reading(logger.station, code, value, unit, ts, data_flag(factor)))
    qn = segment.qn or ""
    seq = int(qn) if qn.isascii() and qn.isdigit() else int(ts.timestamp() * 1000)  # "²".isdigit()
    try:
        message = StationMessage(logger.station, f"hj212-{segment.cn}", seq, ts, tuple(readings), segment.rf)
    except ValueError as exc:  # two factor codes mapped to one parameter
        raise RejectedError(str(exc)) from None
    return Mapped(message, tuple(skipped))


def to_checks(segment: DataSegment, logger: Logger) -> tuple[list[QcRecord], list[str]]:
    """The QC records of a CN 2062 upload (device ``hj212-2062``), and the reasons of what was not read."""

    def unit_of(code: str) -> str:
        return logger.units.get(code, parameter(code).unit)

    return check_records(logger.station, f"hj212-{segment.cn}", segment.cp, logger.parameter, unit_of)
