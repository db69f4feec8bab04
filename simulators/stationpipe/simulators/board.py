"""The scenario board: which scenarios are on, since when, and what they do to one device at one instant.

The board is the only mutable state of a simulation. The control channel starts and stops scenarios
on it; servers ask it for the ``Effects`` on a device at the instant of each request.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from stationpipe.kernel.reading import Flag, utc_now
from stationpipe.kernel.wire import rfc3339
from stationpipe.simulators.model import StationModel
from stationpipe.simulators.scenarios import (
    Garbage,
    ModbusException,
    Offline,
    Scenario,
    Silent,
    Slow,
    apply_value,
    elapsed_since,
    status_flag,
)

log = logging.getLogger(__name__)


class UnknownScenarioError(KeyError):
    """The control channel named a scenario the config does not define."""


@dataclass(frozen=True)
class Effects:
    """What the active scenarios do to one device at one instant."""

    flags: frozenset[Flag] = frozenset()
    silent: bool = False
    offline: bool = False
    exception: int | None = None
    delay: float = 0.0
    garbage: int = 0
    changes: tuple[tuple[Scenario, datetime], ...] = ()

    def value(self, model: StationModel, parameter: str, at: datetime) -> float:
        """The value ``parameter`` shows at ``at`` after every value-changing scenario (NaN = none)."""
        value = model.value(parameter, at)
        for scenario, started in self.changes:
            if scenario.touches(parameter):
                frozen = model.value(parameter, started)
                value = apply_value(scenario, value, frozen, elapsed_since(started, at))
        return value

    def is_normal(self) -> bool:
        """True when nothing is active for the device."""
        return self == NORMAL


NORMAL = Effects()


def _merge(effects: Effects, scenario: Scenario, started: datetime) -> Effects:
    flag = status_flag(scenario)
    match scenario:
        case Silent():
            return _replace(effects, silent=True)
        case Offline():
            return _replace(effects, offline=True)
        case ModbusException():
            return _replace(effects, exception=scenario.code)
        case Slow():
            return _replace(effects, delay=max(effects.delay, scenario.delay))
        case Garbage():
            return _replace(effects, garbage=max(effects.garbage, scenario.count))
    changes = (*effects.changes, (scenario, started))
    flags = effects.flags | {flag} if flag is not None else effects.flags
    return _replace(effects, flags=flags, changes=changes)


def _replace(effects: Effects, **kw: Any) -> Effects:
    return Effects(**{**effects.__dict__, **kw})


@dataclass
class Board:
    """Scenario definitions and the active ones (name -> start instant)."""

    scenarios: dict[str, Scenario]
    active: dict[str, datetime] = field(default_factory=dict)

    @classmethod
    def of(cls, scenarios: tuple[Scenario, ...], now: datetime | None = None) -> Board:
        """A board with the ``active = true`` scenarios already started at ``now``."""
        board = cls({s.name: s for s in scenarios})
        for s in scenarios:
            if s.active:
                board.start(s.name, now)
        return board

    def _get(self, name: str) -> Scenario:
        try:
            return self.scenarios[name]
        except KeyError:
            raise UnknownScenarioError(name) from None

    def start(self, name: str, at: datetime | None = None) -> None:
        """Start (or restart from now) a scenario."""
        self._get(name)
        self.active[name] = at or utc_now()
        log.info("scenario %s started", name)

    def stop(self, name: str) -> None:
        """Stop a scenario (no-op when it is not active)."""
        self._get(name)
        if self.active.pop(name, None) is not None:
            log.info("scenario %s stopped", name)

    def _running(self, name: str, at: datetime) -> bool:
        started = self.active.get(name)
        if started is None:
            return False
        lasts = self.scenarios[name].lasts()
        if lasts is not None and elapsed_since(started, at) >= lasts:
            del self.active[name]
            log.info("scenario %s ended", name)
            return False
        return True

    def effects(self, device: str, at: datetime) -> Effects:
        """The effects on ``device`` at ``at`` (scenarios past their duration end here)."""
        if not self.active:
            return NORMAL
        out = NORMAL
        for name in list(self.active):
            offset = self.scenarios[name].offset(device)
            if offset is not None and self._running(name, at):
                out = _merge(out, self.scenarios[name], self.active[name] + timedelta(seconds=offset))
        return out

    def describe(self, at: datetime | None = None) -> list[dict[str, Any]]:
        """Every scenario with its state, for the control channel."""
        at = at or utc_now()
        out = []
        for name, s in self.scenarios.items():
            running = self._running(name, at)
            started = self.active.get(name)
            out.append(
                {
                    "name": name,
                    "kind": s.kind,
                    "devices": list(s.named()),
                    "active": running,
                    "started": rfc3339(started) if started else None,
                    "lasts": s.lasts(),
                }
            )
        return out
