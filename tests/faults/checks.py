"""What every fault must leave behind: nothing lost, nothing duplicated, nothing altered."""

from __future__ import annotations

from tests.faults.outcome import Outcome


def nothing_lost(out: Outcome) -> None:
    """Every produced reading stored once with its value and flag; every expected warning delivered once."""
    r = out.readings
    assert r.produced > 0, r.line()
    assert (r.lost, r.duplicated) == (0, 0), r.line()
    assert r.stored == r.produced, r.line()
    assert (r.mismatched, r.waiting, r.notes) == (0, 0, []), r.details()
    if out.warnings is not None:
        w = out.warnings
        assert w.expected > 0, w.line()
        assert (w.delivered, w.lost, w.duplicated, w.bad_signatures) == (w.expected, 0, 0, 0), w.details()


def only_the_oldest_dropped(out: Outcome) -> None:
    """A spool that overflowed: what is missing is exactly the messages the edge says it dropped, one
    contiguous run of seqs starting at the oldest unacknowledged; nothing else lost or duplicated."""
    r = out.readings
    assert r.dropped_messages > 0, r.details()
    assert r.lost == r.dropped_readings > 0, r.details()
    assert (r.lost_beyond_dropped, r.duplicated, r.mismatched, r.waiting) == (0, 0, 0, 0), r.details()
    assert r.stored == r.produced - r.lost, r.line()
    assert out.seen["lost seqs contiguous"] is True, out.seen
    assert out.seen["lost seqs start at the oldest unacknowledged"] is True, out.seen
