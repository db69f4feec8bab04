"""Rivers of the registry: which sections lie along which river, in flow order, and how long water takes
from one to the next (the travel time of each reach, an earliest-latest range in hours).

Travel times are configuration, not standard values: they depend on the river's discharge and are the
operator's estimate (hydrological models, tracer tests, past events). A ``[[rivers]]`` entry::

    [[rivers]]
    name = "钱塘江"
    sections = ["zj-qtj-03", "zj-qtj-02", "zj-qtj-01"]   # station ids, upstream first
    travel_hours = [[4, 6], 3.5]                        # per reach: [earliest, latest] or one number
    flows_into = "zj-x-01"                              # optional: a confluence, the last section's next
    flows_into_hours = [1, 2]

Each section lies on one river; a tributary joins another river through ``flows_into`` (a confluence), so
every section has at most one downstream neighbour and the sections form a forest flowing downstream.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, NamedTuple

from pydantic import BeforeValidator, Field, model_validator

from stationpipe.kernel.config import Model


def _range(value: object) -> object:
    """``3.5`` -> ``(3.5, 3.5)``; a two-item list stays a pair (validated as such)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return (value, value)
    return value


#: A reach's travel time in hours: ``(earliest, latest)``; one number means both.
Travel = Annotated[
    tuple[Annotated[float, Field(ge=0, le=24 * 60)], Annotated[float, Field(ge=0, le=24 * 60)]],
    BeforeValidator(_range),
]


class River(Model):
    """One river: its sections in flow order and the travel time of each reach between them."""

    name: str = Field(min_length=1, max_length=64)
    sections: tuple[str, ...] = Field(min_length=1, description="station ids, upstream first")
    travel_hours: tuple[Travel, ...] = Field(default=(), description="one per reach: len(sections) - 1")
    flows_into: str | None = Field(default=None, description="the section of another river it joins")
    flows_into_hours: Travel | None = None

    @model_validator(mode="after")
    def _shape(self) -> River:
        if len(self.travel_hours) != len(self.sections) - 1:
            raise ValueError(
                f"travel_hours needs {len(self.sections) - 1} reach(es) for {len(self.sections)} "
                f"sections, got {len(self.travel_hours)}"
            )
        for i, (early, late) in enumerate(self.travel_hours):
            if early > late:
                raise ValueError(f"travel_hours[{i}]: earliest {early:g} h is after latest {late:g} h")
        if (self.flows_into is None) != (self.flows_into_hours is None):
            raise ValueError("give flows_into and flows_into_hours together")
        if self.flows_into_hours is not None and self.flows_into_hours[0] > self.flows_into_hours[1]:
            raise ValueError("flows_into_hours: earliest is after latest")
        return self


class Reach(NamedTuple):
    """A section downstream of another: how many reaches away and the cumulated travel time (hours)."""

    station: str
    reaches: int
    earliest_h: float
    latest_h: float
    river: str


class Site(NamedTuple):
    """What the river check needs to know of a station: whether it is a water station, its river."""

    water: bool
    river: str


def _where(i: int, j: int) -> str:
    return f"rivers[{i}].sections[{j}]"


def check(rivers: tuple[River, ...], sites: Mapping[str, Site]) -> None:
    """Validate rivers against the stations; ``ValueError`` naming the key (``rivers[1].sections[2]``)."""
    names: dict[str, int] = {}
    on: dict[str, tuple[str, int]] = {}  # station -> (river, index of the river)
    for i, river in enumerate(rivers):
        if river.name in names:
            raise ValueError(f"rivers[{i}].name: river {river.name!r} is also rivers[{names[river.name]}]")
        names[river.name] = i
        for j, station in enumerate(river.sections):
            if station in on:
                other, k = on[station]
                where = "twice on this river (a cycle)" if k == i else f"also on {other!r} (rivers[{k}])"
                raise ValueError(
                    f"{_where(i, j)}: section {station!r} is {where}; "
                    "a tributary joins another river with flows_into"
                )
            _check_site(i, j, river, station, sites)
            on[station] = (river.name, i)
    for i, river in enumerate(rivers):
        if river.flows_into is not None and river.flows_into not in on:
            raise ValueError(f"rivers[{i}].flows_into: {river.flows_into!r} is not a section of any river")
    _acyclic(rivers)


def _check_site(i: int, j: int, river: River, station: str, sites: Mapping[str, Site]) -> None:
    site = sites.get(station)
    if site is None:
        raise ValueError(f"{_where(i, j)}: unknown station {station!r} (not in [[stations]])")
    if not site.water:
        raise ValueError(f"{_where(i, j)}: station {station!r} is not a water station")
    if site.river and site.river != river.name:
        raise ValueError(
            f"{_where(i, j)}: station {station!r} says river {site.river!r}, but is listed on {river.name!r}"
        )


def _acyclic(rivers: tuple[River, ...]) -> None:
    """Rivers joining each other in a loop (A flows into B, B into A) are an error naming the loop."""
    of = {s: r for r in rivers for s in r.sections}
    for i, river in enumerate(rivers):
        seen = [river.name]
        target = river.flows_into
        while target is not None:
            nxt = of[target]
            if nxt.name in seen:
                loop = " -> ".join([*seen, nxt.name])
                raise ValueError(f"rivers[{i}].flows_into: the rivers flow in a cycle: {loop}")
            seen.append(nxt.name)
            target = nxt.flows_into


class Network(NamedTuple):
    """The checked rivers as a map: each section's downstream neighbour and its river."""

    nexts: Mapping[str, tuple[str, tuple[float, float]]]
    river_of: Mapping[str, str]

    @classmethod
    def of(cls, rivers: tuple[River, ...]) -> Network:
        """The network of checked (acyclic) rivers."""
        nexts: dict[str, tuple[str, tuple[float, float]]] = {}
        river_of: dict[str, str] = {}
        for river in rivers:
            river_of.update(dict.fromkeys(river.sections, river.name))
            # n sections, n - 1 reaches
            pairs = zip(river.sections, river.sections[1:], river.travel_hours, strict=False)
            nexts.update((here, (there, travel)) for here, there, travel in pairs)
            if river.flows_into is not None and river.flows_into_hours is not None:
                nexts[river.sections[-1]] = (river.flows_into, river.flows_into_hours)
        return cls(nexts, river_of)

    def downstream(self, station: str) -> tuple[Reach, ...]:
        """The sections below ``station`` in flow order, with cumulated travel times (hours)."""
        out: list[Reach] = []
        early = late = 0.0
        here = station
        while (step := self.nexts.get(here)) is not None:
            here, (e, lt) = step
            early, late = early + e, late + lt
            out.append(Reach(here, len(out) + 1, early, late, self.river_of[here]))
        return tuple(out)
