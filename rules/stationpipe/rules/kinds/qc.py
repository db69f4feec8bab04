"""质控 quality-control checks: a failed check warns, and marks the parameter's readings for review.

Not per reading: the engine hands it each :class:`~stationpipe.kernel.qc.QcRecord` that arrives on
``stations/<station>/qc`` (:meth:`stationpipe.rules.evaluator.Evaluator.qc`). One instance per station,
parameter and check kind (``<rule>.<parameter>.<check>``): it fires on a failed check and resolves on the
next passing check of the same kind. The series state keeps, as epoch seconds, the last passing check
(``pass``), the first failed check not yet followed by a passing one (``fail``) and the latest check
evaluated (``last``: older or repeated checks, e.g. re-sent after an edge restart, say nothing).

Review marks (reason ``qc_failed``, the audit's own, naming the failed check):

- a failed check marks ``[last pass, the check]`` (``[check - lookback, check]`` when no pass is known),
  or ``[first failure, the check]`` while earlier failures are not yet followed by a pass;
- the passing check that follows failures marks ``[the failure, the pass]``: readings between a failed
  check and the next good one are as doubtful as those before it.
"""

from __future__ import annotations

from datetime import UTC, datetime

from stationpipe.kernel.qc import (
    QC_FAILED,
    Criteria,
    Criterion,
    Measure,
    QcRecord,
    ReviewMark,
    criterion,
    qc_error,
)
from stationpipe.kernel.registry import StationInfo
from stationpipe.rules.kinds.base import Outcome, Series, active, fmt, label, quiet
from stationpipe.rules.rule_models import QcRule

_MEASURES = {
    Measure.RELATIVE: ("相对误差", "relative error"),
    Measure.ABSOLUTE: ("绝对误差", "absolute error"),
    Measure.FULL_SCALE: ("满量程误差", "error of full scale"),
    Measure.RECOVERY: ("回收率", "recovery"),
    Measure.DEVIATION: ("相对偏差", "relative deviation"),
}


def _utc(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


class QcKind:
    """One ``qc`` rule."""

    def __init__(self, rule: QcRule) -> None:
        self.rule = rule
        self.criteria: Criteria = {
            check: {p: Criterion(c.measure, c.low, c.high) for p, c in rows.items()}
            for check, rows in rule.criteria.items()
        }

    @property
    def name(self) -> str:
        """The rule's name."""
        return self.rule.name

    def watches(self, info: StationInfo, record: QcRecord) -> bool:
        """Whether this rule evaluates ``record`` of a station at ``info``."""
        return (
            self.rule.applies(info)
            and record.check in self.rule.checks
            and (not self.rule.parameters or record.parameter in self.rule.parameters)
        )

    def instance(self, record: QcRecord) -> str:
        """``<parameter>.<check>``."""
        return f"{record.parameter}.{record.check.value}"

    def judge(self, record: QcRecord) -> tuple[Criterion, float]:
        """The rule's criterion for ``record`` and the record's error in that criterion's measure (the
        record's own verdict stands when the rule's measure cannot be computed from its values)."""
        rule = criterion(record.check, record.parameter, self.criteria)
        try:
            return rule, qc_error(rule.measure, record.standard, record.measured, record.sample, record.span)
        except ValueError:
            return record.criterion, record.error

    def evaluate(self, record: QcRecord, series: Series) -> tuple[Outcome, list[ReviewMark]] | None:
        """The outcome of one check and the review marks it sets; ``None`` for a check not newer than
        the latest evaluated."""
        ts = record.ts.timestamp()
        if ts <= series.get("last", float("-inf")):
            return None
        series["last"] = ts
        rule, error = self.judge(record)
        failed_since = series.get("fail")
        if rule.passes(error):
            series["pass"], series["fail"] = ts, None
            marks = [self._mark(record, failed_since, ts)] if failed_since is not None else []
            return quiet(error, rule.high), marks
        start = failed_since if failed_since is not None else series.get("pass")
        if start is None:
            start = ts - self.rule.lookback.total_seconds()
        if failed_since is None:
            series["fail"] = ts
        return self._failed(record, rule, error), [self._mark(record, start, ts)]

    def _mark(self, record: QcRecord, start: float, end: float) -> ReviewMark:
        return ReviewMark(
            record.station, record.parameter, _utc(start), _utc(end), QC_FAILED, record.id, self.rule.name,
            record.ts,
        )  # fmt: skip

    def _failed(self, record: QcRecord, rule: Criterion, error: float) -> Outcome:
        """``标样核查不合格 氨氮 NH3-N：相对误差 15.2% > 10%`` and its English half."""
        limit = rule.high if error > rule.high else rule.low
        sign = ">" if error > rule.high else "<"
        unit = rule.measure.suffix
        zh_check, en_check = record.check.label
        zh_param, en_param = label(record.parameter)
        zh_measure, en_measure = _MEASURES[rule.measure]
        figures = f"{fmt(error)}{unit} {sign} {fmt(limit)}{unit}"
        zh = f"{zh_check}不合格 {zh_param}：{zh_measure} {figures}（{rule.text}）"
        en = f"{en_check} failed {en_param}: {en_measure} {figures} ({rule.text})"
        return active(self.rule.level, error, limit, zh, en)
