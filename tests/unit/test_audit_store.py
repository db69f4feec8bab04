"""The rules engine's audit store: append-only, versioned, durable across a reopen, locked days refused,
every record queued for MQTT in its commit; the QC review marks kept beside their outbox rows and confirmed
as invalidations; and the records' wire form as the collector stores it."""

from __future__ import annotations

import sqlite3
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from stationpipe.collector.records import decode
from stationpipe.kernel.audit import (
    Action,
    AuditError,
    DayStatus,
    Reason,
    decode_day,
    decode_mark,
    encode_mark,
)
from stationpipe.kernel.qc import QC_FAILED, ReviewMark
from stationpipe.kernel.wire_topics import TopicKind, parse_topic
from stationpipe.rules.audit.api import AuditRefusedError, instant, may_set
from stationpipe.rules.audit.page import china_instant
from stationpipe.rules.audit.store import SINK, AuditStore, LockedError, UnknownMarkError
from stationpipe.rules.channels.review import review_row
from stationpipe.rules.handling.accounts import Account, Role
from stationpipe.rules.state import Batch, State

JUNE1 = datetime(2026, 5, 31, 16, tzinfo=UTC)  # 00:00 on 1 June, China time


def _store(path: Path) -> AuditStore:
    return AuditStore(State(path / "state.sqlite3"))


def _morning(store: AuditStore, author: str = "chen") -> str:
    mark = store.mark(
        station="w1", parameter="nh3n", start=JUNE1, end=JUNE1.replace(hour=20), action=Action.INVALIDATE,
        reason=Reason.INSTRUMENT_FAULT, note="清洗后漂移 drift after cleaning", author=author,
    )  # fmt: skip
    return mark.id


def test_marks_are_versioned_queryable_and_durable_across_a_reopen(tmp_path: Path) -> None:
    store = _store(tmp_path)
    mark_id = _morning(store)
    restored = store.revise(mark_id, author="li", action=Action.RESTORE, note="误判 mistaken")
    assert restored.version == 2
    assert restored.previous is not None
    assert restored.previous.action is Action.INVALIDATE
    store.state.close()
    again = _store(tmp_path)
    trail = again.trail(mark_id)
    assert [(m.version, m.action, m.author) for m in trail] == [
        (1, Action.INVALIDATE, "chen"),
        (2, Action.RESTORE, "li"),
    ]
    assert [m.version for m in again.marks("w1", "nh3n")] == [2]
    assert again.marks("w1", "nh3n", end=JUNE1) == ()
    assert again.marks("w2") == ()
    with pytest.raises(UnknownMarkError):
        again.trail("nope")


def test_each_record_is_queued_for_mqtt_in_its_commit(tmp_path: Path) -> None:
    store = _store(tmp_path)
    _morning(store)
    store.set_day("w1", date(2026, 6, 1), DayStatus.REVIEWED, "chen")
    topics = [row.body["topic"] for row in store.state.queued(SINK)]
    assert topics == ["audit/w1/marks", "audit/w1/days"]


def test_the_tables_are_append_only(tmp_path: Path) -> None:
    store = _store(tmp_path)
    _morning(store)
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        store.state.db.execute("UPDATE audit_marks SET station = 'x'")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        store.state.db.execute("DELETE FROM audit_marks")


def test_a_locked_day_refuses_a_mark_and_a_restore_until_unlocked(tmp_path: Path) -> None:
    store = _store(tmp_path)
    mark_id = _morning(store)
    store.set_day("w1", date(2026, 6, 1), DayStatus.LOCKED, "chen")
    with pytest.raises(LockedError, match="locked on 2026-06-01"):
        _morning(store)
    with pytest.raises(LockedError):
        store.revise(mark_id, author="chen", action=Action.RESTORE)
    queued = len(store.state.queued(SINK))
    store.set_day("w1", date(2026, 6, 1), DayStatus.REVIEWED, "chen")
    assert store.revise(mark_id, author="chen", action=Action.RESTORE).version == 2
    assert len(store.state.queued(SINK)) == queued + 2
    assert store.status("w1", date(2026, 6, 1)) is DayStatus.REVIEWED
    assert store.status("w1", date(2026, 6, 2)) is DayStatus.UNREVIEWED


def test_the_wire_form_round_trips_and_the_collector_stores_it(tmp_path: Path) -> None:
    store = _store(tmp_path)
    mark = store.trail(_morning(store))[0]
    topic, payload = encode_mark(mark)
    assert parse_topic(topic).kind is TopicKind.AUDIT
    assert decode_mark(topic, payload)["version"] == 1
    lines = decode(topic, payload).lines
    head = lines[0].split(" ")[0]
    assert head.startswith("audit_marks,")
    assert f"mark={mark.id}" in head
    assert "station=w1" in head
    assert "version=1i" in lines[0]
    assert 'action="invalidate"' in lines[0]
    with pytest.raises(AuditError, match="station"):
        decode_mark("audit/w2/marks", payload)
    record = store.set_day("w1", date(2026, 6, 1), DayStatus.LOCKED, "chen")
    last = store.state.queued(SINK)[-1].body
    day_topic, day_payload = last["topic"], last["payload"]
    assert decode_day(day_topic, day_payload.encode()) == record
    assert 'status="locked"' in decode(day_topic, day_payload.encode()).lines[0]


def _account(role: Role) -> Account:
    return Account(name=role.value, role=role, password="scrypt$x")


@pytest.mark.parametrize(
    ("role", "current", "wanted", "allowed"),
    [
        (Role.VIEWER, DayStatus.UNREVIEWED, DayStatus.REVIEWED, False),
        (Role.OPERATOR, DayStatus.UNREVIEWED, DayStatus.REVIEWED, True),
        (Role.OPERATOR, DayStatus.REVIEWED, DayStatus.UNREVIEWED, True),
        (Role.OPERATOR, DayStatus.REVIEWED, DayStatus.LOCKED, False),
        (Role.OPERATOR, DayStatus.LOCKED, DayStatus.REVIEWED, False),
        (Role.AUDITOR, DayStatus.REVIEWED, DayStatus.LOCKED, True),
        (Role.AUDITOR, DayStatus.LOCKED, DayStatus.REVIEWED, True),
    ],
)
def test_who_may_set_a_day(role: Role, current: DayStatus, wanted: DayStatus, allowed: bool) -> None:
    if allowed:
        may_set(_account(role), current, wanted)
    else:
        with pytest.raises(AuditRefusedError):
            may_set(_account(role), current, wanted)


def test_the_page_reads_china_time_and_the_api_utc() -> None:
    assert china_instant("2026-06-01 08:00", "from") == datetime(2026, 6, 1, tzinfo=UTC)
    assert china_instant("2026-06-01 00:00", "from") == JUNE1
    assert instant("2026-06-01T00:00:00", "start") == datetime(2026, 6, 1, tzinfo=UTC)
    assert instant("2026-06-01T08:00+08:00", "start") == datetime(2026, 6, 1, tzinfo=UTC)


def _review(made: datetime, parameter: str = "nh3n") -> ReviewMark:
    return ReviewMark(
        "w1", parameter, made - timedelta(hours=12), made, QC_FAILED, f"a1.{parameter}.s.1", "qc", made
    )


def _queue(state: State, *marks: ReviewMark) -> None:
    batch = Batch.empty()
    for mark in marks:
        row = review_row(mark)
        batch.outbox.append(row)
        batch.reviews.append((row[1], mark))
    state.commit(batch)


def test_review_marks_outlive_their_outbox_row_and_a_reopen(tmp_path: Path) -> None:
    store = _store(tmp_path)
    now = datetime.now(UTC)
    old, recent, newest = _review(now - timedelta(days=100)), _review(now - timedelta(days=2)), _review(now)
    _queue(store.state, old, recent)
    _queue(store.state, newest, recent)  # queued again: kept once, as its outbox row is
    store.state.delivered(q.seq for q in store.state.queued("review"))
    assert store.state.depth("review") == 0
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        store.state.db.execute("DELETE FROM reviews")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        store.state.db.execute("UPDATE reviews SET station = 'w2'")
    store.state.close()
    again = _store(tmp_path)
    assert [m for _, m in again.reviews("w1")] == [newest, recent]  # the last 90 days, newest first
    assert [m for _, m in again.reviews("w1", timedelta(days=365))] == [newest, recent, old]
    assert again.reviews("w2") == ()


def test_a_review_mark_is_confirmed_as_the_invalidation_it_proposes(tmp_path: Path) -> None:
    store = _store(tmp_path)
    review = _review(JUNE1)
    _queue(store.state, review)
    [(ref, _)] = store.reviews("w1", timedelta(days=100_000))
    with pytest.raises(UnknownMarkError):
        store.confirm(ref, "w2", "chen")
    mark = store.confirm(ref, "w1", "chen")
    assert (mark.version, mark.action, mark.reason, mark.author) == (
        1,
        Action.INVALIDATE,
        Reason.QC_FAILED,
        "chen",
    )
    assert (mark.start, mark.end, mark.parameter) == (review.start, review.end, "nh3n")
    assert store.marks("w1", "nh3n") == (mark,)
    store.set_day("w1", date(2026, 5, 31), DayStatus.LOCKED, "chen")  # the period is 12:00-24:00 China time
    with pytest.raises(LockedError):
        store.confirm(ref, "w1", "chen")
