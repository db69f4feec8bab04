"""Audit marks (stationpipe.kernel.audit): versions, applying them at read time, station-day status."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from stationpipe.kernel.audit import (
    Action,
    AuditError,
    DayRecord,
    DayStatus,
    MarkIndex,
    MarkVersion,
    Reason,
    apply_marks,
    day_status,
    days_from_rows,
    in_force,
    load_marks_file,
    locked_days,
    mark_fields,
    marks_from_rows,
)
from stationpipe.kernel.reading import Flag, Reading

T0 = datetime(2026, 5, 31, 16, tzinfo=UTC)  # 2026-06-01 00:00 China time
H = timedelta(hours=1)


def _r(hour: int, value: float = 1.0, parameter: str = "nh3n", flag: Flag = Flag.N) -> Reading:
    return Reading("s1", parameter, value, "mg/L", T0 + hour * H, flag)


def _mark(
    start: int = 0,
    end: int = 8,
    *,
    action: Action = Action.INVALIDATE,
    reason: Reason = Reason.INSTRUMENT_FAULT,
    at: int = 30,
    mark_id: str = "m1",
) -> MarkVersion:
    return MarkVersion(
        mark_id, 1, "s1", "nh3n", T0 + start * H, T0 + end * H, action, reason, "drift", "li", T0 + at * H
    )


def test_a_morning_invalidated_leaves_the_rest_and_the_raw_unchanged() -> None:
    raw = tuple(_r(h) for h in range(0, 24, 4))
    kept = apply_marks(raw, [_mark(0, 8)])
    assert [r.ts for r in kept] == [T0 + h * H for h in (8, 12, 16, 20)]
    assert len(raw) == 6
    assert all(r.flag is Flag.N for r in raw)


def test_the_mark_covers_its_station_parameter_and_half_open_period() -> None:
    other = (_r(4, parameter="tp"), Reading("s2", "nh3n", 1.0, "mg/L", T0 + 4 * H))
    assert apply_marks(other, [_mark(0, 8)]) == other
    assert apply_marks((_r(8),), [_mark(0, 8)]) == (_r(8),)  # the end is excluded


def test_a_later_restore_gives_back_part_of_an_invalidation() -> None:
    marks = [_mark(0, 12), _mark(4, 8, action=Action.RESTORE, at=31, mark_id="m2")]
    kept = apply_marks([_r(h) for h in range(0, 12, 2)], marks)
    assert [r.ts for r in kept] == [T0 + 4 * H, T0 + 6 * H]


def test_a_restore_recorded_before_the_invalidation_does_not_win() -> None:
    marks = [_mark(0, 12, at=31), _mark(4, 8, action=Action.RESTORE, at=30, mark_id="m2")]
    assert apply_marks([_r(5)], marks) == ()


def test_a_new_version_replaces_the_old_and_keeps_it_as_previous() -> None:
    first = _mark(0, 8)
    second = first.revise(author="wang", at=T0 + 40 * H, end=T0 + 2 * H, note="only two hours")
    assert second.version == 2
    assert second.previous == first
    assert second.author == "wang"
    assert in_force([first, second]) == (second,)
    assert [r.ts for r in apply_marks([_r(1), _r(4)], [first, second])] == [T0 + 4 * H]


def test_a_withdrawn_mark_is_a_restore_version() -> None:
    first = _mark(0, 8)
    withdrawn = first.revise(author="wang", at=T0 + 40 * H, action=Action.RESTORE)
    assert apply_marks([_r(1)], [first, withdrawn]) == (_r(1),)


def test_exceptional_events_are_excluded_only_when_asked() -> None:
    mark = _mark(0, 8, reason=Reason.EXCEPTIONAL_EVENT)
    assert apply_marks([_r(1)], [mark]) == ()
    assert apply_marks([_r(1)], [mark], exclude_exceptional=False) == (_r(1),)
    assert MarkIndex([mark], exclude_exceptional=False).deciding("s1", "nh3n", T0 + H) == mark


def test_a_restore_never_validates_an_instrument_flag() -> None:
    """apply_marks only removes; the statistics still take flag N readings only."""
    flagged = _r(1, flag=Flag.D)
    kept = apply_marks([flagged], [_mark(0, 8, action=Action.RESTORE)])
    assert kept == (flagged,)
    assert not kept[0].flag.valid


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"end": T0}, "not after start"),
        ({"version": 2}, "exactly its previous"),
        ({"version": 0}, "version must be >= 1"),
    ],
)
def test_bad_marks_are_refused(kwargs: dict[str, object], message: str) -> None:
    base = {
        "id": "m",
        "version": 1,
        "station": "s1",
        "parameter": "nh3n",
        "start": T0,
        "end": T0 + H,
        "action": Action.INVALIDATE,
        "reason": Reason.OTHER,
        "note": "",
        "author": "a",
        "at": T0,
    }
    with pytest.raises(AuditError, match=message):
        MarkVersion(**{**base, **kwargs})  # type: ignore[arg-type]


def test_reasons_have_bilingual_labels() -> None:
    assert Reason.QC_FAILED.label == "质控不合格 QC check failed"
    assert {r.value for r in Reason} == {
        "instrument_fault",
        "maintenance",
        "qc_failed",
        "exceptional_event",
        "communication",
        "other",
    }


def test_day_status_defaults_to_unreviewed_and_the_last_record_wins() -> None:
    day = date(2026, 6, 1)
    records = [
        DayRecord("s1", day, DayStatus.REVIEWED, "li", T0 + 30 * H),
        DayRecord("s1", day, DayStatus.LOCKED, "wang", T0 + 31 * H),
    ]
    assert day_status(records, "s1", day) is DayStatus.LOCKED
    assert day_status(records, "s1", date(2026, 6, 2)) is DayStatus.UNREVIEWED
    assert day_status(records, "s2", day) is DayStatus.UNREVIEWED
    # a mark from 23:00 on 1 June to 01:00 on 2 June (China time) touches the locked day
    assert locked_days(_mark(23, 25), records) == (day,)
    assert locked_days(_mark(24, 30), records) == ()


def test_stored_rows_round_trip_with_their_versions(tmp_path: Path) -> None:
    first = _mark(0, 8)
    second = first.revise(author="wang", at=T0 + 40 * H, reason=Reason.MAINTENANCE)
    rows = [mark_fields(m) for m in (second, first)]
    back = marks_from_rows(rows)
    assert sorted(back, key=lambda m: m.version) == [first, second]
    path = tmp_path / "marks.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n\n", encoding="utf-8")
    assert sorted(load_marks_file(path), key=lambda m: m.version) == [first, second]
    influx_row = {**mark_fields(first), "time": int(first.at.timestamp()) * 10**9}
    assert marks_from_rows([influx_row]) == (first,)


def test_a_broken_chain_is_named() -> None:
    row = {**mark_fields(_mark()), "version": 2}
    with pytest.raises(AuditError, match="mark m1"):
        marks_from_rows([row])


def test_day_rows() -> None:
    rows = [
        {
            "station": "s1",
            "day": "2026-06-01",
            "status": "locked",
            "author": "li",
            "time": "2026-06-02T00:00:00Z",
        }
    ]
    assert days_from_rows(rows)[0].status is DayStatus.LOCKED
    with pytest.raises(AuditError):
        days_from_rows([{"station": "s1", "day": "June", "status": "locked", "time": 0}])
