"""Scenarios: scripted departures from normal behaviour, defined in the sim config and switched at run time.

Each ``[[scenarios]]`` entry names a ``kind``, the devices it affects (none = all) and, where it
matters, the parameters (none = all of the device's). A scenario is *active* from start-up when
``active = true``, otherwise from when the control channel starts it; ``duration`` (seconds) ends it
by itself. Kinds:

==============  ==================================================================================
pollution       ``parameter`` rises to ``multiple`` × its GB 3838 class III limit over ``rise`` s,
                holds ``hold`` s, and decays back over ``decay`` s (smooth; ends by itself)
flatline        values freeze at what they were when the scenario started (identical registers)
drift           values move by ``rate`` units per hour since the start
fault           status bit D (instrument fault) set, values unavailable (NaN or the sentinel)
maintenance     status bit M set; values keep coming
calibration     status bit C set; ``value`` (the standard's concentration) is shown if given
silent          the device does not answer at all (the client times out)
exception       the device answers with Modbus exception ``code`` (4 device failure, 6 busy, …)
slow            the device answers after ``delay`` seconds
garbage         ``count`` random bytes precede every answer on the device's serial line
==============  ==================================================================================
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field

from station.config import Model
from station.reading import Flag

#: GB 3838-2002 class III limits (mg/L; TP for rivers) for the items a pollution event can raise.
CLASS_III: dict[str, float] = {"codmn": 6.0, "cod": 20.0, "nh3n": 1.0, "tp": 0.2, "tn": 1.0, "bod5": 4.0}

_NAME = r"^[A-Za-z0-9_.\-]{1,64}$"


class _Base(Model):
    name: str = Field(pattern=_NAME)
    description: str = ""
    devices: tuple[str, ...] = Field(default=(), description="device names; empty = every device")
    parameters: tuple[str, ...] = Field(default=(), description="parameter codes; empty = all")
    active: bool = Field(default=False, description="on from start-up")
    duration: float | None = Field(default=None, gt=0, description="seconds until it ends by itself")

    def lasts(self) -> float | None:
        """Seconds after its start at which the scenario ends, or ``None`` (until stopped)."""
        return self.duration

    def touches(self, parameter: str) -> bool:
        """True when the scenario applies to ``parameter``."""
        return not self.parameters or parameter in self.parameters


class Pollution(_Base):
    """A pollution event: rise, hold, decay (seconds; use seconds in tests, an hour in demos)."""

    kind: Literal["pollution"]
    parameter: Literal["codmn", "cod", "nh3n", "tp", "tn", "bod5"]
    multiple: float = Field(default=4.0, gt=0, description="peak as a multiple of the class III limit")
    rise: float = Field(default=3600.0, gt=0)
    hold: float = Field(default=600.0, ge=0)
    decay: float = Field(default=3600.0, gt=0)

    def lasts(self) -> float:
        """A pollution event ends when it has decayed (or at ``duration``, if shorter)."""
        total = self.rise + self.hold + self.decay
        return min(total, self.duration) if self.duration else total

    def touches(self, parameter: str) -> bool:
        """Only the polluted parameter changes."""
        return parameter == self.parameter

    def envelope(self, elapsed: float) -> float:
        """0 → 1 over ``rise`` (smoothstep), 1 during ``hold``, then a smooth fall back to 0."""
        if elapsed < self.rise:
            x = elapsed / self.rise
        elif elapsed < self.rise + self.hold:
            return 1.0
        else:
            x = max(0.0, 1.0 - (elapsed - self.rise - self.hold) / self.decay)
        return x * x * (3 - 2 * x)

    def peak(self) -> float:
        """The concentration at the top of the event (mg/L)."""
        return self.multiple * CLASS_III[self.parameter]


class Flatline(_Base):
    """A stuck sensor: the value of the start instant, unchanged."""

    kind: Literal["flatline"]


class Drift(_Base):
    """A drifting sensor: ``rate`` units (the catalogue's) per hour, added since the start."""

    kind: Literal["drift"]
    rate: float


class Fault(_Base):
    """Instrument fault: status bit D and no values."""

    kind: Literal["fault"]


class Maintenance(_Base):
    """Maintenance window: status bit M."""

    kind: Literal["maintenance"]


class Calibration(_Base):
    """Calibration: status bit C, optionally the standard's value instead of the sample's."""

    kind: Literal["calibration"]
    value: float | None = None


class Silent(_Base):
    """The device does not answer."""

    kind: Literal["silent"]


class ModbusException(_Base):
    """The device answers with a Modbus exception code."""

    kind: Literal["exception"]
    code: Literal[1, 2, 3, 4, 5, 6, 10, 11] = 4


class Slow(_Base):
    """The device answers late."""

    kind: Literal["slow"]
    delay: float = Field(default=1.5, gt=0, le=60)


class Garbage(_Base):
    """Line noise: random bytes before every answer on a serial line."""

    kind: Literal["garbage"]
    count: int = Field(default=7, ge=1, le=256)


_Values = Pollution | Flatline | Drift | Fault | Maintenance | Calibration
_Protocol = Silent | ModbusException | Slow | Garbage
Scenario = Annotated[_Values | _Protocol, Field(discriminator="kind")]

_FLAGS: dict[str, Flag] = {"fault": Flag.D, "maintenance": Flag.M, "calibration": Flag.C}


def status_flag(scenario: Scenario) -> Flag | None:
    """The status bit a scenario sets, if any."""
    return _FLAGS.get(scenario.kind)


def apply_value(scenario: Scenario, value: float, frozen: float, elapsed: float) -> float:
    """The value a scenario shows, given the normal ``value`` now and ``frozen`` (the value at its start).

    NaN means "unavailable" (a fault).
    """
    match scenario:
        case Pollution():
            return value + (scenario.peak() - value) * scenario.envelope(elapsed)
        case Flatline():
            return frozen
        case Drift():
            return value + scenario.rate * elapsed / 3600.0
        case Fault():
            return math.nan
        case Calibration() if scenario.value is not None:
            return scenario.value
        case _:
            return value


def elapsed_since(started: datetime, at: datetime) -> float:
    """Seconds from ``started`` to ``at`` (never negative)."""
    return max(0.0, (at - started).total_seconds())
