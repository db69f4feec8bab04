"""Counting readings through a fault: what the edges produced against what InfluxDB holds.

**Produced** is the edge's own record. While an edge runs, a watcher (:func:`recording`) hard-links
every segment file of its spool into ``state_dir/ledger/`` as soon as the file appears; a hard link is
the same file, so it sees every record the agent appends later and keeps it when the spool deletes the
segment after its last acknowledgement: exactly what entered the spool, including what the spool later
drops or deletes (a segment lives for thousands of messages, the watcher looks every 20 ms). Each
payload is decoded into its readings, keyed by (station, parameter, timestamp).

**Stored** is every point of ``readings`` for those stations in InfluxDB, with its value and flag.

**Lost** is a produced reading that is neither stored nor still waiting in the spool at the end (an
edge stopped with messages not yet acknowledged keeps them for its next start). Readings dropped by the
spool's bounds are lost by design and reported beside the edge's own drop counter.

**Duplicated**: InfluxDB keys a point by series and timestamp, and the timestamp is the reading's own, so
a redelivered message rewrites the same point and a stored duplicate of a redelivery is impossible. What
can duplicate a reading is the edge putting it in two messages (two seqs), which any consumer counting
messages would count twice; that is counted here, together with stored points that no produced reading
explains. Redeliveries on the wire (the same seq twice, at-least-once QoS 1) are counted by a probe
subscriber and reported as ``redelivered``: expected, and absorbed by the idempotent writes.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stationpipe.collector.lineproto import timestamp_ns
from stationpipe.edge.spool import segment, view
from stationpipe.edge.spool.view import records
from stationpipe.kernel import wire
from stationpipe.kernel.qc import QcRecord
from stationpipe.kernel.reading import StationMessage
from stationpipe.testbed.services import InfluxDB

#: (station, parameter, timestamp ns)
Key = tuple[str, str, int]
#: (value, flag)
Point = tuple[float | None, str]


def spool_path(state_dir: Path) -> Path:
    """The edge agent's spool directory under its ``state_dir`` (stationpipe.edge.outputs.mqtt.open_spool)."""
    return state_dir / "spool"


def _link_new_segments(state_dir: Path) -> None:
    """Hard-link every segment of the spool not linked yet into ``state_dir/ledger``."""
    kept = state_dir / "ledger"
    kept.mkdir(parents=True, exist_ok=True)
    for path in segment.paths(spool_path(state_dir)) if spool_path(state_dir).is_dir() else []:
        with contextlib.suppress(FileExistsError, FileNotFoundError):
            os.link(path, kept / path.name)


@contextlib.contextmanager
def recording(state_dir: Path) -> Iterator[None]:
    """Keep a copy (hard link) of every segment of the edge's spool while the context is open."""
    stop = threading.Event()

    def watch() -> None:
        while not stop.wait(0.02):
            _link_new_segments(state_dir)

    _link_new_segments(state_dir)
    thread = threading.Thread(target=watch, name=f"ledger-{state_dir.name}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


@dataclass(frozen=True)
class EdgeRecord:
    """What one edge produced (ledger), what still waits in its spool, and what it says it dropped;
    ``checks``: the seqs of the QC checks it spooled between its readings messages."""

    station: str
    messages: dict[int, StationMessage]
    waiting: frozenset[int]
    dropped: int
    checks: frozenset[int] = frozenset()

    @property
    def seqs(self) -> list[int]:
        """Every seq the edge spooled (readings and QC checks), in order."""
        return sorted([*self.messages, *self.checks])

    @classmethod
    def read(cls, station: str, state_dir: Path) -> EdgeRecord:
        """Read the ledger and the spool (safe while the agent runs: nothing is written or locked)."""
        _link_new_segments(state_dir)
        seen = view(spool_path(state_dir))
        messages: dict[int, StationMessage] = {}
        checks: set[int] = set()
        for frame in records(segment.paths(state_dir / "ledger")):
            msg = wire.decode(frame.topic, frame.payload)
            if isinstance(msg, QcRecord):
                checks.add(frame.seq)  # a QC check shares the spool and its seqs; the readings are counted
                continue
            assert isinstance(msg, StationMessage)
            assert frame.seq not in messages, f"{station}: seq {frame.seq} spooled twice"
            messages[frame.seq] = msg
        return cls(station, messages, frozenset(seen.waiting), seen.dropped, frozenset(checks))

    def readings(self, seqs: set[int] | frozenset[int] | None = None) -> list[tuple[Key, Point]]:
        """Every reading of the messages ``seqs`` (all when None), with repeats if any."""
        return [
            ((r.station, r.parameter, timestamp_ns(r.ts)), (r.value, r.flag.value))
            for seq, msg in self.messages.items()
            if seqs is None or seq in seqs
            for r in msg.readings
        ]


def depth(state_dir: Path) -> int:
    """Messages waiting in an edge's spool now."""
    return view(spool_path(state_dir)).depth


def stored(influx: InfluxDB, station: str, extra: tuple[str, ...] = ()) -> dict[Key, tuple[Any, ...]]:
    """Every ``readings`` point of a station: key -> (value, flag, *extra fields)."""
    columns = ", ".join(("value", "flag", *extra))
    out: dict[Key, tuple[Any, ...]] = {}
    for series in influx.query(
        f"SELECT {columns} FROM readings WHERE station = '{station}' GROUP BY parameter"
    ):
        parameter = series["tags"]["parameter"]
        for ts_ns, *fields in series["values"]:
            out[station, parameter, int(ts_ns)] = tuple(fields)
    return out


@dataclass
class Tally:
    """The figures of one fault, and the line it prints."""

    fault: str
    produced: int = 0
    stored: int = 0
    lost: int = 0
    duplicated: int = 0
    waiting: int = 0
    mismatched: int = 0
    dropped_messages: int = 0
    dropped_readings: int = 0
    lost_beyond_dropped: int = 0
    redelivered: int = 0
    notes: list[str] = field(default_factory=list)

    def line(self) -> str:
        """``<fault>: produced N, stored N, lost N, duplicated N``."""
        return (
            f"{self.fault}: produced {self.produced}, stored {self.stored}, "
            f"lost {self.lost}, duplicated {self.duplicated}"
        )

    def details(self) -> str:
        """The figures behind the line."""
        parts = [
            f"waiting in spool {self.waiting}",
            f"stored with another value or flag {self.mismatched}",
            f"dropped by the edge spool {self.dropped_messages} messages / {self.dropped_readings} readings",
            f"redelivered on MQTT {self.redelivered}",
            *self.notes,
        ]
        return f"{self.fault}: " + "; ".join(parts)


def tally(fault: str, records: list[EdgeRecord], points: dict[Key, tuple[Any, ...]]) -> Tally:
    """Compare produced readings with stored points (see the module docstring for the definitions).

    Per edge, the messages none of whose readings were stored are *wholly lost*; the oldest of them, as
    many as the edge says its spool dropped, are counted as dropped; any other missing reading is lost
    beyond the drops.
    """
    t = Tally(fault)
    produced: dict[Key, Point] = {}
    repeats = Counter[Key]()
    waiting: set[Key] = set()
    for rec in records:
        for key, point in rec.readings():
            repeats[key] += 1
            produced[key] = point
        waiting |= {key for key, _ in rec.readings(rec.waiting)}
        t.dropped_messages += rec.dropped
        dropped = set(wholly_lost(rec, points)[: rec.dropped])
        t.dropped_readings += len(rec.readings(dropped))
    t.produced = len(produced)
    t.duplicated = sum(n - 1 for n in repeats.values()) + len(points.keys() - produced.keys())
    t.waiting = len(waiting - points.keys())
    both = points.keys() & produced.keys()
    t.stored = len(both)
    t.mismatched = sum(1 for key in both if tuple(points[key][:2]) != produced[key])
    t.lost = len(produced.keys() - points.keys() - waiting)
    t.lost_beyond_dropped = t.lost - t.dropped_readings
    return t


def wholly_lost(record: EdgeRecord, points: dict[Key, tuple[Any, ...]]) -> list[int]:
    """Seqs of one edge, oldest first, none of whose readings were stored and which are not waiting."""
    out = []
    for seq, msg in sorted(record.messages.items()):
        keys = {(r.station, r.parameter, timestamp_ns(r.ts)) for r in msg.readings}
        if seq not in record.waiting and not keys & points.keys():
            out.append(seq)
    return out
