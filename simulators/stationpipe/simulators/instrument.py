"""A simulated instrument: a profile bound to a station model, a unit id and the scenario board."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from stationpipe.kernel.reading import Flag
from stationpipe.kernel.registermap import Profile, RegisterType
from stationpipe.simulators.board import Board, Effects
from stationpipe.simulators.encode import point_registers, status_words
from stationpipe.simulators.model import StationModel
from stationpipe.simulators.qc_schedule import QcSchedule, block_registers, latest_check

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
    qc: QcSchedule | None = None

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
        for block in self.profile.qc:
            if block.table == table.value:
                shown = latest_check(self.qc, self.full_scale(block.parameter), at) if self.qc else None
                out.update(block_registers(self.profile, block, shown))
        return out

    def full_scale(self, parameter: str) -> float:
        """The upper end of the parameter's measuring range in the profile (1.0 when it gives none)."""
        ranges = [p.range[1] for p in self.profile.points if p.parameter == parameter and p.range]
        return ranges[0] if ranges else 1.0

    def flag(self, effects: Effects) -> Flag:
        """The instrument's state as one HJ 212 flag: D, C or M while set (worst first), else N."""
        return next((f for f in FLAG_ORDER if f in effects.flags), Flag.N)
