"""What every driver has in common: the :class:`Poll` of one device, the :class:`Reader` the poller calls on
its grid, and the :class:`Driver` protocol.

A driver speaks one protocol on one link (a *line*, :class:`stationpipe.edge.config.Line`) for every device
configured with both, one request at a time. It is built once per line from the agent's configuration and
hands out one :class:`Reader` per device; the poller (:mod:`stationpipe.edge.poller`) keeps the grid
timing, the backoff, the availability and the metrics, and asks the reader for one poll per tick. A
*pushed* device (a GNSS receiver) reads its input in :meth:`Driver.run`; its reader then reports what came
in. Protocol errors are translated into ``DeviceError`` subclasses inside the driver, once.

``stationpipe edge --test`` (:mod:`stationpipe.edge.oneshot`) reads every device once through
:meth:`Reader.read_once`, while the drivers' :meth:`Driver.run` go on beside it: a polled device's reader
answers with its :meth:`Reader.poll`; a pushed device's reader first waits, within its own bound, for its
first input. A polled device's reader derives from :class:`PolledReader`, which gives it that and the
device's identity.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from stationpipe.edge.config import Device, EdgeConfig, Line
from stationpipe.kernel.errors import DeviceError
from stationpipe.kernel.qc import QcRecord
from stationpipe.kernel.reading import Reading


@dataclass(frozen=True, slots=True)
class Poll:
    """One poll of one device: its readings (flagged), the requests' errors, whether anything answered
    (``False`` backs the device off: its next polls yield :meth:`Reader.unanswered` without a request),
    and the quality-control checks the device showed for the first time (``qc``)."""

    readings: list[Reading]
    errors: tuple[DeviceError, ...] = ()
    answered: bool = True
    qc: tuple[QcRecord, ...] = ()


class Reader(Protocol):
    """One device as its driver reads it."""

    @property
    def name(self) -> str:
        """The device's name (the message's ``device``)."""

    @property
    def interval(self) -> float:
        """Seconds between polls, on the clock's grid."""

    async def poll(self) -> Poll:
        """Read the device once; failed requests give ``B`` readings of the points they cover."""

    def unanswered(self) -> list[Reading]:
        """The readings of a poll skipped while the device is backed off: every point, ``B``."""

    async def read_once(self) -> Poll:
        """One poll for a one-shot check (``--test``), while :meth:`Driver.run` runs: a polled device's
        :meth:`poll`; a pushed device waits for its first input within its own bound, and is not
        ``answered`` when nothing came. Bounded in time by the device's own timeouts."""


class PolledReader(ABC):
    """What every polled device's reader shares: the device, its station, name, interval and profile, and
    ``read_once`` as one :meth:`poll`. A driver's reader derives from it and adds ``poll`` and
    ``unanswered``; a pushed device (GNSS) implements :class:`Reader` itself."""

    def __init__(self, station: str, device: Device) -> None:
        self.device, self.station = device, station
        self.name, self.interval = device.name, device.interval
        self.profile = device.register_map

    @abstractmethod
    async def poll(self) -> Poll:
        """Read the device once (see :meth:`Reader.poll`)."""

    async def read_once(self) -> Poll:
        """A polled device: one poll."""
        return await self.poll()


class Driver(Protocol):
    """One protocol on one link, shared by the devices configured with both."""

    def readers(self) -> list[Reader]:
        """One reader per device on the line, in configuration order."""

    async def run(self) -> None:
        """What the driver does unasked (a pushed device's input) until cancelled; polled drivers return."""

    def close(self) -> None:
        """Drop the connection or close the port."""


#: Builds the driver of one line from the agent's configuration.
Factory = Callable[[EdgeConfig, Line], Driver]
