"""The edge spool: seq in the same transaction, FIFO, bounds that drop the oldest and count them."""

from __future__ import annotations

from pathlib import Path

from stationpipe.edge.spool import Spool, SpoolLimits


def _fill(spool: Spool, n: int, size: int = 10) -> list[int]:
    return [spool.append("t", lambda seq: bytes(size)).seq for _ in range(n)]


def test_seq_is_assigned_in_order_and_survives_reopen(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "s", SpoolLimits())
    assert _fill(spool, 3) == [0, 1, 2]
    first = spool.oldest(10)
    spool.delete(first[0])
    spool.close()
    again = Spool(tmp_path / "s", SpoolLimits())
    assert again.depth == 2
    assert [m.seq for m in again.oldest(10)] == [1, 2]
    assert _fill(again, 1) == [3]  # never reused, even after deletes and a restart


def test_payload_is_built_with_its_seq(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "s", SpoolLimits())
    spool.append("t", lambda seq: f"seq={seq}".encode())
    assert spool.oldest(1)[0].payload == b"seq=0"


def test_count_bound_drops_the_oldest_and_counts_them(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "s", SpoolLimits(max_messages=5))
    _fill(spool, 8)
    assert spool.depth == 5
    assert [m.seq for m in spool.oldest(10)] == [3, 4, 5, 6, 7]
    assert spool.dropped == 3


def test_byte_bound(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "s", SpoolLimits(max_bytes=100))
    _fill(spool, 12, size=10)
    assert spool.size_bytes <= 100
    assert spool.oldest(1)[0].seq == 2
    assert spool.dropped == 2


def test_age_bound(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "s", SpoolLimits(max_age=1e-9))
    _fill(spool, 3)
    assert spool.enforce_limits() >= 1
    assert spool.depth == 0


def test_lanes_read_ranges_and_delete_is_idempotent(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "s", SpoolLimits())
    _fill(spool, 6)
    boundary = spool.oldest(10)[2].id
    assert [m.seq for m in spool.oldest(10, upto=boundary)] == [0, 1, 2]
    assert [m.seq for m in spool.oldest(2, after=boundary)] == [3, 4]
    msg = spool.oldest(1)[0]
    spool.delete(msg)
    spool.delete(msg)
    assert spool.depth == 5
