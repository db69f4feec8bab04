"""Disk bytes written per spooled message: the edge spool as the agent uses it, in a child process.

The child appends one readings message per poll (one device, ten values, built as the MQTT output builds
them), and after each append does what the publisher's live lane does once the broker acknowledges:
``oldest(window, after=cursor)`` then ``delete`` of each. Polls are 1 s apart on a simulated clock (the
spool's own clock, so its fsync interval and cursor writes follow poll time) and the child does not sleep.

What is counted: the child's ``write_bytes`` from ``/proc/<pid>/io``, the bytes of page-cache pages the
process dirtied (the kernel counts a page when it becomes dirty; writing again to a page that is still
dirty costs nothing more, and pages written back and dirtied again count again). A real agent's dirty
pages are written back by the kernel after 30 s (``vm.dirty_expire_centisecs``); running faster than real
time would let pages stay dirty longer than they would, so the child models writeback by fsyncing every
file of its spool directory every 30 simulated seconds, and at the end (the pessimistic side: the kernel
writes back only pages dirty for 30 s). ``wchar`` (bytes passed to ``write``) is printed beside it.
Filesystem metadata and journal writes (jbd2) are not charged to the process and are not counted.

The baseline, measured in the same run, is the SQLite spool the agent used before (bench/sqlite_spool.py),
also with SQLite's smallest page (512 bytes): a transaction per message (the kill promise: a reading is on
its way to disk before the next poll) writes at least its changed pages to the WAL.

    .venv/bin/python -m bench.spool_disk                  # 3,000 messages, 3 runs (about 2 minutes)
    .venv/bin/python -m bench.spool_disk --realtime --messages 300 --runs 1   # 5 minutes of 1 s polls
    .venv/bin/python -m bench.spool_disk --smoke
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from bench import smoke
from bench.sqlite_spool import Spool as SqliteSpool
from bench.sqlite_spool import SpoolLimits as SqliteLimits
from stationpipe.edge.config import SpoolSettings
from stationpipe.edge.outputs.mqtt import message
from stationpipe.edge.spool import Spool, SpoolLimits
from stationpipe.kernel import wire
from stationpipe.kernel.reading import Reading

DEFAULT_FSYNC = SpoolSettings().fsync_interval or 0.0
WRITEBACK = 30.0  # seconds a dirty page may stay dirty before the kernel writes it back
WINDOW = 32
PARAMETERS = ("ph", "do", "cond", "turb", "wt", "codmn", "nh3n", "tp", "tn", "chla")


class _Stored(Protocol):
    @property
    def payload(self) -> bytes: ...


class _Spool(Protocol):
    def append(self, topic: str, build: Callable[[int], bytes]) -> _Stored: ...
    def oldest(self, limit: int, *, after: int = 0, upto: int | None = None) -> Sequence[Any]: ...
    def delete(self, message: Any) -> None: ...
    def close(self) -> None: ...


class SimClock:
    """Poll time: advanced by the child, read by the spool."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def payload_builder(i: int) -> Callable[[int], bytes]:
    """The readings message of poll ``i`` (one device, ten float32-like values)."""
    ts = datetime.fromtimestamp(1_780_000_000 + i, tz=UTC)
    readings = [
        Reading("bench-station-001", p, round(7.0 + k * 1.37 + (i % 97) * 0.0113, 6), "mg/L", ts)
        for k, p in enumerate(PARAMETERS)
    ]
    return lambda seq: wire.encode(message("bench-station-001", "analyser-1", seq, readings))[1]


def open_spool(variant: str, directory: Path, clock: Callable[[], float]) -> _Spool:
    """The spool of one variant: ``sqlite`` (4 KiB pages), ``sqlite-512``, ``log`` (no fsync) or
    ``log-fsync-<seconds>``."""
    if variant.startswith("sqlite"):
        path = directory / "spool.sqlite"
        if variant == "sqlite-512":  # the smallest page SQLite allows: less written per transaction
            db = sqlite3.connect(path)
            db.execute("PRAGMA page_size=512")
            db.execute("VACUUM")
            db.close()
        return SqliteSpool(path, SqliteLimits())
    interval = float(variant.removeprefix("log-fsync-")) if variant.startswith("log-fsync-") else None
    return Spool(directory / "spool", SpoolLimits(), fsync_interval=interval, clock=clock)


def writeback(directory: Path) -> None:
    """What the kernel's flusher does to the spool's dirty pages: write them to the device."""
    for path in directory.rglob("*"):
        if path.is_file():
            fd = os.open(path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)


def child(variant: str, directory: Path, messages: int, interval: float, *, realtime: bool) -> None:
    """The spooling process: waits for "go" on stdin, spools, flushes, prints its figures, waits to be read.

    Simulated time (the default): the spool's clock is poll time and writeback is modelled (module doc).
    ``realtime``: polls really ``interval`` apart, the spool on the real clock, the kernel's own writeback."""
    sim = SimClock()
    topic = "stations/bench-station-001/readings"
    print("ready", flush=True)
    sys.stdin.readline()
    spool = open_spool(variant, directory, time.monotonic if realtime else sim)
    cursor, size, next_flush, start = 0, 0, WRITEBACK, time.monotonic()
    for i in range(messages):
        sim.now = i * interval
        if realtime:
            time.sleep(max(0.0, start + sim.now - time.monotonic()))
        size += len(spool.append(topic, payload_builder(i)).payload)
        for sent in spool.oldest(WINDOW, after=cursor):
            spool.delete(sent)
            cursor = sent.id
        if not realtime and sim.now >= next_flush:
            writeback(directory)
            next_flush += WRITEBACK
    spool.close()
    if not realtime:
        writeback(directory)
    print(json.dumps({"payload": size / messages}), flush=True)
    sys.stdin.readline()


def io_counters(pid: int) -> dict[str, int]:
    """``/proc/<pid>/io`` as a dict."""
    pairs = (line.split(": ") for line in Path(f"/proc/{pid}/io").read_text().splitlines())
    return {key: int(value) for key, value in pairs}


@dataclass(frozen=True)
class Figures:
    """One variant's run, per message: bytes dirtied (``write_bytes``), bytes passed to ``write``, payload."""

    written: float
    wchar: float
    payload: float


class Child:
    """One spooling child process and its spool directory."""

    def __init__(self, variant: str, workdir: Path, args: argparse.Namespace) -> None:
        self.variant, self.messages = variant, args.messages
        self.directory = Path(tempfile.mkdtemp(prefix=f"{variant}-", dir=workdir))
        argv = [sys.executable, "-m", "bench.spool_disk", "--child", variant, "--dir", str(self.directory)]
        argv += ["--messages", str(args.messages), "--interval", str(args.interval)]
        argv += ["--realtime"] if args.realtime else []
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        assert self.proc.stdin is not None
        assert self.proc.stdout is not None
        self.stdin, self.stdout = self.proc.stdin, self.proc.stdout
        assert self.stdout.readline().strip() == b"ready"
        self.before = io_counters(self.proc.pid)

    def go(self) -> None:
        """Start spooling."""
        self.stdin.write(b"go\n")
        self.stdin.flush()

    def finish(self) -> Figures:
        """Wait for the end of the spooling, read the counters, let the child exit."""
        result = json.loads(self.stdout.readline())
        after = io_counters(self.proc.pid)
        self.stdin.write(b"bye\n")
        self.stdin.flush()
        self.proc.wait(30)
        n = self.messages
        return Figures(
            (after["write_bytes"] - self.before["write_bytes"]) / n,
            (after["wchar"] - self.before["wchar"]) / n,
            float(result["payload"]),
        )

    def close(self) -> None:
        """Stop the child if it still runs; remove its spool."""
        smoke.stop(self.proc, f"spool child {self.variant}")
        shutil.rmtree(self.directory, ignore_errors=True)


def measure(variants: list[str], workdir: Path, args: argparse.Namespace) -> dict[str, Figures]:
    """One run of every variant: one after the other, or side by side in real time (``--realtime``)."""
    out: dict[str, Figures] = {}
    groups = [variants] if args.realtime else [[v] for v in variants]
    for group in groups:
        children: list[Child] = []
        try:
            children = [Child(v, workdir, args) for v in group]
            for c in children:
                c.go()
            for c in children:
                out[c.variant] = c.finish()
        finally:
            for c in children:
                c.close()
    return out


def main() -> None:
    """Parse the arguments; run the child, or every variant ``--runs`` times and print the figures."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--messages", type=int, default=3000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--interval", type=float, default=1.0, help="seconds between polls")
    ap.add_argument("--fsync", type=float, nargs="*", default=[0.0, 1.0, 10.0], help="more fsync intervals")
    ap.add_argument("--realtime", action="store_true", help="real sleeps and the kernel's own writeback")
    ap.add_argument("--workdir", type=Path, default=Path(), help="where the spools go (a disk, not tmpfs)")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--dir", type=Path, help=argparse.SUPPRESS)
    args = smoke.parse(ap, {"messages": 200, "runs": 1, "fsync": []})
    if args.child:
        child(args.child, args.dir, args.messages, args.interval, realtime=args.realtime)
        return
    report(args)


def report(args: argparse.Namespace) -> None:
    """Every variant ``args.runs`` times, interleaved; medians per message, and the ratio to SQLite."""
    default = f"log-fsync-{DEFAULT_FSYNC:g}"
    extra = [f"log-fsync-{s:g}" for s in args.fsync if f"log-fsync-{s:g}" != default]
    variants = ["sqlite", default, "log", "sqlite-512", *extra]
    workdir = Path(tempfile.mkdtemp(prefix="spool-disk-", dir=args.workdir.resolve()))
    runs: list[dict[str, Figures]] = []
    started = time.monotonic()
    try:
        for run in range(1, args.runs + 1):
            runs.append(measure(variants, workdir, args))
            figures = ", ".join(f"{v} {runs[-1][v].written:,.0f}" for v in variants)
            print(f"run {run}: write_bytes per message: {figures}", flush=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    clock = (
        "real time, the kernel's writeback"
        if args.realtime
        else f"simulated, writeback every {WRITEBACK:g} s"
    )
    print(
        f"messages/run {args.messages:,} of {runs[0]['sqlite'].payload:,.0f} bytes (one device, 10 values), "
        f"polls every {args.interval:g} s ({clock}), runs {args.runs}; {time.monotonic() - started:.0f} s"
    )
    medians = {v: statistics.median(r[v].written for r in runs) for v in variants}
    for v in variants:
        wchar = statistics.median(r[v].wchar for r in runs)
        print(
            f"{_label(v):<44} {medians[v]:>8,.0f} B/message written (median), wchar {wchar:,.0f} B/message, "
            f"{medians[v] * 86_400 / args.interval / 2**20:,.1f} MiB/day"
        )
    print(f"ratio segment log (default)/sqlite: {medians[default] / max(medians['sqlite'], 1.0):.3f}")


def _label(variant: str) -> str:
    if variant == "sqlite":
        return "sqlite spool (before)"
    if variant == "sqlite-512":
        return "sqlite spool, page_size 512"
    if variant == "log":
        return "segment log, no fsync (kernel writeback)"
    seconds = variant.removeprefix("log-fsync-")
    return f"segment log, fsync_interval {seconds} s" + (
        " (default)" if float(seconds) == DEFAULT_FSYNC else ""
    )


if __name__ == "__main__":
    main()
