"""Catalogue, backoff and message invariants."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from stationpipe.kernel.backoff import Backoff
from stationpipe.kernel.catalogue import BY_HJ212, CATALOGUE, Kind, parameter
from stationpipe.kernel.reading import Flag, Reading, StationMessage

REQUIRED = {
    "temp": ("w01010", Kind.WATER),
    "ph": ("w01001", Kind.WATER),
    "do": ("w01009", Kind.WATER),
    "cond": ("w01014", Kind.WATER),
    "turb": ("w01003", Kind.WATER),
    "codmn": ("w01019", Kind.WATER),
    "nh3n": ("w21003", Kind.WATER),
    "tp": ("w21011", Kind.WATER),
    "tn": ("w21001", Kind.WATER),
    "so2": ("a21026", Kind.AIR),
    "no2": ("a21004", Kind.AIR),
    "co": ("a21005", Kind.AIR),
    "o3": ("a05024", Kind.AIR),
    "pm10": ("a34002", Kind.AIR),
    "pm25": ("a34004", Kind.AIR),
}


@pytest.mark.parametrize(("code", "expected"), REQUIRED.items())
def test_catalogue_rows(code: str, expected: tuple[str, Kind]) -> None:
    row = parameter(code)
    assert (row.hj212, row.kind) == expected
    assert row.unit
    assert row.name_zh
    assert row.name_en
    assert BY_HJ212[row.hj212] is row  # type: ignore[index]


def test_catalogue_has_chla_and_bilingual_labels() -> None:
    assert "chla" in CATALOGUE
    assert parameter("nh3n").label == "氨氮 NH3-N"
    with pytest.raises(KeyError, match="nh4"):
        parameter("nh4")


def test_backoff_grows_caps_and_resets() -> None:
    b = Backoff(initial=1, cap=8, rng=random.Random(1))
    delays = [b.next_delay() for _ in range(8)]
    assert 0.5 <= delays[0] <= 1
    assert all(4 <= d <= 8 for d in delays[4:])
    assert b.next_delay(retry_after=20) == 20
    b.reset()
    assert b.next_delay() <= 1


def test_backoff_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="initial"):
        Backoff(initial=0)


def test_message_invariants() -> None:
    ts = datetime.now(UTC)
    r = Reading("s1", "ph", 7.0, "pH", ts)
    with pytest.raises(ValueError, match="twice"):
        StationMessage("s1", "d", 0, ts, (r, r))
    with pytest.raises(ValueError, match="in a message of"):
        StationMessage("s2", "d", 0, ts, (r,))
    assert Flag.N.valid
    assert not Flag.B.valid
    assert Flag.B.label.startswith("通讯异常")
