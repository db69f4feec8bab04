"""Outputs: the ways readings leave the station (see :mod:`stationpipe.edge.outputs.base`).

=========== ===========================================================================================
mqtt        readings messages at QoS 1 through the on-disk spool (:mod:`.mqtt`); always on
hj212       HJ 212 (2017, 2025) records to a platform over TCP, kept until its 9014 (:mod:`.hj212`)
=========== ===========================================================================================

To add an output: one file here with a class that satisfies :class:`~.base.Output` (keep what it accepts
on disk until the other side acknowledges it) and a factory returning ``None`` when it is not
configured, one entry in :data:`OUTPUTS`, and its settings table in ``EdgeConfig``.
"""

from __future__ import annotations

from stationpipe.edge.outputs.base import Context, Factory, Output
from stationpipe.edge.outputs.hj212 import hj212_output
from stationpipe.edge.outputs.mqtt import mqtt_output

__all__ = ["OUTPUTS", "Context", "Output"]

#: Every output's factory; each poll reaches them in this order.
OUTPUTS: tuple[Factory, ...] = (mqtt_output, hj212_output)
