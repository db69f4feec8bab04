"""The segment log under the edge spool: torn tails, the cursor after a restart or a kill, bounds across
segments, segment rollover and deletion, and the upgrade from the SQLite spool of earlier versions."""

from __future__ import annotations

import logging
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from stationpipe.edge.spool import Spool, SpoolLimits, segment, view
from stationpipe.edge.spool.cursor import SLOT


def _fill(spool: Spool, n: int, size: int = 10) -> list[int]:
    return [spool.append("t", lambda seq: bytes([seq % 256]) * size).seq for _ in range(n)]


def _seqs(spool: Spool) -> list[int]:
    return [m.seq for m in spool.oldest(10_000)]


def _ack(spool: Spool, seqs: set[int]) -> None:
    for message in spool.oldest(10_000):
        if message.seq in seqs:
            spool.delete(message)


@pytest.mark.parametrize("tail", [b"\x17\x00\x00\x00garbage", bytes(40), b"\x01"])
def test_a_torn_tail_is_cut_counted_and_logged_once(
    tmp_path: Path, tail: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    spool = Spool(tmp_path, SpoolLimits())
    _fill(spool, 5)
    spool.close()
    [path] = segment.paths(tmp_path)
    whole = path.stat().st_size
    with path.open("ab") as f:
        f.write(tail)
    with caplog.at_level(logging.WARNING):
        again = Spool(tmp_path, SpoolLimits())
    assert again.torn == 1
    assert path.stat().st_size == whole, "the torn bytes are cut off"
    assert [r.message for r in caplog.records].count(caplog.records[0].message) == 1
    assert "torn tail" in caplog.records[0].message
    assert _seqs(again) == [0, 1, 2, 3, 4]
    assert _fill(again, 1) == [5]
    again.close()
    assert Spool(tmp_path, SpoolLimits()).torn == 0, "cut once; the next start finds a whole log"


def test_a_record_torn_in_the_middle_of_its_body_is_cut(tmp_path: Path) -> None:
    spool = Spool(tmp_path, SpoolLimits())
    _fill(spool, 3, size=100)
    spool.close()
    [path] = segment.paths(tmp_path)
    os.truncate(path, path.stat().st_size - 30)  # the last write reached the device only in part
    again = Spool(tmp_path, SpoolLimits())
    assert _seqs(again) == [0, 1]
    assert again.torn == 1


def test_acknowledgements_out_of_order_survive_a_restart(tmp_path: Path) -> None:
    spool = Spool(tmp_path, SpoolLimits())
    _fill(spool, 10)
    _ack(spool, {0, 1, 2, 3, 6, 8})
    spool.close()
    again = Spool(tmp_path, SpoolLimits())
    assert _seqs(again) == [4, 5, 7, 9]
    assert again.depth == 4
    assert again.size_bytes == 40
    assert again.last_id() == 10
    assert view(tmp_path).waiting == [4, 5, 7, 9]


def test_a_spoiled_cursor_slot_falls_back_to_the_other_and_sends_again(tmp_path: Path) -> None:
    spool = Spool(tmp_path, SpoolLimits())
    _fill(spool, 6)
    _ack(spool, {0, 1})
    spool.close()  # the state with 0 and 1 acknowledged is in one slot
    spool = Spool(tmp_path, SpoolLimits())
    _ack(spool, {2, 3})
    spool.close()  # the next generation, in the other slot
    data = bytearray((tmp_path / "cursor").read_bytes())
    newest = (
        0
        if int.from_bytes(data[8:16], "little") > int.from_bytes(data[SLOT + 8 : SLOT + 16], "little")
        else 1
    )
    data[newest * SLOT + 12] ^= 0xFF
    (tmp_path / "cursor").write_bytes(bytes(data))
    again = Spool(tmp_path, SpoolLimits())
    assert _seqs(again) == [2, 3, 4, 5], "the older state: 2 and 3 are sent again, nothing is lost"
    again.close()
    (tmp_path / "cursor").write_bytes(bytes(2 * SLOT))
    assert _seqs(Spool(tmp_path, SpoolLimits())) == [0, 1, 2, 3, 4, 5], "no cursor: everything again"


def test_segments_roll_over_and_leave_once_every_record_in_them_has(tmp_path: Path) -> None:
    limits = SpoolLimits(segment_bytes=256)
    spool = Spool(tmp_path, limits)
    _fill(spool, 40, size=20)
    assert len(segment.paths(tmp_path)) > 5
    assert _seqs(spool) == list(range(40))
    assert [m.seq for m in spool.oldest(3, after=spool.oldest(12)[-1].id)] == [12, 13, 14]
    _ack(spool, set(range(39)) - {20})
    assert segment.paths(tmp_path)[0].name <= segment.name(20) < segment.paths(tmp_path)[1].name
    _ack(spool, {20})
    assert len(segment.paths(tmp_path)) == 1, "only the segment being written to is left"
    spool.delete(spool.oldest(1)[0])
    assert spool.depth == 0
    assert spool.last_id() == 0
    spool.close()
    again = Spool(tmp_path, limits)
    assert again.depth == 0
    assert _fill(again, 1) == [40], "the seq counter survives a spool that was emptied"


def test_bounds_drop_across_segments_and_the_count_persists(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    limits = SpoolLimits(max_messages=5, segment_bytes=200)
    spool = Spool(tmp_path, limits)
    with caplog.at_level(logging.WARNING):
        _fill(spool, 50, size=30)
    assert _seqs(spool) == [45, 46, 47, 48, 49]
    assert spool.dropped == 45
    assert len([r for r in caplog.records if "dropping" in r.message]) == 1, "logged once"
    assert len(segment.paths(tmp_path)) <= 3
    spool.close()
    again = Spool(tmp_path, limits)
    assert again.dropped == 45
    assert _seqs(again) == [45, 46, 47, 48, 49]


def test_a_killed_process_loses_nothing_it_appended(tmp_path: Path) -> None:
    """SIGKILL right after the appends and acknowledgements, without close: every appended message that
    was not acknowledged is there after the restart (acknowledged ones may be there again)."""
    script = textwrap.dedent(
        f"""
        import os, signal
        from pathlib import Path
        from stationpipe.edge.spool import Spool, SpoolLimits
        spool = Spool(Path({str(tmp_path)!r}), SpoolLimits(segment_bytes=4096))
        for i in range(500):
            spool.append("t", lambda seq: b"x" * 50)
            if i % 2:
                for m in spool.oldest(1):
                    spool.delete(m)
        print(spool.depth, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    run = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert run.returncode == -signal.SIGKILL, run.stderr
    waiting_at_kill = int(run.stdout)
    again = Spool(tmp_path, SpoolLimits(segment_bytes=4096))
    seqs = _seqs(again)
    assert seqs == sorted(seqs)
    assert set(range(500 - waiting_at_kill, 500)) <= set(seqs), "every unacknowledged message is there"
    assert again.next_seq() == 500
    assert again.torn == 0


_OLD_SCHEMA = """
CREATE TABLE messages (id INTEGER PRIMARY KEY AUTOINCREMENT, seq INTEGER NOT NULL, created REAL NOT NULL,
    topic TEXT NOT NULL, payload BLOB NOT NULL);
CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT INTO meta (key, value) VALUES ('next_seq', 9), ('dropped', 2);
"""


def _old_spool(path: Path, seqs: list[int]) -> None:
    db = sqlite3.connect(path)
    db.executescript(_OLD_SCHEMA)
    for seq in seqs:
        db.execute(
            "INSERT INTO messages (seq, created, topic, payload) VALUES (?, 1e9, 't', ?)", (seq, b"p%d" % seq)
        )
    db.commit()
    db.close()


def test_an_old_sqlite_spool_is_moved_into_the_log(tmp_path: Path) -> None:
    old = tmp_path / "spool.sqlite"
    _old_spool(old, [3, 4, 7])
    spool = Spool(tmp_path / "spool", SpoolLimits(), legacy_path=old)
    assert not old.exists()
    assert [(m.seq, m.payload) for m in spool.oldest(10)] == [(3, b"p3"), (4, b"p4"), (7, b"p7")]
    assert spool.next_seq() == 9
    assert spool.dropped == 2
    _ack(spool, {4})
    spool.close()
    again = Spool(tmp_path / "spool", SpoolLimits(), legacy_path=old)
    assert _seqs(again) == [3, 7]
    assert _fill(again, 1) == [9]


def test_a_migration_cut_short_is_done_again_from_the_sqlite_file(tmp_path: Path) -> None:
    old = tmp_path / "spool.sqlite"
    _old_spool(old, [3, 4, 7])
    half = Spool(tmp_path / "spool", SpoolLimits())
    _fill(half, 2)  # what a migration killed before it finished may have left: segments, no cursor
    half.close()
    (tmp_path / "spool" / "cursor").unlink()
    spool = Spool(tmp_path / "spool", SpoolLimits(), legacy_path=old)
    assert _seqs(spool) == [3, 4, 7]
    assert spool.next_seq() == 9


def test_an_empty_old_spool_still_gives_its_seq_counter(tmp_path: Path) -> None:
    old = tmp_path / "hj212.sqlite"
    _old_spool(old, [])
    spool = Spool(tmp_path / "hj212", SpoolLimits(), legacy_path=old)
    assert spool.depth == 0
    spool.close()
    assert _fill(Spool(tmp_path / "hj212", SpoolLimits()), 1) == [9]
