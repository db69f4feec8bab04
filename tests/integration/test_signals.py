"""A service stopping on SIGINT exits 0 even when SIGTERMs follow while it stops (a supervisor following up
an operator's Ctrl-C): the default action of a second signal must not kill it half-way (exit -15)."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from stationpipe.testbed.pipeline import SimStation, sim_toml
from stationpipe.testbed.services import free_port, tcp_open, wait_until

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("delay", [0.0, 0.005, 0.02])
def test_signals_while_stopping_do_not_kill(tmp_path: Path, delay: float) -> None:
    port = free_port()
    config = tmp_path / "sim.toml"
    config.write_text(sim_toml([SimStation("sig-01", "II", seed=1, port=port)]))
    argv = [sys.executable, "-m", "stationpipe", "sim", "--config", str(config)]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_until(lambda: tcp_open("127.0.0.1", port), timeout=20, what="the simulator", proc=proc)
        proc.send_signal(signal.SIGINT)
        for _ in range(20):
            try:
                proc.wait(timeout=delay)  # stopped: no more signals to send
                break
            except subprocess.TimeoutExpired:
                proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.stderr is not None
    assert code == 0, proc.stderr.read().decode(errors="replace")[-2000:]
