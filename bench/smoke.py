"""What every benchmark shares: the ``--smoke`` flag and stopping the processes it started.

``--smoke`` runs the benchmark with tiny sizes and a second or two of measuring: every code path of the
real run (processes started, figures computed and printed, teardown) but figures that mean nothing.
``tests/bench/test_bench_smoke.py`` runs each benchmark that way, so one that no longer runs fails the
suite; timings are never asserted. Sizes given on the command line still win over the smoke sizes.
"""

from __future__ import annotations

import argparse
import subprocess
from collections.abc import Sequence
from typing import Any

NOTE = "smoke mode: tiny sizes, a second or two of measuring; the figures only show that the benchmark runs"


def parse(
    parser: argparse.ArgumentParser, smoke: dict[str, Any], argv: Sequence[str] | None = None
) -> argparse.Namespace:
    """Add ``--smoke`` to ``parser`` and parse; with it, ``smoke`` (dest -> value) replaces the defaults
    and a note saying so is printed first."""
    parser.add_argument(
        "--smoke", action="store_true", help="tiny sizes, a second or two of measuring: checks that it runs"
    )
    args = parser.parse_args(argv)
    if args.smoke:
        parser.set_defaults(**smoke)
        args = parser.parse_args(argv)
        print(NOTE, flush=True)
    return args


def stop(proc: subprocess.Popen[bytes], name: str, timeout: float = 20.0) -> int:
    """SIGTERM ``proc`` and reap it; if it is still up after ``timeout`` s, say so and SIGKILL it, so a
    benchmark never leaves a child behind. Its exit code (negative: the signal that ended it)."""
    if proc.poll() is None:
        proc.terminate()
    try:
        return proc.wait(timeout)
    except subprocess.TimeoutExpired:
        print(
            f"note: {name} (pid {proc.pid}) still running {timeout:g} s after SIGTERM; killing it", flush=True
        )
        proc.kill()
        return proc.wait(timeout)
