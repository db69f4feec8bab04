"""空气站详情 Air station detail: pollutants, hourly AQI coloured by HJ 633 level, the primary pollutant."""

# ruff: noqa: S608 - InfluxQL text built from constants only; Grafana substitutes $variables itself

from __future__ import annotations

from grafana_foundation_sdk.builders.dashboard import ThresholdsConfig
from grafana_foundation_sdk.models import dashboard as dash

from stationpipe.kernel.catalogue import CATALOGUE, Kind, parameter
from stationpipe.ops.grafana.dashboard import dashboard, place_variables, warning_annotation
from stationpipe.ops.grafana.influx import Influx
from stationpipe.ops.grafana.palette import AQI_LEVELS
from stationpipe.ops.grafana.panels import (
    JSON,
    Grid,
    special,
    stat,
    state_timeline,
    steps,
    target,
    timeseries,
    value_map,
)

UID = "stationpipe-air"
ST = '"station" =~ /^$station$/'
#: Pollutants of the AQI, µg/m³ (CO, in mg/m³, has its own panel).
MICROGRAMS = ("pm25", "pm10", "o3", "no2", "so2")


def aqi_thresholds() -> ThresholdsConfig:
    """AQI bands in the HJ 633 level colours."""
    (_, _, base), *rest = AQI_LEVELS.values()
    return steps(base, *[(float(low), colour) for low, _, colour in rest])


def _level_mappings() -> list[dash.ValueMapping]:
    return value_map({str(k): (label, colour) for k, (_, label, colour) in AQI_LEVELS.items()})


def _primary_mappings() -> list[dash.ValueMapping]:
    air = [p for p in CATALOGUE.values() if p.kind is Kind.AIR]
    none = dash.ValueMappingResult(text="— 无 none (AQI ≤ 50)", color="#73BF69")
    return [
        *value_map({p.code: (p.label, "#8AB8FF") for p in air}),
        special(dash.SpecialValueMatch.EMPTY, none),
    ]


def _pollutants(codes: tuple[str, ...], ref: str = "A") -> list[Influx]:
    return [
        target(
            f'SELECT mean("value") FROM "readings" WHERE {ST} AND "parameter" = \'{code}\' AND $timeFilter '
            "GROUP BY time($__interval) fill(none)",
            chr(ord(ref) + i),
            alias=parameter(code).label,
        )
        for i, code in enumerate(codes)
    ]


def build() -> JSON:
    """The air station dashboard (one station at a time)."""
    hourly = f'SELECT last("aqi") FROM "aqi" WHERE {ST} AND $timeFilter GROUP BY time(1h) fill(none)'
    primary = f'SELECT last("primary") FROM "aqi" WHERE {ST} AND $timeFilter GROUP BY time(1h) fill(none)'
    grid = Grid()
    grid.add(
        stat(
            "当前 AQI Current AQI",
            f'SELECT last("aqi") FROM "aqi" WHERE {ST} AND $timeFilter',
            thresholds=aqi_thresholds(),
            decimals=0,
        ),
        6,
        5,
    )
    grid.add(
        stat(
            "空气质量级别 AQI level",
            f'SELECT last("level") FROM "aqi" WHERE {ST} AND $timeFilter',
            mappings=_level_mappings(),
            thresholds=steps("#8E8E8E"),
            decimals=0,
        ),
        6,
        5,
    )
    grid.add(
        stat(
            "首要污染物 Primary pollutant",
            f'SELECT last("primary") FROM "aqi" WHERE {ST} AND $timeFilter',
            mappings=_primary_mappings(),
            thresholds=steps("#8E8E8E"),
            decimals=0,
        ),
        12,
        5,
    )
    grid.add(
        timeseries(
            "小时 AQI Hourly AQI (HJ 633 levels)",
            [target(hourly, alias="AQI")],
            bars=True,
            thresholds=aqi_thresholds(),
            thresholds_style="off",
            colour_by_thresholds=True,
        ),
        24,
        8,
    )
    grid.add(
        state_timeline(
            "首要污染物 Primary pollutant over time",
            [target(primary, alias="首要污染物 Primary")],
            _primary_mappings(),
        ),
        24,
        4,
    )
    grid.add(timeseries("污染物 Pollutants (µg/m³)", _pollutants(MICROGRAMS), unit="none"), 16, 9)
    grid.add(timeseries("一氧化碳 CO (mg/m³)", _pollutants(("co",)), unit="none"), 8, 9)
    return dashboard(
        UID,
        "空气站详情 Air station detail",
        grid.panels,
        variables=place_variables("air", multi_station=False),
        annotations=[warning_annotation()],
    )
