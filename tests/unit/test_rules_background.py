"""辐射 background kind as tables: mean + n sd of the station's own record, rain-induced rises told apart,
absolute levels; and the rolling bins it keeps."""

from __future__ import annotations

import random
import statistics
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from stationpipe.kernel.reading import Flag, StationMessage
from stationpipe.rules.evaluator import Evaluator
from stationpipe.rules.kinds import bins
from stationpipe.rules.kinds.base import Kind, Outcome, Series
from stationpipe.rules.lifecycle import Change
from tests.unit.programme_helpers import PLANT, RAD, at, config, kind_of, rule
from tests.unit.rules_helpers import T0

BG: dict[str, Any] = {
    "kind": "background",
    "window": "1h",
    "bin_width": "1m",
    "min_samples": 10,
    "rain_lookback": "30m",
    "absolute": {"3": 300.0, "4": 1000.0},
}
QUIET = [85.0, 87.0, 86.0, 84.0, 88.0, 85.0, 86.0, 87.0, 84.0, 86.0, 85.0, 87.0]  # mean 85.83, sd 1.27


def learnt(**fields: Any) -> tuple[Kind, Series]:
    """A kind and the series after a quiet hour-long record, one value a minute (minutes 0..11)."""
    kind, series = kind_of(**{**BG, **fields}), Series()
    for i, v in enumerate(QUIET):
        out = kind.evaluate(RAD, at("gamma", v, i * 60, "r1"), series)
        assert out is not None
        assert out.level == 0
    return kind, series


def gamma(kind: Kind, series: Series, value: float, minute: float) -> Outcome:
    out = kind.evaluate(RAD, at("gamma", value, minute * 60, "r1"), series)
    assert out is not None
    return out


def test_investigation_level_is_mean_plus_n_sd_of_the_own_record() -> None:
    kind, series = learnt()
    mean, sd = statistics.mean(QUIET), statistics.stdev(QUIET)
    out = gamma(kind, series, 89.0, 12)
    assert out.level == 0
    assert out.limit == pytest.approx(mean + 3 * sd)
    out = gamma(kind, series, 95.0, 13)
    assert out.level == 2
    with_89 = [*QUIET, 89.0]  # the quiet 89 was learnt
    assert out.limit == pytest.approx(statistics.mean(with_89) + 3 * statistics.stdev(with_89))
    assert out.zh.startswith(
        f"核电厂 {PLANT} 外围 秦山北侧辐射站: γ辐射空气吸收剂量率 γ 95 nGy/h, 超过调查水平 "
    )
    assert out.zh.endswith("近期无降雨: 非降雨所致, 需调查")
    assert out.en.endswith("no recent rain: not rain-induced, investigate")


def test_rain_within_the_lookback_makes_a_rise_rain_induced_at_its_own_level() -> None:
    kind, series = learnt()
    assert kind.evaluate(RAD, at("rain", 0.4, 12 * 60, "r1"), series) is None  # rain alone says nothing
    assert kind.instance(at("rain", 0.4, 0, "r1")) == "gamma"  # … and shares the dose rate's series
    out = gamma(kind, series, 110.0, 13)
    assert out.level == 1
    assert out.zh.endswith("近 30 分钟内有降雨: 判为降雨导致的升高 (雨致)")
    assert out.en.endswith("rain within the last 30 min: classified rain-induced")
    still = gamma(kind, series, 110.0, 12 + 31)  # 31 min after the rain: no longer explained by it
    assert still.level == 2
    assert "not rain-induced" in still.en


def test_zero_rain_and_invalid_rain_do_not_count() -> None:
    kind, series = learnt()
    kind.evaluate(RAD, at("rain", 0.0, 12 * 60, "r1"), series)
    kind.evaluate(RAD, at("rain", 5.0, 12 * 60 + 1, "r1", Flag.D), series)
    assert "wet" not in series
    assert gamma(kind, series, 110.0, 13).level == 2


def test_before_min_samples_only_absolute_levels_apply() -> None:
    kind, series = kind_of(**BG), Series()
    assert gamma(kind, series, 250.0, 0) == Outcome(0, clear=True, value=250.0, limit=None)
    out = gamma(kind, series, 400.0, 1)
    assert out.level == 3
    assert out.limit == 300.0
    assert "超过绝对水平 300" in out.zh
    assert "调查水平" not in out.zh
    assert gamma(kind, series, 1500.0, 2).level == 4


def test_absolute_level_with_rain_is_not_explained_by_rain() -> None:
    kind, series = learnt()
    kind.evaluate(RAD, at("rain", 1.0, 12 * 60, "r1"), series)
    out = gamma(kind, series, 400.0, 13)
    assert out.level == 3  # max(absolute 3, rain-induced 1)
    assert "不能仅以降雨解释" in out.zh
    assert "not rain alone, investigate" in out.en


def test_elevated_and_rainy_values_are_not_learnt() -> None:
    kind, series = learnt()
    before = bins.stats(series["b"])
    gamma(kind, series, 120.0, 12)  # elevated
    kind.evaluate(RAD, at("rain", 0.2, 13 * 60, "r1"), series)
    gamma(kind, series, 86.0, 14)  # quiet, but right after rain
    assert bins.stats(series["b"]) == before
    kind2, series2 = learnt(learn_while_raining=True)
    kind2.evaluate(RAD, at("rain", 0.2, 13 * 60, "r1"), series2)
    gamma(kind2, series2, 86.0, 14)
    assert bins.stats(series2["b"]).n == len(QUIET) + 1


def test_resolves_only_back_within_clear_sigma() -> None:
    kind, series = learnt()
    mean, sd = statistics.mean(QUIET), statistics.stdev(QUIET)
    assert gamma(kind, series, mean + 2.5 * sd, 12).clear is False
    assert gamma(kind, series, mean + 1.5 * sd, 13).clear is True


def test_min_sigma_floors_a_very_quiet_record() -> None:
    kind, series = kind_of(**{**BG, "min_sigma": 5.0}), Series()
    for i in range(12):
        gamma(kind, series, 80.0, i)  # sd 0
    assert gamma(kind, series, 94.0, 12).level == 0  # 80 + 3 x 5 = 95
    assert gamma(kind, series, 97.0, 13).level == 2  # 81.08 + 3 x 5 once the 94 is learnt


def test_window_and_bins_bound_the_state() -> None:
    kind, series = kind_of(**BG), Series()
    for i in range(3 * 3600):  # three hours of 1-second readings
        kind.evaluate(RAD, at("gamma", 85.0 + (i % 3), i, "r1"), series)
    assert len(series["b"]) <= 61


def test_bins_give_the_exact_mean_and_sample_sd() -> None:
    rng = random.Random(7)
    values = [rng.gauss(86, 3) for _ in range(500)]
    kept: list[bins.Bin] = []
    for i, v in enumerate(values):
        bins.add(kept, 1000.0 + i * 7.3, v, 60.0)
    got = bins.stats(kept)
    assert got.n == 500
    assert got.mean == pytest.approx(statistics.mean(values))
    assert got.sd == pytest.approx(statistics.stdev(values))
    assert bins.stats([]).n == 0
    late: list[bins.Bin] = []
    for ts in (120.0, 0.0, 60.0):  # out of order still lands in order
        bins.add(late, ts, 1.0, 60.0)
    assert [b[0] for b in late] == [0.0, 60.0, 120.0]
    assert [b[0] for b in bins.trim(late, 130.0, 70.0)] == [60.0, 120.0]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"parameter": "gama"}, "unknown parameter code 'gama'"),
        ({"parameters": ["gamma"]}, "give the watched parameter as parameter"),
        ({"clear_sigma": 4.0}, "clear_sigma must not exceed n_sigma"),
        ({"rain_level": 3}, "rain_level must not exceed level"),
        ({"bin_width": "2h"}, "bin_width"),
        ({"absolute": {"3": 0.0}}, "absolute levels need values > 0"),
        ({"absolute": {"5": 100.0}}, "less than or equal to 4"),
    ],
)
def test_bad_background_rules_name_the_problem(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        rule(**{**BG, **fields})


def test_evaluator_rain_and_gamma_share_one_instance(tmp_path: Path) -> None:
    cfg = config(tmp_path, [{"name": "bg", **BG, "station_kinds": ["radiation"]}])
    ev = Evaluator(cfg, cfg.load_registry(), T0)
    notes = []
    record = [*((0.0, v) for v in QUIET), (0.6, 86.0), (0.6, 112.0), (0.0, 86.0)]
    for i, (rain, dose) in enumerate(record):
        ts = T0 + timedelta(minutes=i)
        readings = (at("rain", rain, i * 60, "r1"), at("gamma", dose, i * 60, "r1"))
        notes += ev.process(StationMessage("r1", "gamma", i, ts, readings), ts).notes
    assert [(n.change, n.level, n.topic_rule) for n in notes] == [
        (Change.FIRING, 1, "bg.gamma"),
        (Change.RESOLVED, 1, "bg.gamma"),
    ]
    assert "rain-induced" in notes[0].message_en
    assert set(ev.instances) == {"r1/bg/gamma"}
