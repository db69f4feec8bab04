"""The station / section registry: who each station is, where, and what its section must meet.

A registry file (``kind = "registry"``) lists ``[[stations]]``. Water stations need a target class
and a water body (GB 3838 has two TP columns); gas stations the chemical park they watch; ids are unique.
``[[rivers]]`` (optional) order the water sections along each river with the travel time of each reach
(:mod:`stationpipe.kernel.rivers`): the upstream-to-downstream pre-warnings follow them.
"""

from __future__ import annotations

from enum import IntEnum, StrEnum
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from stationpipe.kernel.catalogue import Kind
from stationpipe.kernel.config import Model, load
from stationpipe.kernel.rivers import Network, Reach, River, Site, check


class WaterClass(IntEnum):
    """GB 3838-2002 classes; 6 stands for 劣Ⅴ (worse than V)."""

    I = 1  # noqa: E741 - the standard's own numeral
    II = 2
    III = 3
    IV = 4
    V = 5
    WORSE_THAN_V = 6

    @property
    def label(self) -> str:
        """Roman numeral as operators write it (劣Ⅴ for class 6)."""
        return ("Ⅰ", "Ⅱ", "Ⅲ", "Ⅳ", "Ⅴ", "劣Ⅴ")[self.value - 1]

    @classmethod
    def parse(cls, text: str | int) -> WaterClass:
        """Accept ``"III"``, ``"Ⅲ"``, ``3`` or ``"3"``; ``ValueError`` otherwise."""
        if isinstance(text, int):
            return cls(text)
        norm = text.strip().upper()
        romans = {
            "I": 1,
            "II": 2,
            "III": 3,
            "IV": 4,
            "V": 5,
            "Ⅰ": 1,
            "Ⅱ": 2,
            "Ⅲ": 3,
            "Ⅳ": 4,
            "Ⅴ": 5,
            "劣V": 6,
            "劣Ⅴ": 6,
            "WORSE_THAN_V": 6,
        }
        if norm in romans:
            return cls(romans[norm])
        if norm.isdigit() and 1 <= int(norm) <= 6:
            return cls(int(norm))
        raise ValueError(f"{text!r} is not a water class (I, II, III, IV, V)")


class WaterBody(StrEnum):
    """Which GB 3838 TP column applies."""

    RIVER = "river"
    LAKE_RESERVOIR = "lake_reservoir"


class StationInfo(Model):
    """One station and, for water, its monitoring section."""

    id: str = Field(pattern=r"^[A-Za-z0-9_.\-]{1,128}$")
    name: str = Field(min_length=1, description="operator-facing name, usually Chinese")
    kind: Kind
    city: str = ""
    river: str = ""
    section: str = ""
    target_class: WaterClass | None = None
    water_body: WaterBody | None = None
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    hj212_mn: str | None = Field(
        default=None, max_length=64, description="MN of the station's HJ 212 data logger"
    )
    park: str = Field(default="", description="chemical park (化工园区) of a gas station, in its warnings")
    plant: str = Field(default="", description="nuclear plant (核电厂) a radiation station surrounds")
    drinking_source: bool = Field(
        default=False,
        description="a centralised drinking-water source (集中式生活饮用水水源地): GB 3838 Tables 2-3",
    )

    @field_validator("target_class", mode="before")
    @classmethod
    def _parse_class(cls, value: object) -> object:
        return WaterClass.parse(value) if isinstance(value, str | int) else value

    @model_validator(mode="after")
    def _water_needs_target(self) -> StationInfo:
        if self.kind is Kind.WATER and (self.target_class is None or self.water_body is None):
            raise ValueError("a water station needs target_class and water_body")
        return self

    @model_validator(mode="after")
    def _source_is_water(self) -> StationInfo:
        if self.drinking_source and self.kind is not Kind.WATER:
            raise ValueError("only a water station can be a drinking-water source (drinking_source)")
        return self

    @model_validator(mode="after")
    def _gas_needs_park(self) -> StationInfo:
        if self.kind is Kind.GAS and not self.park.strip():
            raise ValueError("a gas station needs park (the chemical park its warnings name)")
        return self


class Registry(Model):
    """All stations known to a deployment, by id."""

    kind: Literal["registry"] = "registry"
    stations: tuple[StationInfo, ...]
    rivers: tuple[River, ...] = ()

    @field_validator("stations")
    @classmethod
    def _unique(cls, stations: tuple[StationInfo, ...]) -> tuple[StationInfo, ...]:
        seen: set[str] = set()
        for s in stations:
            if s.id in seen:
                raise ValueError(f"station id {s.id!r} appears twice")
            seen.add(s.id)
        return stations

    @model_validator(mode="after")
    def _rivers(self) -> Registry:
        check(self.rivers, {s.id: Site(s.kind is Kind.WATER, s.river) for s in self.stations})
        return self

    def network(self) -> Network:
        """The rivers as a downstream map (built on each call: keep it)."""
        return Network.of(self.rivers)

    def downstream(self, station_id: str) -> tuple[Reach, ...]:
        """The sections below ``station_id`` in flow order with cumulated travel times; ``()`` if none."""
        return self.network().downstream(station_id)

    def get(self, station_id: str) -> StationInfo:
        """The station with this id; ``KeyError`` naming it when unknown."""
        for s in self.stations:
            if s.id == station_id:
                return s
        raise KeyError(f"station {station_id!r} is not in the registry")


def load_registry(path: Path | str) -> Registry:
    """Load and validate a registry file."""
    return load(path, Registry)
