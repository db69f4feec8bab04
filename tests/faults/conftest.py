"""The fault suite: each test runs a whole simulated deployment with its own Mosquitto and InfluxDB (the
faults kill them, so the session's shared ``services`` fixture is never used here) and prints its line,
``<fault>: produced N, stored N, lost N, duplicated N``; all lines are repeated at the end of the run.

CI windows are short; ``STATIONPIPE_FAULT_SECONDS`` (the fault window), ``STATIONPIPE_FAULT_STATIONS`` and
``STATIONPIPE_FAULT_INTERVAL`` lengthen them, and ``bench/faults_soak.py`` runs the long variants.
"""

from __future__ import annotations

import pytest

from tests.faults.harness import CI, LINES, Plan


@pytest.fixture
def plan() -> Plan:
    """The fault window and the deployment's size for this run."""
    return Plan.from_env(**CI)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Repeat every fault's figures at the end, where CI logs show them."""
    if LINES:
        terminalreporter.section("fault suite figures")
        for text in LINES:
            terminalreporter.write_line(text)
