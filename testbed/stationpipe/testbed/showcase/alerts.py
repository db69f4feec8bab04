"""Warning instances grouped the way the demo shows them: one row per station and rule (a sonde fault
raises one instance per parameter, all alike), with each instance's sequence of states."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

from stationpipe.kernel.catalogue import CATALOGUE
from stationpipe.testbed.showcase.feeds import Seen


class LevelName(NamedTuple):
    """A warning level as operators name it (docs/domain.md#warning-levels-policy) and the colour shown."""

    zh: str
    en: str
    style: str


LEVELS: dict[int, LevelName] = {
    1: LevelName("蓝色", "blue", "bold bright_blue"),
    2: LevelName("黄色", "yellow", "bold yellow"),
    3: LevelName("橙色", "orange", "bold dark_orange"),
    4: LevelName("红色", "red", "bold red"),
}
RESOLVED = LevelName("已解除", "resolved", "green")


def name_of(level: int, state: str) -> LevelName:
    """How one state reads: its level's colour, or resolved."""
    return RESOLVED if state == "resolved" else LEVELS[level]


def sequence(states: list[Seen]) -> list[str]:
    """``["blue", "yellow", "orange", "blue", "resolved"]``: each change of level or state, once."""
    out: list[str] = []
    last: tuple[int, str] | None = None
    for s in states:
        if (s.level, s.state) != last:
            out.append(name_of(s.level, s.state).en)
            last = (s.level, s.state)
    return out


@dataclass
class Group:
    """The instances of one rule at one station, each with its states in order of arrival."""

    station: str
    rule: str
    instances: dict[str, list[Seen]] = field(default_factory=dict)
    newest: Seen | None = None

    def add(self, seen: Seen) -> None:
        """Take the next state."""
        self.instances.setdefault(seen.instance, []).append(seen)
        self.newest = seen

    @property
    def firing(self) -> list[Seen]:
        """Newest state of each instance that is firing now."""
        return [states[-1] for states in self.instances.values() if states[-1].state == "firing"]

    @property
    def level(self) -> int:
        """Highest level firing now, else the newest state's level."""
        firing = self.firing
        if firing:
            return max(s.level for s in firing)
        return self.newest.level if self.newest else 1

    @property
    def parameters(self) -> list[str]:
        """Symbols of the parameters (``NH3-N``), in order of first warning."""
        codes = [instance.split(".", 1)[-1] for instance in self.instances]
        return [CATALOGUE[c].symbol if c in CATALOGUE else c for c in codes]

    def sequence(self) -> list[str]:
        """The first instance's sequence (the others of a group follow the same course)."""
        return sequence(next(iter(self.instances.values()))) if self.instances else []


def groups(seen: list[Seen]) -> list[Group]:
    """Group states (in order of arrival) by station and rule, in order of each group's first state."""
    out: dict[tuple[str, str], Group] = {}
    for s in seen:
        out.setdefault((s.station, s.rule), Group(s.station, s.rule)).add(s)
    return list(out.values())


def instance_sequence(seen: list[Seen], station: str, instance: str) -> list[str]:
    """The sequence of one instance among ``seen`` (in the order given)."""
    return sequence([s for s in seen if s.station == station and s.instance == instance])
