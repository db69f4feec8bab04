"""Quality-control checks: the error arithmetic, the criteria, the record's invariants, the wire, the
register blocks (edge and simulator) and the ``qc`` rule's warnings and review marks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stationpipe.edge.qc_blocks import block_request, decode_block
from stationpipe.kernel import wire
from stationpipe.kernel.errors import WireError
from stationpipe.kernel.qc import (
    DEFAULT_CRITERIA,
    QC_FAILED,
    Criterion,
    Measure,
    QcCheck,
    QcRecord,
    ReviewMark,
    criterion,
    qc_error,
)
from stationpipe.kernel.registermap import load_profile
from stationpipe.kernel.registry import StationInfo
from stationpipe.rules.kinds.base import Series
from stationpipe.rules.kinds.qc import QcKind
from stationpipe.rules.rule_models import QcRule
from stationpipe.simulators.qc_schedule import QcSchedule, block_registers, latest_check

T0 = datetime(2026, 5, 1, 2, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("measure", "standard", "measured", "sample", "span", "expected"),
    [
        (Measure.RELATIVE, 1.0, 1.152, None, None, 15.2),  # NH3-N standard sample, 15.2 % high
        (Measure.RELATIVE, 4.0, 3.6, None, None, -10.0),
        (Measure.ABSOLUTE, 7.00, 7.12, None, None, 0.12),  # pH
        (Measure.FULL_SCALE, 0.0, 0.4, None, 10.0, 4.0),  # zero check: 0.4 of a 10 mg/L span
        (Measure.RECOVERY, 0.5, 0.95, 0.5, None, 90.0),  # 0.5 added, 0.5 unspiked, 0.95 spiked
        (Measure.RECOVERY, 1.0, 1.6, 0.3, None, 130.0),
        (Measure.DEVIATION, 0.0, 1.1, 0.9, None, 10.0),  # |1.1 - 0.9| / (1.1 + 0.9)
    ],
)
def test_error_arithmetic(
    measure: Measure,
    standard: float,
    measured: float,
    sample: float | None,
    span: float | None,
    expected: float,
) -> None:
    assert qc_error(measure, standard, measured, sample, span) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("measure", "standard", "sample", "span"),
    [
        (Measure.RELATIVE, 0.0, None, None),
        (Measure.FULL_SCALE, 0.0, None, None),
        (Measure.RECOVERY, 1.0, None, None),
        (Measure.RECOVERY, 0.0, 0.5, None),
        (Measure.DEVIATION, 0.0, None, None),
    ],
)
def test_undefined_errors_are_refused(
    measure: Measure, standard: float, sample: float | None, span: float | None
) -> None:
    with pytest.raises(ValueError, match="needs"):
        qc_error(measure, standard, 1.0, sample, span)


@pytest.mark.parametrize(
    ("check", "parameter", "measure", "low", "high"),
    [
        (QcCheck.STANDARD, "nh3n", Measure.RELATIVE, -10.0, 10.0),
        (QcCheck.STANDARD, "codmn", Measure.RELATIVE, -10.0, 10.0),
        (QcCheck.STANDARD, "tp", Measure.RELATIVE, -10.0, 10.0),
        (QcCheck.STANDARD, "tn", Measure.RELATIVE, -10.0, 10.0),
        (QcCheck.STANDARD, "ph", Measure.ABSOLUTE, -0.15, 0.15),
        (QcCheck.SPIKE, "nh3n", Measure.RECOVERY, 80.0, 120.0),
        (QcCheck.ZERO, "tp", Measure.FULL_SCALE, -5.0, 5.0),
        (QcCheck.PARALLEL, "tn", Measure.DEVIATION, 0.0, 10.0),
    ],
)
def test_default_criteria_as_domain_md_gives_them(
    check: QcCheck, parameter: str, measure: Measure, low: float, high: float
) -> None:
    assert criterion(check, parameter) == Criterion(measure, low, high)


@pytest.mark.parametrize(
    ("error", "passes"), [(10.0, True), (-10.0, True), (10.0001, False), (-15.2, False), (0.0, True)]
)
def test_bounds_are_included(error: float, passes: bool) -> None:
    assert Criterion(Measure.RELATIVE, -10.0, 10.0).passes(error) is passes


def test_configured_criteria_override_the_defaults_per_parameter() -> None:
    loose = {QcCheck.STANDARD: {"nh3n": Criterion(Measure.RELATIVE, -20.0, 20.0)}}
    assert criterion(QcCheck.STANDARD, "nh3n", loose).high == 20.0
    assert criterion(QcCheck.STANDARD, "tp", loose) == DEFAULT_CRITERIA[QcCheck.STANDARD]["*"]
    assert criterion(QcCheck.SPIKE, "tp", loose).low == 80.0


def _failed(ts: datetime = T0, measured: float = 1.152) -> QcRecord:
    return QcRecord.judge("w1", "nut", "nh3n", QcCheck.STANDARD, ts, 1.0, measured, "mg/L")


def test_a_record_is_judged_and_cannot_lie() -> None:
    record = _failed()
    assert record.error == pytest.approx(15.2)
    assert not record.passed
    assert record.criterion.text == "±10%"
    assert record.id == f"nut.nh3n.standard.{int(T0.timestamp())}"
    with pytest.raises(ValueError, match="disagrees"):
        QcRecord("w1", "nut", "nh3n", QcCheck.STANDARD, T0, 1.0, 1.152, "mg/L", record.criterion, 15.2, True)
    with pytest.raises(ValueError, match="disagrees"):
        QcRecord("w1", "nut", "nh3n", QcCheck.STANDARD, T0, 1.0, 1.152, "mg/L", record.criterion, 5.0, True)


def test_records_and_marks_round_trip_on_their_topics() -> None:
    record = QcRecord.judge("w1", "nut", "nh3n", QcCheck.SPIKE, T0, 0.5, 0.95, "mg/L", sample=0.5)
    topic, payload = wire.encode(record)
    assert topic == "stations/w1/qc"
    assert wire.decode(topic, payload) == record
    mark = ReviewMark("w1", "nh3n", T0 - timedelta(days=1), T0, QC_FAILED, record.id, "qc", T0)
    topic, payload = wire.encode(mark)
    assert topic == "reviews/w1/nh3n"
    assert wire.decode(topic, payload) == mark


def test_a_payload_whose_verdict_disagrees_is_refused() -> None:
    topic, payload = wire.encode(_failed())
    with pytest.raises(WireError, match="qc"):
        wire.decode(topic, payload.replace(b'"passed":false', b'"passed":true'))


def test_simulated_block_reads_back_on_the_edge() -> None:
    profile = load_profile("water_nutrients")
    block = next(b for b in profile.qc if b.parameter == "nh3n")
    day = 86_400.0
    schedule = QcSchedule(time_factor=8640.0, standard_every=day, standard_offset=day / 2, fail_every=2)
    at = datetime.fromtimestamp(2 * 10 + 6, UTC)  # 6 s into the third simulated day: after its check
    shown = latest_check(schedule, 10.0, at)
    assert shown is not None
    assert shown.check is QcCheck.STANDARD
    address, count = block_request(profile, block)
    registers = [0] * count
    for pdu, words in block_registers(profile, block, shown).items():
        registers[pdu - address : pdu - address + len(words)] = words
    record = decode_block(profile, block, registers, "w1", "nutrients")
    assert record is not None
    assert record.ts == datetime.fromtimestamp(25, UTC)
    assert (record.standard, record.measured) == (2.0, 2.3)  # float32's shortest decimal, as readings
    assert record.error == 15.0  # k = 2: every second check fails; no float64 noise (14.999999999999991)
    assert not record.passed
    assert decode_block(profile, block, [0] * count, "w1", "nutrients") is None  # no check yet


def _kind(**extra: object) -> QcKind:
    return QcKind(QcRule.model_validate({"name": "qc", "kind": "qc", **extra}))


INFO = StationInfo.model_validate(
    {"id": "w1", "name": "w1", "kind": "air", "lat": 30.0, "lon": 120.0}  # a qc rule applies to any kind
)


def test_failed_check_warns_and_marks_since_the_last_pass() -> None:
    kind, series = _kind(), Series()
    passed = QcRecord.judge("w1", "nut", "nh3n", QcCheck.STANDARD, T0, 1.0, 1.02, "mg/L")
    outcome, marks = kind.evaluate(passed, series) or (None, None)
    assert outcome is not None
    assert outcome.level == 0
    assert marks == []
    fail_at = T0 + timedelta(days=7)
    outcome, marks = kind.evaluate(_failed(fail_at), series) or (None, None)
    assert outcome is not None
    assert outcome.level == 2
    assert outcome.zh == "标样核查不合格 氨氮 NH3-N：相对误差 15.2% > 10%（±10%）"
    assert outcome.en == "standard-sample check failed NH3-N: relative error 15.2% > 10% (±10%)"
    assert marks == [ReviewMark("w1", "nh3n", T0, fail_at, QC_FAILED, _failed(fail_at).id, "qc", fail_at)]
    assert kind.evaluate(_failed(fail_at), series) is None  # the same check again says nothing
    good_at = fail_at + timedelta(hours=3)
    good = QcRecord.judge("w1", "nut", "nh3n", QcCheck.STANDARD, good_at, 1.0, 0.97, "mg/L")
    outcome, marks = kind.evaluate(good, series) or (None, None)
    assert outcome is not None
    assert outcome.level == 0
    assert [(m.start, m.end) for m in marks or []] == [(fail_at, good_at)]


def test_without_a_known_pass_the_lookback_is_marked_and_criteria_are_the_rules() -> None:
    loose = {"standard": {"nh3n": {"measure": "relative", "low": -20, "high": 20}}}
    kind, series = _kind(lookback="2d", criteria=loose), Series()
    outcome, _ = kind.evaluate(_failed(), series) or (None, None)
    assert outcome is not None
    assert outcome.level == 0  # 15.2 % is within this rule's ±20 %
    series.clear()
    outcome, marks = kind.evaluate(_failed(measured=1.3), series) or (None, None)
    assert outcome is not None
    assert outcome.level == 2
    assert marks is not None
    assert marks[0].start == T0 - timedelta(days=2)
    assert kind.watches(INFO, _failed())
    assert not _kind(checks=["zero"]).watches(INFO, _failed())


async def test_an_hj212_2025_standard_check_upload_becomes_qc_records() -> None:
    from stationpipe.edge.config import EdgeConfig  # noqa: PLC0415
    from stationpipe.edge.drivers.hj212 import AnalyserReader, Hj212Driver  # noqa: PLC0415
    from stationpipe.hj212 import CODECS, CpArea, DataSegment, FactorValue, Version, encode  # noqa: PLC0415

    device = {
        "name": "nh3n-analyser",
        "protocol": "hj212",
        "link": {"type": "serial", "port": "/dev/null"},
        "hj212": {"mn": "MN-NH3", "version": "2025"},
    }
    head = {"station": "w1", "state_dir": "/tmp/x", "mqtt": {"port": 1883, "client_id": "t"}}
    config = EdgeConfig.model_validate({**head, "devices": [device]})
    driver = Hj212Driver(config, config.lines()[0])
    reader = driver.readers()[0]
    assert isinstance(reader, AnalyserReader)
    factors = (
        FactorValue("w21003", extra=(("SampleRd", "1.152"), ("StandardValue", "1.000"), ("ResultType", "0"))),
        FactorValue("w21011", extra=(("SampleRd", "0.201"), ("StandardValue", "0.200"), ("ResultType", "1"))),
        FactorValue("w01018", extra=(("SampleRd", "20"),)),  # no StandardValue: reported, not read
    )
    cp = CpArea(data_time=T0, factors=factors)
    upload = DataSegment(st="21", cn="2062", qn="20260501100000000", pw="1", mn="MN-NH3", flag=5, cp=cp)
    reply = driver.handle(encode(upload))
    assert reply is not None
    assert CODECS[Version.HJ212_2017].decode(reply).segment.cn == "9014"
    checks = (await reader.poll()).qc
    assert [(c.parameter, c.check, c.ts, c.passed) for c in checks] == [
        ("nh3n", QcCheck.STANDARD, T0, False),
        ("tp", QcCheck.STANDARD, T0, True),
    ]
    assert checks[0].error == pytest.approx(15.2)
    assert (await reader.poll()).qc == ()  # handed on once


def _finite(low: float, high: float) -> st.SearchStrategy[float]:
    return st.floats(low, high, allow_nan=False, allow_infinity=False)


@given(
    check=st.sampled_from([QcCheck.STANDARD, QcCheck.SPAN, QcCheck.ZERO, QcCheck.SPIKE, QcCheck.PARALLEL]),
    parameter=st.sampled_from(["nh3n", "ph", "tp"]),
    standard=_finite(0.001, 1e6),
    measured=_finite(0.001, 1e6),
    sample=_finite(0.001, 1e6),
)
@settings(max_examples=200, deadline=None)
def test_any_judged_record_round_trips_and_its_verdict_is_the_criterions(
    check: QcCheck, parameter: str, standard: float, measured: float, sample: float
) -> None:
    record = QcRecord.judge(
        "w1", "nut", parameter, check, T0, standard, measured, "mg/L", sample=sample, span=10.0
    )
    assert record.passed is criterion(check, parameter).passes(record.error)
    assert wire.decode(*wire.encode(record)) == record


def test_a_confirmed_review_mark_becomes_a_version_1_audit_invalidation() -> None:
    from stationpipe.kernel.audit import Action, Reason  # noqa: PLC0415

    failed = _failed(T0 + timedelta(days=7))
    review = ReviewMark("w1", "nh3n", T0, failed.ts, QC_FAILED, failed.id, "qc", failed.ts)
    mark = review.audit_mark("m-1", "auditor", failed.ts + timedelta(hours=1))
    assert (mark.version, mark.action, mark.reason) == (1, Action.INVALIDATE, Reason.QC_FAILED)
    assert (mark.station, mark.parameter, mark.start, mark.end) == ("w1", "nh3n", T0, failed.ts)
    assert failed.id in mark.note
