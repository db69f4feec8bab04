"""The electronic fence as a step: while the station is outside its registered radius, the other devices'
normal readings are flagged (policy and state in :mod:`stationpipe.edge.fence`, fed by the GNSS driver)."""

from __future__ import annotations

from collections.abc import Sequence

from stationpipe.edge.config import EdgeConfig
from stationpipe.edge.drivers.base import Driver
from stationpipe.edge.drivers.gnss import GnssDriver
from stationpipe.edge.fence import FenceState
from stationpipe.kernel.reading import Reading, utc_now


class FenceStep:
    """Flags what is read outside the fence; the receiver's own readings pass as they are."""

    def __init__(self, state: FenceState, receiver: str) -> None:
        self.state, self.receiver = state, receiver

    def apply(self, device: str, readings: list[Reading]) -> list[Reading]:
        """Another device's poll, flagged while the station is outside its fence (docs/fence.md)."""
        return readings if device == self.receiver else self.state.apply(readings, utc_now())


def fence_step(config: EdgeConfig, drivers: Sequence[Driver]) -> FenceStep | None:
    """The fence of the station's GNSS receiver (``[gnss]``, with its ``fence``); ``None`` without one."""
    if config.gnss is None:
        return None
    receiver = next((d for d in drivers if isinstance(d, GnssDriver)), None)
    return None if receiver is None else FenceStep(receiver.state, receiver.name)
