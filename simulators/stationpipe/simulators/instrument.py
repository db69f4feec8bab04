"""A simulated instrument: a profile bound to a station model, a unit id and the scenario board."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from stationpipe.kernel.reading import Flag
from stationpipe.kernel.registermap import Profile, RegisterType
from stationpipe.simulators.board import Board, Effects
from stationpipe.simulators.encode import point_registers, status_words
from stationpipe.simulators.model import StationModel

#: Which flag an instrument reports when several status bits are set (worst first).
FLAG_ORDER = (Flag.D, Flag.C, Flag.M)


@dataclass(frozen=True)
class Instrument:
    """A profile bound to a model, a unit id and the scenario board (``name`` is the sim device name)."""

    name: str
    profile: Profile
    model: StationModel
    unit: int
    board: Board

    def effects(self, at: datetime) -> Effects:
        """What the active scenarios do to this instrument now."""
        return self.board.effects(self.name, at)

    def shown(self, table: RegisterType, at: datetime, effects: Effects) -> dict[int, list[int]]:
        """Registers of ``table`` by PDU address, as the instrument shows them at ``at``."""
        out = {
            addr: [word]
            for (tab, addr), word in status_words(self.profile, effects.flags).items()
            if tab is table
        }
        for point in self.profile.points:
            if point.table is table:
                value = effects.value(self.model, point.parameter, at)
                out[self.profile.pdu_address(point.address)] = point_registers(point, value)
        return out

    def flag(self, effects: Effects) -> Flag:
        """The instrument's state as one HJ 212 flag: D, C or M while set (worst first), else N."""
        return next((f for f in FLAG_ORDER if f in effects.flags), Flag.N)
