"""Rule definitions of a ``kind = "rules"`` file: one ``[[rules]]`` table per rule, ``kind`` picks its type.

Every rule says where it applies (``stations``, ``target_classes``, ``station_kinds``: all given selectors
must match; none given means every station), which parameters it watches, and its lifecycle options
(``for``, ``keep_firing_for``, ``no_data``). Levels are 1 blue, 2 yellow, 3 orange, 4 red (docs/domain.md).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal

from pydantic import ConfigDict, Field, field_validator, model_validator

from stationpipe.kernel.catalogue import CATALOGUE, Kind
from stationpipe.kernel.config import Model
from stationpipe.kernel.geo import DEFAULT_FENCE_RADIUS_M, DEFAULT_MAX_DISPLACEMENT_M, DEFAULT_MAX_SPEED_M_S
from stationpipe.kernel.reading import Flag
from stationpipe.kernel.registry import StationInfo, WaterClass
from stationpipe.rules.durations import Duration
from stationpipe.standards.hj633 import AqiStandard

Level = Annotated[int, Field(ge=1, le=4)]
_NAME = r"^[A-Za-z0-9_\-]{1,64}$"


class RuleBase(Model):
    """Fields every rule has. ``name`` is the rule's id in topics (``warnings/<station>/<name>.<param>``)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    name: str = Field(pattern=_NAME)
    stations: tuple[str, ...] = ()
    target_classes: tuple[WaterClass, ...] = ()
    station_kinds: tuple[Kind, ...] = ()
    parameters: tuple[str, ...] = ()
    for_: Duration = Field(default=timedelta(0), alias="for", description="active this long before firing")
    keep_firing_for: Duration = timedelta(0)
    no_data: Literal["keep", "resolve"] = "keep"
    no_data_after: Duration = Field(default=timedelta(hours=6), description="wall-clock silence per instance")

    @field_validator("target_classes", mode="before")
    @classmethod
    def _classes(cls, value: object) -> object:
        if isinstance(value, list | tuple):
            return tuple(WaterClass.parse(v) if isinstance(v, str | int) else v for v in value)
        return value

    @field_validator("parameters")
    @classmethod
    def _known(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [p for p in value if p not in CATALOGUE]
        if unknown:
            raise ValueError(f"unknown parameter code(s) {', '.join(unknown)}")
        return value

    def applies(self, info: StationInfo) -> bool:
        """True when every selector given matches the station."""
        return (
            (not self.stations or info.id in self.stations)
            and (not self.target_classes or info.target_class in self.target_classes)
            and (not self.station_kinds or info.kind in self.station_kinds)
        )


class LevelledRule(RuleBase):
    """Water levels (docs/domain.md): 1 near, 2 exceeds, 3 persists or multiple >= 0.5, 4 劣Ⅴ or >= 1.0."""

    approach: float = Field(default=0.8, gt=0, lt=1, description="level 1 at this share of the limit")
    clear_below: float = Field(default=0.7, gt=0, lt=1, description="resolve below this share of the limit")
    consecutive: int = Field(default=3, ge=1, description="level 3 after N consecutive exceeding samples")
    orange_multiple: float = Field(default=0.5, gt=0)
    red_multiple: float = Field(default=1.0, gt=0)
    ph_margin: float = Field(default=0.3, ge=0, description="pH units inside 6-9 counted as approaching")


class SectionRule(LevelledRule):
    """GB 3838 exceedance of each evaluated item against the section's target class (water stations)."""

    kind: Literal["section"]


class SourceRule(LevelledRule):
    """GB 3838 Tables 2-3 limits (sulfate, chloride, nitrate, iron, manganese, specific items) at
    drinking-water source stations, with the section levels."""

    kind: Literal["source"]


class TargetRule(LevelledRule):
    """Custom concentration targets per section (TN / TP control), mg/L, with the section levels."""

    kind: Literal["target"]
    limits: dict[str, float] = Field(min_length=1)

    @field_validator("limits")
    @classmethod
    def _positive(cls, value: dict[str, float]) -> dict[str, float]:
        bad = [k for k, v in value.items() if k not in CATALOGUE or v <= 0]
        if bad:
            raise ValueError(f"limits need known parameter codes and values > 0: {', '.join(bad)}")
        return value


class AqiRule(RuleBase):
    """AQI of hourly means (air stations); level 1..4 for AQI 101-150, 151-200, 201-300, > 300."""

    kind: Literal["aqi"]
    standard: AqiStandard | Literal["by-date"] = "by-date"
    sample_minutes: int = Field(default=1, ge=1, le=60, description="minutes one sample stands for")


class ThresholdRule(RuleBase):
    """A value above (or below) a fixed limit; ``clear`` is the hysteresis value that resolves it."""

    kind: Literal["threshold"]
    above: float | None = None
    below: float | None = None
    clear: float | None = None
    level: Level = 2

    @model_validator(mode="after")
    def _one_side(self) -> ThresholdRule:
        if (self.above is None) == (self.below is None):
            raise ValueError("give exactly one of above or below")
        if not self.parameters:
            raise ValueError("a threshold rule needs parameters")
        return self


class RateRule(RuleBase):
    """A rise of at least ``rise`` (the parameter's unit) within ``within``."""

    kind: Literal["rate"]
    rise: float = Field(gt=0)
    within: Duration
    level: Level = 1


class FlatlineRule(RuleBase):
    """``count`` identical consecutive valid values (within ``tolerance``): a stuck sensor."""

    kind: Literal["flatline"]
    count: int = Field(default=10, ge=2)
    tolerance: float = Field(default=0.0, ge=0)
    level: Level = 1


class DeadmanRule(RuleBase):
    """No message from the station for ``silent_for`` (wall clock, checked every ``check_every``).

    ``watch``: ``readings`` messages, or ``status`` messages saying ``online`` (an edge agent's health
    line, or the HJ 212 server's line for each heartbeat of a data logger).
    """

    kind: Literal["deadman"]
    silent_for: Duration
    watch: Literal["readings", "status"] = "readings"
    check_every: Duration = timedelta(seconds=10)
    level: Level = 2


class FlagsRule(RuleBase):
    """An instrument flag among ``flags`` persisting for ``persist_for`` (reading time)."""

    kind: Literal["flags"]
    flags: tuple[Flag, ...] = (Flag.D, Flag.M, Flag.C, Flag.B)
    persist_for: Duration = timedelta(hours=1)
    level: Level = 1


class TrendRule(RuleBase):
    """预测预警: a Theil-Sen trend over the last ``window`` valid values crosses ``limit`` within ``horizon``.

    Without ``limit`` the section's target-class limit is used (water items with an upper limit).
    """

    kind: Literal["trend"]
    window: int = Field(default=8, ge=3)
    min_samples: int = Field(default=4, ge=3)
    horizon: Duration = timedelta(hours=12)
    limit: float | None = Field(default=None, gt=0)
    level: Level = 1


def _known_positive(value: dict[str, float]) -> dict[str, float]:
    bad = [k for k, v in value.items() if k not in CATALOGUE or v <= 0]
    if bad:
        raise ValueError(f"need known parameter codes and values > 0: {', '.join(bad)}")
    return value


class _WindNamed(RuleBase):
    """Chemical-park gas rules (docs/chemical_park.md): the gases are the keys of the rule's table, not
    ``parameters``; warnings name the station's park and the wind direction read at the time (``wind``,
    a parameter of the same station, when one newer than ``wind_max_age`` is known)."""

    wind: str = "wind_dir"
    wind_max_age: Duration = Field(default=timedelta(minutes=10), description="policy: older is not named")
    basis: str = Field(default="", description="what the numbers are, named in messages: 'GBZ 2.1-2019 MAC'")

    @model_validator(mode="after")
    def _gases_in_table(self) -> _WindNamed:
        if self.parameters:
            raise ValueError("give the gases as keys of the rule's table, not as parameters")
        if self.wind not in CATALOGUE:
            raise ValueError(f"unknown wind parameter {self.wind!r}")
        return self


class GasLimitRule(_WindNamed):
    """Per-gas limits (the gas's unit, mg/m3) with levels (policy, docs/chemical_park.md): 1 from
    ``approach`` x limit (GBZ/T 223-2009 预报值: half the limit), ``level`` above the limit, 4 from
    ``red_multiple`` x limit (GB/T 50493-2019: second-level alarm at most 200 % OEL); resolves below
    ``clear_below`` x limit."""

    limits: dict[str, float] = Field(min_length=1)
    level: Level = 3
    approach: float | None = Field(default=0.5, gt=0, lt=1)
    red_multiple: float | None = Field(default=2.0, gt=1)
    clear_below: float = Field(default=0.4, gt=0, le=1)

    @field_validator("limits")
    @classmethod
    def _limits(cls, value: dict[str, float]) -> dict[str, float]:
        return _known_positive(value)

    @model_validator(mode="after")
    def _band(self) -> GasLimitRule:
        if self.approach is not None and self.clear_below > self.approach:
            raise ValueError("clear_below must not exceed approach (the hysteresis band is below level 1)")
        return self


class GasInstantRule(GasLimitRule):
    """Every valid reading against its limit (MAC: never to be exceeded; factory-boundary values)."""

    kind: Literal["gas_instant"]


class GasAverageRule(GasLimitRule):
    """The mean over the trailing ``over`` (PC-STEL: 15 min) against its limit, once ``min_coverage`` of
    the window's ``resolution`` bins hold data (policy)."""

    kind: Literal["gas_average"]
    over: Duration = timedelta(minutes=15)
    resolution: Duration = Field(default=timedelta(minutes=1), description="bin width of the rolling mean")
    min_coverage: float = Field(default=0.75, gt=0, le=1)

    @model_validator(mode="after")
    def _bins(self) -> GasAverageRule:
        if not timedelta(0) < self.resolution <= self.over:
            raise ValueError("resolution must be > 0 and at most over")
        return self


class GasRiseRule(_WindNamed):
    """A rapid rise: at least ``rises[gas]`` (its unit) above the lowest valid value within ``within``."""

    kind: Literal["gas_rise"]
    rises: dict[str, float] = Field(min_length=1)
    within: Duration = timedelta(minutes=5)
    level: Level = 1

    @field_validator("rises")
    @classmethod
    def _rises(cls, value: dict[str, float]) -> dict[str, float]:
        return _known_positive(value)


class BackgroundRule(RuleBase):
    """Investigation level relative to each station's own background (docs/radiation.md): the mean plus
    ``n_sigma`` standard deviations of its valid values over the trailing ``window`` (kept in ``bin_width``
    bins; elevated and rainy values are not learnt), with rain-induced rises told apart: a rise while
    ``rain`` > 0 within ``rain_lookback`` is rain-induced (``rain_level``), otherwise ``level``. ``absolute``
    maps a level to a value above which it holds whatever the background. All numbers are policy."""

    kind: Literal["background"]
    parameter: str = "gamma"
    rain: str = "rain"
    window: Duration = timedelta(hours=24)
    bin_width: Duration = timedelta(minutes=10)
    min_samples: int = Field(default=30, ge=3, description="background values before the relative test")
    n_sigma: float = Field(default=3.0, gt=0)
    clear_sigma: float = Field(default=2.0, ge=0, description="resolve at or below mean + clear_sigma x sd")
    min_sigma: float = Field(default=0.0, ge=0, description="floor of the sd, in the parameter's unit")
    rain_lookback: Duration = timedelta(hours=2)
    learn_while_raining: bool = False
    level: Level = 2
    rain_level: Level = 1
    absolute: dict[Level, float] = Field(default_factory=dict, description="level -> above this value")

    @model_validator(mode="after")
    def _consistent(self) -> BackgroundRule:
        for code in (self.parameter, self.rain):
            if code not in CATALOGUE:
                raise ValueError(f"unknown parameter code {code!r}")
        if self.parameters:
            raise ValueError("give the watched parameter as parameter (and the rain sensor as rain)")
        if self.clear_sigma > self.n_sigma:
            raise ValueError("clear_sigma must not exceed n_sigma")
        if self.rain_level > self.level:
            raise ValueError("rain_level must not exceed level (a rain-induced rise is the milder case)")
        if not timedelta(0) < self.bin_width <= self.window:
            raise ValueError("bin_width must be > 0 and at most window")
        if any(v <= 0 for v in self.absolute.values()):
            raise ValueError("absolute levels need values > 0")
        return self


class FenceRule(RuleBase):
    """电子围栏 (docs/fence.md): the edge's ``fence_dist`` above ``radius`` (m) raises 站点越界,
    ``gnss_speed`` above ``max_speed`` (m/s) or ``fence_move`` above ``max_displacement`` (m) raises 站点移动.
    The numbers are policy; their defaults are the edge's (station/geo.py) so flags and warnings agree."""

    kind: Literal["fence"]
    radius: float = Field(default=DEFAULT_FENCE_RADIUS_M, gt=0)
    max_speed: float = Field(default=DEFAULT_MAX_SPEED_M_S, gt=0)
    max_displacement: float = Field(default=DEFAULT_MAX_DISPLACEMENT_M, gt=0)
    level: Level = 2

    @model_validator(mode="after")
    def _no_parameters(self) -> FenceRule:
        if self.parameters:
            raise ValueError("a fence rule watches fence_dist, gnss_speed and fence_move: give no parameters")
        return self


class UpstreamRule(RuleBase):
    """上游来水预警 (docs/domain.md): a firing ``sources`` rule at a section (an exceedance at ``min_level``
    or above from a section or target rule, or a rising trend from a trend rule) raises a pre-warning at each
    section downstream along the registry's ``[[rivers]]``, at most ``reaches`` sections down and only where
    the latest arrival is within ``horizon`` (both optional), on ``rivers`` (none given: all). It names the
    source and the arrival window (the cumulated travel times of the reaches), and resolves when the source
    does or ``margin`` after the window's end. ``stations`` and the other selectors choose the downstream
    sections; ``parameters`` the source's parameters."""

    kind: Literal["upstream"]
    sources: tuple[str, ...] = Field(min_length=1, description="names of section, target or trend rules")
    min_level: Level = Field(default=2, description="an exceedance source forwards from this level on")
    reaches: int | None = Field(default=None, ge=1, description="at most this many sections downstream")
    horizon: Duration | None = Field(default=None, description="only where the latest arrival is this soon")
    rivers: tuple[str, ...] = ()
    margin: Duration = Field(default=timedelta(hours=1), description="resolve this long after the window")
    level: Level = 2

    @model_validator(mode="after")
    def _fires_with_source(self) -> UpstreamRule:
        if self.for_ > timedelta(0) or self.keep_firing_for > timedelta(0):
            raise ValueError("a pre-warning fires and resolves with its source: set for on the source rule")
        return self


AnyRule = (
    SectionRule
    | SourceRule
    | TargetRule
    | AqiRule
    | ThresholdRule
    | RateRule
    | FlatlineRule
    | DeadmanRule
    | FlagsRule
    | TrendRule
    | FenceRule
    | GasInstantRule
    | GasAverageRule
    | GasRiseRule
    | BackgroundRule
    | UpstreamRule
)
Rule = Annotated[AnyRule, Field(discriminator="kind")]
