"""HJ 212-2025 uploads of automatic standard-sample checks (上传自动标样核查（校准）数据, CN 2062), read as
checks (pure; docs/domain.md#quality-control-checks says what is confirmed of this convention).

The CP area carries ``DataTime`` (when the check started) and, per factor code, ``-StandardValue`` (the
standard solution's nominal concentration), ``-SampleRd`` (what the analyser measured of it) and
``-ResultType`` (1 passed, 0 failed: the analyser's own verdict). A factor missing either number, or
with one that is not a finite number, is refused with the reason; the caller reports it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, datetime
from typing import NamedTuple

from stationpipe.hj212.cp import CpArea, FactorValue
from stationpipe.kernel.catalogue import parameter as catalogue_row
from stationpipe.kernel.qc import QcCheck, QcRecord
from stationpipe.kernel.units import to_canonical

STANDARD_VALUE, SAMPLE_RD, RESULT_TYPE = "StandardValue", "SampleRd", "ResultType"


class StandardCheck(NamedTuple):
    """One factor's check: its code, the check's start (UTC), nominal and measured values (the analyser's
    unit) and the analyser's verdict (``None`` when it gave none)."""

    code: str
    ts: datetime
    standard: float
    measured: float
    passed: bool | None


class CheckRefused(NamedTuple):
    """A factor of the upload that is not a readable check, and why."""

    code: str
    reason: str


def _number(factor: FactorValue, key: str) -> float | str:
    text = dict(factor.extra).get(key)
    if text is None:
        return f"{factor.code}-{key} is missing"
    try:
        value = float(text)
    except ValueError:
        return f"{factor.code}-{key}={text!r} is not a number"
    return value if math.isfinite(value) else f"{factor.code}-{key}={text!r} is not finite"


def standard_checks(cp: CpArea) -> list[StandardCheck | CheckRefused]:
    """Every factor of a CN 2062 upload, as a check or as the reason it is not one."""
    if cp.data_time is None:
        return [CheckRefused(f.code, "DataTime is missing") for f in cp.factors]
    out: list[StandardCheck | CheckRefused] = []
    for factor in cp.factors:
        standard, measured = _number(factor, STANDARD_VALUE), _number(factor, SAMPLE_RD)
        if isinstance(standard, str) or isinstance(measured, str):
            out.append(CheckRefused(factor.code, standard if isinstance(standard, str) else str(measured)))
            continue
        verdict = dict(factor.extra).get(RESULT_TYPE)
        passed = None if verdict not in {"0", "1"} else verdict == "1"
        out.append(StandardCheck(factor.code, cp.data_time.astimezone(UTC), standard, measured, passed))
    return out


def check_records(
    station: str,
    device: str,
    cp: CpArea,
    parameter_of: Callable[[str], str | None],
    unit_of: Callable[[str], str],
) -> tuple[list[QcRecord], list[str]]:
    """A CN 2062 upload's checks as QC records in the catalogue's units, judged by the default criteria;
    and the reasons of the factors not read (unmapped codes, missing numbers) or read with a remark (the
    analyser's ``ResultType`` disagrees with the criterion: the criterion's verdict stands). One rule for
    every receiver: the edge's analyser driver and the collector's HJ 212 server.

    ``parameter_of(code)`` maps a factor code to a catalogue parameter (``None``: unmapped);
    ``unit_of(parameter)`` is the unit the sender uses for it.
    """
    records, reasons = [], []
    for check in standard_checks(cp):
        param = parameter_of(check.code)
        if param is None:
            reasons.append(f"factor code {check.code} not mapped, its check skipped")
            continue
        if isinstance(check, CheckRefused):
            reasons.append(f"standard-sample check not read: {check.reason}")
            continue
        sent, unit = unit_of(param), catalogue_row(param).unit
        standard = to_canonical(param, check.standard, sent)
        measured = to_canonical(param, check.measured, sent)
        try:
            record = QcRecord.judge(
                station, device, param, QcCheck.STANDARD, check.ts, standard, measured, unit
            )
        except ValueError as exc:
            reasons.append(f"standard-sample check of {check.code} not judged: {exc}")
            continue
        if check.passed is not None and check.passed != record.passed:
            reasons.append(f"{check.code}: the analyser's verdict (ResultType) differs from the criterion's")
        records.append(record)
    return records, reasons
