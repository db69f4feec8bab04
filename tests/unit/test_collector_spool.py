"""The disk spool: first in first out, bounded, and still there after a restart."""

from __future__ import annotations

from pathlib import Path

import pytest

from stationpipe.collector.spool import Spool, SpoolFullError


async def test_batches_leave_in_order_and_survive_a_reopen(tmp_path: Path) -> None:
    path = tmp_path / "spool.sqlite3"
    spool = await Spool.open(path, 10**6)
    for i in range(5):
        await spool.append([f"m v={i} {i}", f'm s="多\\n行" {i}'], [f"t/{i}", f"t/{i}"])
    assert spool.points == 10
    await spool.close()

    spool = await Spool.open(path, 10**6)
    assert (spool.points, spool.empty) == (10, False)
    seen = []
    while (batch := await spool.oldest()) is not None:
        seen.append(batch.lines[0])
        assert batch.topics == [batch.topics[0]] * 2
        assert batch.lines[1].startswith('m s="多\\n行"')
        await spool.delete(batch.id)
    assert seen == [f"m v={i} {i}" for i in range(5)]
    assert (spool.points, spool.size, spool.empty) == (0, 0, True)
    await spool.close()


async def test_the_spool_is_bounded_but_always_takes_one_batch(tmp_path: Path) -> None:
    spool = await Spool.open(tmp_path / "s.sqlite3", 200)
    big = [f"m v={i}.{i * 7919 % 1000} {i * 104729}" for i in range(100)]
    await spool.append(big, ["t"] * 100)  # alone it may exceed the bound: never stuck forever
    with pytest.raises(SpoolFullError):
        await spool.append(["m v=1 1"], ["t"])
    first = await spool.oldest()
    assert first is not None
    await spool.delete(first.id)
    await spool.append(["m v=1 1"], ["t"])
    assert spool.points == 1
    await spool.close()
