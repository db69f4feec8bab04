"""Quality-control checks as data: the :class:`QcRecord` of one check, its arithmetic and criteria, and
the :class:`ReviewMark` a failed check puts on a parameter's readings (docs/domain.md#quality-control-checks).

Every check has one *error* quantity, computed here and nowhere else, and passes when that quantity lies
in its criterion's closed range ``[low, high]``:

- standard-sample and span checks: relative error ``(measured - standard) / standard x 100`` (%), or,
  for parameters judged in their own unit (pH), the absolute error ``measured - standard``;
- zero check: ``(measured - standard) / span x 100``: % of the instrument's full scale;
- spike recovery: ``(measured - sample) / standard x 100`` (%): ``standard`` is the concentration added,
  ``sample`` the unspiked result;
- parallel samples: relative deviation ``|measured - sample| / (measured + sample) x 100`` (%);
- blank: absolute ``measured - standard`` in the parameter's unit.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from stationpipe.kernel.audit import Action, MarkVersion, Reason
from stationpipe.kernel.precision import clean
from stationpipe.kernel.reading import require_utc


class QcCheck(StrEnum):
    """The kinds of check an analyser runs on itself."""

    STANDARD = "standard"  # 标样核查
    ZERO = "zero"  # 零点核查
    SPAN = "span"  # 跨度核查
    SPIKE = "spike"  # 加标回收
    PARALLEL = "parallel"  # 平行样
    BLANK = "blank"  # 空白

    @property
    def label(self) -> tuple[str, str]:
        """Chinese and English names for messages."""
        return _CHECK_LABELS[self]


_CHECK_LABELS = {
    QcCheck.STANDARD: ("标样核查", "standard-sample check"),
    QcCheck.ZERO: ("零点核查", "zero check"),
    QcCheck.SPAN: ("跨度核查", "span check"),
    QcCheck.SPIKE: ("加标回收", "spike recovery"),
    QcCheck.PARALLEL: ("平行样", "parallel samples"),
    QcCheck.BLANK: ("空白", "blank"),
}


class Measure(StrEnum):
    """What a check's error quantity is, and its unit."""

    RELATIVE = "relative"  # % of the standard value
    ABSOLUTE = "absolute"  # in the parameter's unit
    FULL_SCALE = "full_scale"  # % of the instrument's span
    RECOVERY = "recovery"  # %
    DEVIATION = "deviation"  # relative deviation, %

    @property
    def suffix(self) -> str:
        """How a value of this measure is written after the number."""
        return "" if self is Measure.ABSOLUTE else "%"


@dataclass(frozen=True, slots=True)
class Criterion:
    """A check passes when its error quantity (of ``measure``) lies in ``[low, high]``."""

    measure: Measure
    low: float
    high: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.low) and math.isfinite(self.high) and self.low <= self.high):
            raise ValueError(f"a criterion needs finite low <= high, got [{self.low}, {self.high}]")

    def passes(self, error: float) -> bool:
        """Whether ``error`` meets the criterion (bounds included)."""
        return self.low <= error <= self.high

    @property
    def text(self) -> str:
        """``±10%``, ``80–120%``, ``≤ 0.05``: the criterion as people write it."""
        s = self.measure.suffix
        if self.low == -self.high:
            return f"±{self.high:g}{s}"
        if self.low == 0 and self.measure is Measure.DEVIATION:
            return f"≤ {self.high:g}{s}"
        return f"{self.low:g}–{self.high:g}{s}"


def _sym(measure: Measure, limit: float) -> Criterion:
    return Criterion(measure, -limit, limit)


#: The default criteria (docs/domain.md#quality-control-checks says which are confirmed): by check and
#: parameter; the ``"*"`` row of a check applies to parameters it does not name. Configurable.
DEFAULT_CRITERIA: Mapping[QcCheck, Mapping[str, Criterion]] = {
    QcCheck.STANDARD: {
        "*": _sym(Measure.RELATIVE, 10.0),
        "ph": _sym(Measure.ABSOLUTE, 0.15),
    },
    QcCheck.SPAN: {"*": _sym(Measure.RELATIVE, 10.0), "ph": _sym(Measure.ABSOLUTE, 0.15)},
    QcCheck.ZERO: {"*": _sym(Measure.FULL_SCALE, 5.0)},
    QcCheck.SPIKE: {"*": Criterion(Measure.RECOVERY, 80.0, 120.0)},
    QcCheck.PARALLEL: {"*": Criterion(Measure.DEVIATION, 0.0, 10.0)},
    QcCheck.BLANK: {
        "*": _sym(Measure.ABSOLUTE, 0.05),
        "codmn": _sym(Measure.ABSOLUTE, 0.5),
        "tp": _sym(Measure.ABSOLUTE, 0.01),
    },
}

Criteria = Mapping[QcCheck, Mapping[str, Criterion]]


def criterion(check: QcCheck, parameter: str, criteria: Criteria = DEFAULT_CRITERIA) -> Criterion:
    """The criterion of ``check`` on ``parameter``: its own row, else the check's ``"*"`` row, else the
    default's."""
    own = criteria.get(check, {})
    found = own.get(parameter) or own.get("*")
    if found is None:
        defaults = DEFAULT_CRITERIA[check]
        found = defaults.get(parameter) or defaults["*"]
    return found


def qc_error(
    measure: Measure, standard: float, measured: float, sample: float | None = None, span: float | None = None
) -> float:
    """The error quantity of one check (see the module docstring); ``ValueError`` when it is undefined
    (a zero standard or span, a missing sample or span)."""
    match measure:
        case Measure.ABSOLUTE:
            return measured - standard
        case Measure.RELATIVE:
            if standard == 0:
                raise ValueError("a relative error needs a non-zero standard value")
            return (measured - standard) / standard * 100.0
        case Measure.FULL_SCALE:
            if not span:
                raise ValueError("an error of full scale needs the instrument's span")
            return (measured - standard) / span * 100.0
        case Measure.RECOVERY:
            if sample is None or standard == 0:
                raise ValueError("a recovery needs the unspiked sample and a non-zero amount added")
            return (measured - sample) / standard * 100.0
        case Measure.DEVIATION:
            if sample is None or measured + sample == 0:
                raise ValueError("a relative deviation needs the other sample and a non-zero sum")
            return abs(measured - sample) / (measured + sample) * 100.0
    raise ValueError(f"unknown measure {measure!r}")


def _finite(name: str, value: float | None) -> None:
    if value is not None and not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value!r}")


@dataclass(frozen=True, slots=True)
class QcRecord:
    """One check one analyser ran on one parameter at ``ts`` (UTC), with its verdict.

    Values are in ``unit`` (the catalogue's canonical unit). ``error`` is the check's error quantity of
    ``criterion.measure`` (:func:`qc_error`) and ``passed`` whether it meets ``criterion``; both are
    checked against the values on construction, so no record says a check passed that did not.
    """

    station: str
    device: str
    parameter: str
    check: QcCheck
    ts: datetime
    standard: float
    measured: float
    unit: str
    criterion: Criterion
    error: float
    passed: bool
    sample: float | None = None
    span: float | None = None

    def __post_init__(self) -> None:
        require_utc(self.ts)
        for name in ("standard", "measured", "error", "sample", "span"):
            _finite(name, getattr(self, name))
        expected = qc_error(self.criterion.measure, self.standard, self.measured, self.sample, self.span)
        if not math.isclose(expected, self.error, rel_tol=1e-9, abs_tol=1e-9):
            raise ValueError(f"error {self.error!r} disagrees with the values ({expected!r})")
        if self.passed != self.criterion.passes(self.error):
            raise ValueError(f"passed={self.passed} disagrees with the criterion {self.criterion.text}")

    @classmethod
    def judge(  # noqa: PLR0917 - the record's fields, in their order
        cls,
        station: str,
        device: str,
        parameter: str,
        check: QcCheck,
        ts: datetime,
        standard: float,
        measured: float,
        unit: str,
        *,
        sample: float | None = None,
        span: float | None = None,
        criteria: Criteria = DEFAULT_CRITERIA,
    ) -> QcRecord:
        """Compute the error and the verdict against ``criteria`` (the defaults unless given)."""
        rule = criterion(check, parameter, criteria)
        error = clean(qc_error(rule.measure, standard, measured, sample, span))  # 2.0, not 2.0000000000000018
        return cls(
            station, device, parameter, check, ts, standard, measured, unit, rule, error,
            rule.passes(error), sample, span,
        )  # fmt: skip

    @property
    def id(self) -> str:
        """The check's id: ``<device>.<parameter>.<check>.<epoch seconds>`` (unique per station)."""
        return f"{self.device}.{self.parameter}.{self.check.value}.{int(self.ts.timestamp())}"


#: Why a review mark was set: the audit's own reason (``stationpipe.kernel.audit.Reason.QC_FAILED``).
QC_FAILED = Reason.QC_FAILED.value


@dataclass(frozen=True, slots=True)
class ReviewMark:
    """Readings of ``parameter`` at ``station`` in ``[start, end]`` (UTC) are marked for review.

    Set by the rules engine's ``qc`` rule ``rule`` when the check ``check`` (a :attr:`QcRecord.id`)
    failed; ``ts`` is when the mark was made (the check's instant). Raw data is never rewritten: a mark
    is applied when data is read.
    """

    station: str
    parameter: str
    start: datetime
    end: datetime
    reason: str
    check: str
    rule: str
    ts: datetime

    def __post_init__(self) -> None:
        for name in ("start", "end", "ts"):
            require_utc(getattr(self, name), name)
        if self.end < self.start:
            raise ValueError("a review mark ends at or after its start")
        if not self.reason or not self.check:
            raise ValueError("a review mark names its reason and its check")

    def audit_mark(self, mark_id: str, author: str, at: datetime) -> MarkVersion:
        """The audit mark a reviewer who confirms this one records (version 1): invalidate the parameter
        over ``[start, end)`` for the reason ``qc_failed``, the check and the rule in its note."""
        return MarkVersion(
            id=mark_id, version=1, station=self.station, parameter=self.parameter, start=self.start,
            end=self.end, action=Action.INVALIDATE, reason=Reason(self.reason),
            note=f"QC check {self.check} failed (rule {self.rule})", author=author, at=at,
        )  # fmt: skip
