"""Processing steps between poll and spool (see :mod:`stationpipe.edge.steps.base`), applied in order.

=========== ===========================================================================================
fence       电子围栏: flag the readings taken while the station is outside its fence (:mod:`.fence`)
=========== ===========================================================================================

To add a step: one file here with a class that satisfies :class:`~.base.Step` and a factory that builds
it from the configuration (``None`` when not configured), and one entry in :data:`STEPS`, where its
place in the list is its place in the chain.
"""

from __future__ import annotations

from stationpipe.edge.steps.base import Factory, Step
from stationpipe.edge.steps.fence import fence_step

__all__ = ["STEPS", "Step"]

#: Every step's factory, in the order the steps apply.
STEPS: tuple[Factory, ...] = (fence_step,)
