"""Scenarios: scripted departures from normal behaviour, defined in the sim config and switched at run time.

Each ``[[scenarios]]`` entry names a ``kind``, the devices it affects (none = all) and, where it
matters, the parameters (none = all of the device's). A scenario is *active* from start-up when
``active = true``, otherwise from when the control channel starts it; ``duration`` (seconds) ends it
by itself. Kinds:

==============  ==================================================================================
pollution       ``parameter`` rises to ``multiple`` × its GB 3838 class III limit over ``rise`` s,
                holds ``hold`` s, and decays back over ``decay`` s (smooth; ends by itself)
wave            the same pollution event travelling down a river: it reaches each of its ``stops``
                (devices of one section) ``after_hours`` of river time after the start, divided by
                ``time_factor`` (60: an hour of travel in a minute); no ``devices``, the stops name them
flatline        values freeze at what they were when the scenario started (identical registers)
drift           values move by ``rate`` units per hour since the start
fault           status bit D (instrument fault) set, values unavailable (NaN or the sentinel)
maintenance     status bit M set; values keep coming
calibration     status bit C set; ``value`` (the standard's concentration) is shown if given
silent          the device does not answer at all (the client times out); on a DTU (``[[dtus]]``), the
                DTU stays connected and sends heartbeats but passes nothing to its serial bus
offline         a DTU drops its connection and stays off while it lasts, then redials
exception       the device answers with Modbus exception ``code`` (4 device failure, 6 busy, …)
slow            the device answers after ``delay`` seconds
garbage         ``count`` random bytes precede every answer on the device's serial line
leak            ``parameter`` climbs to ``peak`` (its catalogue unit) over ``rise`` s, holds ``hold`` s,
                falls back over ``decay`` s: a toxic-gas leak (or a release plume on gamma)
rain            the rain sensor (``parameter``, mm per reading) shows ``amount`` while it lasts
washout         rain-induced gamma rise: ``+increase`` nGy/h approached with time constant ``build`` s
                for ``rain_for`` s, then halving every ``half_life`` s (start it with a ``rain``)
==============  ==================================================================================
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from stationpipe.kernel.catalogue import CATALOGUE
from stationpipe.kernel.config import Model
from stationpipe.kernel.reading import Flag
from stationpipe.kernel.registry import WaterBody, WaterClass
from stationpipe.standards.gb3838 import limits_for

#: GB 3838-2002 class III limits (mg/L; TP for rivers) of the items a pollution event can raise, read from
#: the standard's own table (stationpipe.standards.gb3838), never typed again here.
CLASS_III: dict[str, float] = {
    code: limits_for(code, WaterBody.RIVER).limit(WaterClass.III)
    for code in ("codmn", "cod", "nh3n", "tp", "tn", "bod5")
}

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

    def offset(self, device: str) -> float | None:
        """Seconds after its start at which the scenario reaches ``device``; ``None``: never."""
        return 0.0 if not self.devices or device in self.devices else None

    def named(self) -> tuple[str, ...]:
        """Every device the scenario names."""
        return self.devices


class _Event(_Base):
    """A pollution event's shape: rise, hold, decay (seconds; use seconds in tests, an hour in demos)."""

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


class Pollution(_Event):
    """A pollution event at the scenario's devices."""

    kind: Literal["pollution"]


class Stop(Model):
    """Where a wave passes: the devices of one section, and the river time from the wave's start there."""

    devices: tuple[str, ...] = Field(min_length=1)
    after_hours: float = Field(ge=0, description="hours of river travel from the start (the first stop: 0)")


class Wave(_Event):
    """A pollution wave down a river: the event reaches each stop ``after_hours`` / ``time_factor`` later
    (the travel times are the simulation's, like the registry's: configuration, not standard values)."""

    kind: Literal["wave"]
    stops: tuple[Stop, ...] = Field(min_length=1)
    time_factor: float = Field(default=1.0, gt=0, description="river hours per simulated hour")

    @model_validator(mode="after")
    def _stops_name_devices(self) -> Wave:
        if self.devices:
            raise ValueError("a wave names its devices in stops, not in devices")
        return self

    def offset(self, device: str) -> float | None:
        """Seconds after the start at which the wave reaches ``device`` (its first stop there)."""
        hours = [s.after_hours for s in self.stops if device in s.devices]
        return min(hours) * 3600.0 / self.time_factor if hours else None

    def named(self) -> tuple[str, ...]:
        """The devices of every stop."""
        return tuple(d for s in self.stops for d in s.devices)

    def lasts(self) -> float:
        """Until the event has passed the last stop (or ``duration``, if shorter)."""
        last = max(s.after_hours for s in self.stops) * 3600.0 / self.time_factor
        total = last + self.rise + self.hold + self.decay
        return min(total, self.duration) if self.duration else total


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


class Offline(_Base):
    """A DTU off the air: it drops its connection and dials in again when the scenario ends."""

    kind: Literal["offline"]


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


class Leak(_Base):
    """A leak reaching the station (化工园区泄漏; on gamma, a release plume): ``parameter`` climbs
    linearly to ``peak`` (its catalogue unit, mg/m3 or nGy/h) over ``rise`` s, holds ``hold`` s,
    and falls back over ``decay`` s."""

    kind: Literal["leak"]
    parameter: str
    peak: float = Field(gt=0)
    rise: float = Field(default=60.0, gt=0)
    hold: float = Field(default=300.0, ge=0)
    decay: float = Field(default=600.0, gt=0)

    @field_validator("parameter")
    @classmethod
    def _known(cls, code: str) -> str:
        if code not in CATALOGUE:
            raise ValueError(f"unknown parameter code {code!r}")
        return code

    def lasts(self) -> float:
        """A leak ends when it has fallen back (or at ``duration``, if shorter)."""
        total = self.rise + self.hold + self.decay
        return min(total, self.duration) if self.duration else total

    def touches(self, parameter: str) -> bool:
        """Only the leaking gas changes."""
        return parameter == self.parameter

    def share(self, elapsed: float) -> float:
        """0 -> 1 over ``rise``, 1 during ``hold``, 1 -> 0 over ``decay`` (linear: a plume front is sharp)."""
        if elapsed < self.rise:
            return elapsed / self.rise
        return max(0.0, min(1.0, 1.0 - (elapsed - self.rise - self.hold) / self.decay))


class Rain(_Base):
    """Rain on the station's rain sensor: ``parameter`` shows ``amount`` (mm per reading) while it lasts."""

    kind: Literal["rain"]
    parameter: str = "rain"
    amount: float = Field(default=0.2, gt=0)

    def touches(self, parameter: str) -> bool:
        """Only the rain sensor."""
        return parameter == self.parameter


class Washout(_Base):
    """雨致升高: radon progeny washed out by rain raise the gamma dose rate. ``parameter`` rises towards
    ``+increase`` with time constant ``build`` s while it rains (``rain_for`` s), then the increase halves
    every ``half_life`` s (Pb-214 and Bi-214, about 27 and 20 min, make the real one about half an hour).
    Start it together with a ``rain`` scenario that lasts ``rain_for``."""

    kind: Literal["washout"]
    parameter: str = "gamma"
    increase: float = Field(default=30.0, gt=0)
    build: float = Field(default=600.0, gt=0)
    rain_for: float = Field(default=3600.0, gt=0)
    half_life: float = Field(default=1800.0, gt=0)

    def lasts(self) -> float:
        """Ten half-lives after the rain (or ``duration``, if shorter)."""
        total = self.rain_for + 10 * self.half_life
        return min(total, self.duration) if self.duration else total

    def touches(self, parameter: str) -> bool:
        """Only the dose rate."""
        return parameter == self.parameter

    def increment(self, elapsed: float) -> float:
        """The added dose rate ``elapsed`` s after the rain began."""
        grown = self.increase * (1.0 - math.exp(-min(elapsed, self.rain_for) / self.build))
        if elapsed <= self.rain_for:
            return grown
        return grown * math.pow(0.5, (elapsed - self.rain_for) / self.half_life)


_Values = Pollution | Wave | Flatline | Drift | Fault | Maintenance | Calibration | Leak | Rain | Washout
_Protocol = Silent | ModbusException | Slow | Garbage | Offline
Scenario = Annotated[_Values | _Protocol, Field(discriminator="kind")]

_FLAGS: dict[str, Flag] = {"fault": Flag.D, "maintenance": Flag.M, "calibration": Flag.C}


def status_flag(scenario: Scenario) -> Flag | None:
    """The status bit a scenario sets, if any."""
    return _FLAGS.get(scenario.kind)


def apply_value(scenario: Scenario, value: float, frozen: float, elapsed: float) -> float:  # noqa: PLR0911
    """The value a scenario shows, given the normal ``value`` now and ``frozen`` (the value at its start).

    NaN means "unavailable" (a fault).
    """
    match scenario:
        case Pollution() | Wave():
            return value + (scenario.peak() - value) * scenario.envelope(elapsed)
        case Flatline():
            return frozen
        case Drift():
            return value + scenario.rate * elapsed / 3600.0
        case Fault():
            return math.nan
        case Calibration() if scenario.value is not None:
            return scenario.value
        case Leak():
            return value + (scenario.peak - value) * scenario.share(elapsed)
        case Rain():
            return scenario.amount
        case Washout():
            return value + scenario.increment(elapsed)
        case _:
            return value


def elapsed_since(started: datetime, at: datetime) -> float:
    """Seconds from ``started`` to ``at`` (never negative)."""
    return max(0.0, (at - started).total_seconds())
