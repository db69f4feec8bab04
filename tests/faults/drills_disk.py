"""The collector's spool runs out of room while InfluxDB is down: its disk (a tmpfs) or its byte bound.
See tests/faults/drills.py."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

from tests.faults.harness import Plan, deployment, hold, water_stations
from tests.faults.outcome import Outcome

# --- the collector's disk -----------------------------------------------------------------------------


def _mount_tmpfs(path: Path, size_kib: int) -> bool:
    """Mount a tmpfs of ``size_kib`` KiB at ``path``; False when that is not allowed (not root)."""
    path.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        return False
    argv = ["mount", "-t", "tmpfs", "-o", f"size={size_kib}k", "tmpfs", str(path)]
    return subprocess.run(argv, capture_output=True, check=False).returncode == 0


def _unmount(path: Path) -> None:
    subprocess.run(["umount", "-l", str(path)], capture_output=True, check=False)


def can_mount() -> bool:
    """Whether this process may mount a tmpfs (tried on a scratch folder)."""
    with tempfile.TemporaryDirectory() as scratch:
        if not _mount_tmpfs(Path(scratch), 64):
            return False
        _unmount(Path(scratch))
        return True


@contextlib.contextmanager
def _small_disk(path: Path, size_kib: int) -> Iterator[None]:
    if not _mount_tmpfs(path, size_kib):
        raise AssertionError(f"could not mount a tmpfs at {path}")
    try:
        yield
    finally:
        _unmount(path)


def collector_disk_full(plan: Plan, size_kib: int = 128, disk: Literal["auto", "bound"] = "auto") -> Outcome:
    """InfluxDB down until the collector's spool fills its disk: a ``size_kib`` tmpfs as its state_dir
    (``auto``, where mounting is allowed: root), else the spool's own byte bound of the same size."""
    stations = water_stations(plan.stations, "fk-disk")
    tmpfs = disk == "auto" and can_mount()
    bound = "" if tmpfs else f"[spool]\nmax_mb = {size_kib / 1024}\n"
    with deployment(
        "collector-disk-full" if tmpfs else "collector-spool-bound",
        plan,
        stations,
        before=lambda svc: _small_disk(svc.workdir / "collector-state", size_kib) if tmpfs else None,
        collector_extra=bound,
    ) as run:
        state = run.pipe.workdir / "collector-state"
        run.flowing()
        run.svc.influx.kill()
        hold(plan.seconds, run.pipe)
        free = shutil.disk_usage(state).free
        log = run.pipe.log("collector")
        run.svc.influx.start()
        readings, records, found = run.finish()
    seen: dict[str, object] = {
        "spool limit": f"{size_kib} KiB " + ("tmpfs" if tmpfs else "byte bound (tmpfs not permitted)"),
        "free bytes on the spool's disk at the end of the outage": free,
        "collector log mentions a full spool or disk": "full" in log,
    }
    out = Outcome(readings, records=records, seen=seen, found=found)
    out.print()
    return out
