"""CPU and memory of a process from /proc (Linux), for the benchmarks' reports."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

_TICK = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Usage:
    """CPU seconds (user + system) used so far and resident memory in MB."""

    cpu_s: float
    rss_mb: float


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a live process has used so far (``/proc/<pid>/stat``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICK


def usage(pid: int) -> Usage:
    """Read ``/proc/<pid>/stat`` and ``status``."""
    cpu = cpu_seconds(pid)
    rss_kb = next(
        (
            int(line.split()[1])
            for line in Path(f"/proc/{pid}/status").read_text().splitlines()
            if line.startswith("VmRSS:")
        ),
        None,
    )
    if rss_kb is None:  # a zombie: it exited and is not reaped yet
        raise ProcessLookupError(f"process {pid} has exited")
    return Usage(cpu, rss_kb / 1024)
