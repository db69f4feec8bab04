"""The committed dashboards are exactly what stationpipe.ops.grafana generates (with grafana-foundation-sdk),
follow Grafana's schema as the SDK's models hold it, and follow the house rules: Asia/Shanghai, raw InfluxQL
on the one provisioned datasource, bilingual titles, city/river/station."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from stationpipe.ops.grafana.generate import BUILDERS, DEFAULT_OUT, dashboards, render, write
from stationpipe.ops.grafana.inspect import queries
from stationpipe.ops.grafana.panels import DATASOURCE, JSON
from stationpipe.ops.grafana.schema import EXTENSIONS, problems
from stationpipe.ops.grafana.section import class_bands, target_limit_expr
from stationpipe.standards.gb3838 import UPPER_LIMITS

CJK = re.compile(r"[\u4e00-\u9fff]")
LATIN = re.compile(r"[A-Za-z]{2,}")
BOARDS = dashboards()


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_committed_json_equals_generated(name: str) -> None:
    committed = (DEFAULT_OUT / name).read_text(encoding="utf-8")
    assert committed == render(BOARDS[name]), f"{name} is stale: python -m stationpipe.ops.grafana.generate"


def test_nothing_else_is_committed() -> None:
    assert {p.name for p in DEFAULT_OUT.glob("*.json")} == set(BUILDERS)


def test_write_produces_the_same_files(tmp_path: Path) -> None:
    for path in write(tmp_path):
        assert path.read_text(encoding="utf-8") == (DEFAULT_OUT / path.name).read_text(encoding="utf-8")


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_committed_json_follows_the_sdk_models(name: str) -> None:
    """Read back by grafana-foundation-sdk's models, nothing is lost or changed but the allowed keys."""
    committed = json.loads((DEFAULT_OUT / name).read_text(encoding="utf-8"))
    assert problems(committed) == []


def test_the_model_check_finds_what_grafana_would_not_read() -> None:
    board = json.loads(render(BOARDS["air.json"]))
    board["panels"][0]["options"]["colourMode"] = "background"  # misspelt option
    board["panels"][1]["fieldConfig"]["defaults"]["unti"] = "none"  # misspelt field config
    board["panels"][3]["targets"][0]["rawQuery"] = False  # not raw InfluxQL
    board["templating"]["list"][0]["definiton"] = "x"  # misspelt variable key
    board["annotations"]["list"][1]["query"] = "SELECT 1"  # allowed beyond the models: stays silent
    found = problems(board)
    assert {tuple(p.split(" ", 2)[:2]) for p in found} == {
        ("lost", "/templating/list[0]/definiton"),
        ("lost", "/panels[0]/options/colourMode"),
        ("lost", "/panels[1]/fieldConfig/defaults/unti"),
        ("changed", "/panels[3]/targets[0]/rawQuery:"),
    }


def test_annotations_carry_only_the_allowed_extensions() -> None:
    for board in BOARDS.values():
        for annotation in board["annotations"]["list"][1:]:
            extra = {f"/annotations/list[]/{key}" for key in ("query", "textColumn", "tagsColumn")}
            assert extra <= set(EXTENSIONS)
            assert annotation["query"].startswith("SELECT ")


def _panels(board: JSON) -> list[JSON]:
    return [p for p in board["panels"] if p["type"] != "row"]


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_house_rules(name: str) -> None:
    board = BOARDS[name]
    assert board["timezone"] == "Asia/Shanghai"
    titles = [board["title"]] + [p["title"] for p in board["panels"]]
    for title in titles:
        assert CJK.search(title), f"no Chinese: {title!r}"
        assert LATIN.search(title), f"no English: {title!r}"
    names = [v["name"] for v in board["templating"]["list"]]
    assert names[:3] == ["city", "river", "station"]
    ids = [p["id"] for p in board["panels"]]
    assert len(ids) == len(set(ids))
    for p in board["panels"]:
        pos = p["gridPos"]
        assert pos["x"] >= 0
        assert pos["x"] + pos["w"] <= 24


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_influxql_only(name: str) -> None:
    board = BOARDS[name]
    found = list(queries(board))
    assert found
    for q in found:
        assert q.text.startswith(("SELECT ", "SHOW TAG VALUES ")), q
    for p in _panels(board):
        if p["type"] == "text":
            continue
        assert p["datasource"] == DATASOURCE
        for tgt in p["targets"]:
            assert tgt["rawQuery"] is True
            assert tgt["datasource"] == DATASOURCE


def test_uids_are_unique_and_stable() -> None:
    uids = [b["uid"] for b in BOARDS.values()]
    assert len(set(uids)) == len(uids)
    assert all(uid.startswith("stationpipe-") for uid in uids)


@pytest.mark.parametrize(
    ("code", "first", "last"),
    [("nh3n", 0.15, 2.0), ("codmn", 2, 15), ("do", 2.0, 7.5), ("ph", 6.0, 9.0)],
)
def test_class_bands_follow_gb3838(code: str, first: float, last: float) -> None:
    bands = class_bands(code)
    assert bands is not None
    values = [s.value for s in bands.build().steps[1:]]
    assert None not in values  # only the base step has no value
    assert values == sorted(v for v in values if v is not None)
    assert (values[0], values[-1]) == (first, last)


def test_shared_limits_make_one_band() -> None:
    bands = class_bands("cod")  # I and II share 15 mg/L
    assert bands is not None
    steps = bands.build().steps
    assert [s.value for s in steps[1:]] == [15, 20, 30, 40]
    assert steps[1].color == "#00B050"  # above 15 is class III


@pytest.mark.parametrize("target_class", [1, 2, 3, 4, 5])
def test_target_limit_expression_picks_the_class_limit(target_class: int) -> None:
    lim = UPPER_LIMITS["nh3n"]
    expr = target_limit_expr(lim).replace("$target", str(target_class)).replace("floor", "_floor")
    got = eval(expr, {"_floor": lambda x: int(x // 1)})
    assert got == lim.values[target_class - 1]
