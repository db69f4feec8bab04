"""bench/smoke.py: the ``--smoke`` flag's parsing and the teardown every benchmark uses."""

from __future__ import annotations

import argparse
import subprocess
import sys

import pytest

from bench import smoke


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=3)
    return parser


def test_without_smoke_the_defaults_stay(capsys: pytest.CaptureFixture[str]) -> None:
    args = smoke.parse(_parser(), {"seconds": 1.0, "rounds": 1}, [])
    assert (args.smoke, args.seconds, args.rounds) == (False, 10.0, 3)
    assert capsys.readouterr().out == ""


def test_smoke_replaces_the_defaults_and_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    args = smoke.parse(_parser(), {"seconds": 1.0, "rounds": 1}, ["--smoke"])
    assert (args.smoke, args.seconds, args.rounds) == (True, 1.0, 1)
    assert capsys.readouterr().out == smoke.NOTE + "\n"


def test_a_size_on_the_command_line_wins_over_the_smoke_size() -> None:
    args = smoke.parse(_parser(), {"seconds": 1.0, "rounds": 1}, ["--smoke", "--rounds", "2"])
    assert (args.seconds, args.rounds) == (1.0, 2)


def test_stop_reaps_a_child_that_obeys_sigterm() -> None:
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    assert smoke.stop(proc, "sleeper", 10) == -15


def test_stop_kills_a_child_that_ignores_sigterm_and_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    code = "import signal as s, time; s.signal(s.SIGTERM, s.SIG_IGN); print(flush=True); time.sleep(60)"
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
    assert proc.stdout is not None
    proc.stdout.readline()  # its handler is in place
    assert smoke.stop(proc, "stubborn", 0.5) == -9
    assert (
        f"note: stubborn (pid {proc.pid}) still running 0.5 s after SIGTERM; killing it"
        in capsys.readouterr().out
    )
