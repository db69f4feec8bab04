"""What every processing step has in common: the :class:`Step` protocol and the factory that builds one.

A step sits between poll and spool: it gets every poll's readings (by device name) and returns what the
outputs receive, in order of :data:`stationpipe.edge.steps.STEPS`. It is synchronous and quick: it runs
on every poll, inside the event loop.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from stationpipe.edge.config import EdgeConfig
from stationpipe.edge.drivers.base import Driver
from stationpipe.kernel.reading import Reading


class Step(Protocol):
    """One processing step of every poll."""

    def apply(self, device: str, readings: list[Reading]) -> list[Reading]:
        """What ``device``'s readings become (the same list when the step has nothing to say)."""


#: Builds a step from the configuration and the station's drivers; ``None`` when it is not configured.
Factory = Callable[[EdgeConfig, Sequence[Driver]], Step | None]
