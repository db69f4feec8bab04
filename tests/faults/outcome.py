"""What a fault leaves: its figures (readings, warnings, observations) and the lines it prints."""

from __future__ import annotations

import signal
import subprocess
from dataclasses import dataclass, field

from tests.faults.harness import report
from tests.faults.ledger import EdgeRecord, Key, Tally
from tests.faults.warnings import WarningTally


@dataclass
class Outcome:
    """A fault's figures: readings, warnings (rules-path faults) and what was observed on the way."""

    readings: Tally
    warnings: WarningTally | None = None
    records: list[EdgeRecord] = field(default_factory=list)
    seen: dict[str, object] = field(default_factory=dict)
    found: dict[Key, tuple[object, ...]] = field(default_factory=dict)  # the points stored

    def print(self) -> None:
        """The fault's lines: the figures, then the details behind them."""
        lines = [self.readings.line()]
        if self.warnings is not None:
            lines.append(self.warnings.line())
        lines.append(self.readings.details())
        if self.warnings is not None:
            lines.append(self.warnings.details())
        if self.seen:
            lines.append(
                f"{self.readings.fault}: " + "; ".join(f"{k} {text(v)}" for k, v in self.seen.items())
            )
        report(*lines)


def text(value: object) -> str:
    """A figure as text: a mapping as ``key value, …`` (tuple keys joined with a space)."""
    if isinstance(value, dict):
        return ", ".join(f"{' '.join(k) if isinstance(k, tuple) else k} {v}" for k, v in value.items())
    return str(value)


def kill(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
