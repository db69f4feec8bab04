"""What every output has in common: the :class:`Output` protocol and the factory that builds one.

An output takes every poll's readings after the steps (:mod:`stationpipe.edge.steps`) and delivers them
its own way, keeping them on disk until the other side has them. :meth:`Output.accept` runs on every poll
inside the event loop: it stores and returns at once; :meth:`Output.run` does the sending.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from stationpipe.edge.config import EdgeConfig
from stationpipe.edge.metrics import EdgeMetrics
from stationpipe.kernel.qc import QcRecord
from stationpipe.kernel.reading import Reading


class Output(Protocol):
    """One way out of the station."""

    def accept(self, device: str, readings: list[Reading]) -> None:
        """Keep one poll's readings for sending (quick, never waits on the network)."""

    def accept_qc(self, records: tuple[QcRecord, ...]) -> None:
        """Keep a poll's new quality-control checks for sending, or say why this output does not."""

    async def run(self) -> None:
        """Send until cancelled, reconnecting as needed; what is not acknowledged stays kept."""

    def close(self) -> None:
        """Close what it keeps on disk."""


@dataclass(frozen=True, slots=True)
class Context:
    """What the agent gives every output beside the configuration."""

    metrics: EdgeMetrics
    health: Callable[[], str]  # "devices 3/4 answering", for the status message


#: Builds an output from the configuration; ``None`` when it is not configured.
Factory = Callable[[EdgeConfig, Context], Output | None]
