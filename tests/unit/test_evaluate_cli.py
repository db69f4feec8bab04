"""``stationpipe evaluate water|air``, driven through the Typer app directly."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from stationpipe.rules.evaluate_cli import evaluate_app

runner = CliRunner()
ACCEPTANCE_WATER = [
    "water",
    "--target",
    "III",
    "--water-body",
    "river",
    "ph=7.4",
    "do=5.5",
    "nh3n=1.3",
    "tp=0.18",
]
WIDE = {"COLUMNS": "200"}  # a wide terminal, so rich does not wrap the names
ACCEPTANCE_AIR = ["air", "--standard", "HJ633-2026", "--period", "24h", "pm25=80", "pm10=100"]


def _json(args: list[str]) -> dict[str, object]:
    result = runner.invoke(evaluate_app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert isinstance(data, dict)
    return data


def test_water_acceptance_json() -> None:
    assert _json(ACCEPTANCE_WATER) == {
        "class": 4,
        "class_name": "IV",
        "worst": ["nh3n"],
        "exceedance": {"nh3n": 0.3},
        "exceedance_iii": {"nh3n": 0.3},
        "excluded": [],
    }


def test_water_target_ii_lake_with_excluded() -> None:
    data = _json(
        ["water", "--target", "II", "--water-body", "lake_reservoir", "tp=0.04", "tn=1.2", "temp=20"]
    )
    assert data["class"] == 3
    assert data["exceedance"] == {"tp": 0.6}  # (0.04 - 0.025) / 0.025
    assert data["exceedance_iii"] == {}
    assert data["excluded"] == ["tn", "temp"]


def test_water_worse_than_v_name() -> None:
    data = _json(["water", "ph=5.5"])
    assert (data["class"], data["class_name"]) == (6, "劣V")


def test_water_table_has_both_languages() -> None:
    result = runner.invoke(evaluate_app, ACCEPTANCE_WATER, env=WIDE)
    assert result.exit_code == 0, result.output
    for text in ("氨氮 NH3-N", "ammonia nitrogen", "Ⅳ", "轻度污染", "lightly polluted"):
        assert text in result.stdout


def test_air_acceptance_json() -> None:
    assert _json(ACCEPTANCE_AIR) == {
        "aqi": 119,
        "level": 3,
        "category": "轻度污染",
        "primary": ["pm25"],
        "iaqi": {"pm25": 119, "pm10": 86},
    }


def test_air_2012() -> None:
    data = _json(["air", "--standard", "HJ633-2012", "--period", "24h", "pm25=80"])
    assert data["iaqi"] == {"pm25": 107}


def test_air_primary_empty_at_or_below_50() -> None:
    data = _json(["air", "pm25=20", "pm10=40"])
    assert data["primary"] == []
    assert data["level"] == 1


def test_air_per_item_period_override() -> None:
    data = _json(["air", "--period", "1h", "o3=150", "o3:8h=120"])
    assert data["iaqi"] == {"o3_1h": 47, "o3_8h": 67}


def test_air_table_has_both_languages_and_notes_missing_items() -> None:
    result = runner.invoke(evaluate_app, ["air", "pm25=80"], env=WIDE)
    assert result.exit_code == 0, result.output
    for text in ("细颗粒物 PM2.5", "fine particulate matter", "轻度污染", "lightly polluted", "119"):
        assert text in result.stdout


@pytest.mark.parametrize(
    "args",
    [
        ["water", "nh3n"],
        ["water", "nh3n=abc"],
        ["water", "nh3n=nan"],
        ["water", "xyz=1"],
        ["water", "pm25=1"],
        ["water", "nh3n=1", "nh3n=2"],
        ["water", "--target", "VII", "nh3n=1"],
        ["water", "temp=20"],
        ["water", "nh3n=-1"],
        ["air", "nh3n=1"],
        ["air", "--standard", "HJ633-2012", "--period", "1h", "pm25=80"],
        ["air", "pm25:2h=80"],
        ["air", "--period", "annual", "pm25=80"],
    ],
)
def test_bad_input_is_a_usage_error(args: list[str]) -> None:
    result = runner.invoke(evaluate_app, args)
    assert result.exit_code == 2, result.output
