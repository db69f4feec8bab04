"""``stationpipe report ranking``: a month of stored data (docs/design.md, line protocol into a database
of the session's real InfluxDB) becomes the ranking as a table, JSON and a page that headless Chromium
renders. The expected numbers are computed by hand in the comments (docs/ranking.md gives the formulas)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from stationpipe.ops.report.cli import report_app
from stationpipe.ops.report.data import BEIJING
from stationpipe.ops.report.influx import InfluxSource
from stationpipe.ops.report.ranking_data import Period, air_hourly
from stationpipe.testbed.services import Services
from tests.integration.test_report_html import _chromium

pytestmark = pytest.mark.integration
DB = "ranking_month"
MONTH = "2025-02"
START = datetime(2025, 2, 1, tzinfo=BEIJING).astimezone(UTC)

# Water sections: (id, city, river, name, target, body, {item: [values]}); every section also gets a D-flagged
# outlier that must not count, and water temperature, which has no class.
ITEMS = ("ph", "do", "codmn", "nh3n", "tp")
WATER = [
    (
        "w1",
        "杭州",
        "钱塘江",
        "闸口",
        2,
        "river",
        dict(zip(ITEMS, ([7.5], [8.0], [3.0], [0.4], [0.1]), strict=True)),
    ),
    (
        "w2",
        "杭州",
        "运河",
        "拱宸桥",
        3,
        "river",
        dict(zip(ITEMS, ([7.0], [5.0], [6.0], [1.2, 1.4], [0.2]), strict=True)),
    ),
    (
        "w3",
        "湖州",
        "苕溪",
        "新塘",
        3,
        "river",
        dict(zip(ITEMS, ([8.0], [6.0], [4.0], [0.8], [0.15]), strict=True)),
    ),
    (
        "w4",
        "台州",
        "长潭",
        "库心",
        3,
        "lake_reservoir",
        dict(zip(ITEMS, ([7.0], [7.5], [5.0], [2.5], [0.06]), strict=True)),
    ),
]
# Air stations, hourly values (sample_minutes = 60): constant per station unless a day overrides.
HZ_A1 = {"so2": 8.0, "no2": 30.0, "pm10": 60.0, "pm25": 30.0, "co": 0.8, "o3": 100.0}
HZ_A2 = {"so2": 12.0, "no2": 50.0, "pm10": 80.0, "pm25": 44.0, "co": 1.2, "o3": 140.0}
NB_A3 = {"so2": 6.0, "no2": 20.0, "pm10": 50.0, "pm25": 25.0, "co": 0.6, "o3": 90.0}


def _ns(at: datetime) -> int:
    return int(at.timestamp()) * 10**9


def _stations() -> Iterator[str]:
    before = _ns(START - timedelta(days=30))
    for sid, city, river, name, target, body, _ in WATER:
        yield (
            f'stations,station={sid},kind=water,city={city},river={river} name="{name}",section="{name}",'
            f'target_class={target}i,water_body="{body}",lat=30,lon=120 {before}'
        )
    for sid, city in (("a1", "杭州"), ("a2", "杭州"), ("a3", "宁波"), ("a4", "温州")):
        yield f'stations,station={sid},kind=air,city={city} name="{sid}",section="",lat=30,lon=121 {before}'


def _water() -> Iterator[str]:
    for sid, *_, items in WATER:
        for code, values in items.items():
            for n, value in enumerate(values):
                t = _ns(START) + (n + 3) * 10**12
                yield f'readings,station={sid},parameter={code} flag="N",value={value} {t}'
        yield f'readings,station={sid},parameter=nh3n flag="D",value=99 {_ns(START) + 10**13}'
        yield f'readings,station={sid},parameter=temp flag="N",value=31 {_ns(START) + 10**13}'


def _nb(day: int, pollutant: str) -> float:
    if pollutant == "pm25" and day < 4:
        return 90.0  # 4 days with PM2.5 90: IAQI 100 + 15 x 50/40 = 118.75 -> not good
    if pollutant == "co" and day in {10, 11}:
        return 3.0  # 2 days of CO 3.0 (IAQI 75, still good): P95 of 28 days = 0.6 + 0.65 x 2.4 = 2.16
    return NB_A3[pollutant]


def _air() -> Iterator[str]:
    for day in range(28):
        for hour in range(24):
            t = _ns(START + timedelta(days=day, hours=hour))
            for p, value in HZ_A1.items():
                yield f'readings,station=a1,parameter={p} flag="N",value={value} {t}'
                yield f'readings,station=a2,parameter={p} flag="N",value={HZ_A2[p]} {t}'
                yield f'readings,station=a3,parameter={p} flag="N",value={_nb(day, p)} {t}'
                if day < 10:  # 温州: ten days only — too few for the composite index, enough for good days
                    yield f'readings,station=a4,parameter={p} flag="N",value={NB_A3[p]} {t}'
            yield f'readings,station=a1,parameter=pm25 flag="C",value=999 {t + 10**9}'  # calibration: ignored


def _write(url: str, db: str, lines: list[str]) -> None:
    httpx.post(f"{url}/query", params={"q": f'CREATE DATABASE "{db}"'}, timeout=10).raise_for_status()
    resp = httpx.post(f"{url}/write", params={"db": db}, content="\n".join(lines).encode(), timeout=60)
    assert resp.status_code == 204, resp.text


@pytest.fixture(scope="module")
def stored(services: Services) -> str:
    _write(services.influx.url, DB, [*_stations(), *_water(), *_air()])
    return services.influx.url


def _run(url: str, *args: str) -> str:
    base = ["ranking", "--month", MONTH, "--sample-minutes", "60", "--influx-url", url, "--database", DB]
    result = CliRunner().invoke(report_app, [*base, *args])
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.fixture(scope="module")
def ranked(stored: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(_run(stored, "--format", "json"))
    return data


def test_water_cities_and_sections(ranked: dict[str, Any]) -> None:
    assert ranked["period"] == {"kind": "month", "label": MONTH, "start": "2025-02-01", "end": "2025-03-01"}
    cities = {c["city"]: c for c in ranked["water"]["cities"]}
    # 杭州: item means over its two rivers pH 7.25, DO 6.5, CODMn 4.5, NH3-N 0.85, TP 0.15
    assert cities["杭州"]["cwqi"] == pytest.approx(0.125 + 5 / 6.5 + 0.75 + 0.85 + 0.75, abs=1e-4)
    assert cities["湖州"]["cwqi"] == pytest.approx(0.5 + 5 / 6 + 4 / 6 + 0.8 + 0.75, abs=1e-4)  # 3.55
    assert cities["台州"]["cwqi"] == pytest.approx(0 + 5 / 7.5 + 5 / 6 + 2.5 + 0.06 / 0.05, abs=1e-4)  # 5.2
    assert [c["city"] for c in ranked["water"]["cities"]] == ["杭州", "湖州", "台州"]
    assert [(c["rank_cwqi"], c["rank_share"]) for c in ranked["water"]["cities"]] == [(1, 2), (2, 1), (3, 3)]
    assert (cities["杭州"]["share_iii_or_better"], cities["杭州"]["iii_or_better"]) == (50.0, 1)
    assert cities["台州"]["worse_than_v"] == 1
    sections = ranked["water"]["sections"]
    assert [(s["station"], s["class_label"], s["rank"]) for s in sections] == [
        ("w1", "Ⅱ", 1),
        ("w3", "Ⅲ", 2),
        ("w2", "Ⅳ", 3),  # NH3-N mean 1.3 (the D-flagged 99 does not count)
        ("w4", "劣Ⅴ", 4),
    ]
    assert [s["cwqi"] for s in sections] == pytest.approx([2.275, 3.55, 4.3, 5.2], abs=1e-4)
    assert "temp" not in sections[0]["means"]  # stored, but not an evaluated item


def test_air_cities(ranked: dict[str, Any]) -> None:
    cities = {c["city"]: c for c in ranked["air"]["cities"]}
    hz, nb, wz = cities["杭州"], cities["宁波"], cities["温州"]
    # 杭州: means of its two stations SO2 10, NO2 40, PM10 70, PM2.5 37, CO 1.0, O3 120
    assert hz["composite_index"] == pytest.approx(10 / 60 + 1 + 1 + 37 / 35 + 0.25 + 0.75, abs=1e-4)
    assert hz["statistics"] == pytest.approx(
        {"so2": 10, "no2": 40, "pm10": 70, "pm25": 37, "co_p95": 1.0, "o3_8h_p90": 120}, abs=1e-4
    )
    assert hz["largest_index"] == "pm25"
    assert (hz["good_days"], hz["evaluated_days"]) == (28, 28)  # AQI 67 (O3 8 h) every day
    # 宁波: PM2.5 (24 x 25 + 4 x 90) / 28, CO P95 2.16
    pm25 = (24 * 25 + 4 * 90) / 28
    assert nb["composite_index"] == pytest.approx(
        0.1 + 0.5 + 50 / 70 + pm25 / 35 + 2.16 / 4 + 90 / 160, abs=1e-4
    )
    assert nb["statistics"]["co_p95"] == pytest.approx(2.16, abs=1e-4)
    assert (nb["good_days"], nb["evaluated_days"], nb["good_share"]) == (
        24,
        28,
        pytest.approx(85.71, abs=0.01),
    )
    # 温州: ten days — no composite index (February needs 25 daily values), ten good days
    assert wz["composite_index"] is None
    assert wz["days"]["pm25"] == 10
    assert (wz["good_days"], wz["evaluated_days"]) == (10, 10)
    assert [(c["city"], c["rank_composite"], c["rank_good_days"]) for c in ranked["air"]["cities"]] == [
        ("宁波", 1, 3),
        ("杭州", 2, 1),
        ("温州", None, 1),  # 100 % like 杭州: a shared rank
    ]
    assert ranked["policy"]["min_days"] == 25


def test_table(stored: str) -> None:
    text = _run(stored)
    for words in (
        "环境质量公开排序",
        "杭州",
        "湖州",
        "台州",
        "闸口",
        "劣Ⅴ",
        "宁波",
        "温州",
        "数据不足",
        "85.7 %",
    ):
        assert words in text, words


def test_minute_data_needs_45_minutes_an_hour(services: Services) -> None:
    url, db = services.influx.url, "ranking_minutes"
    so2 = "readings,station=m1,parameter=so2"
    hour0, hour1 = _ns(START), _ns(START + timedelta(hours=1))
    lines = [f'{so2} flag="N",value={10 if m else 9} {hour0 + m * 60 * 10**9}' for m in range(50)]
    lines.append(f'{so2} flag="N",value=11 {hour0 + 30 * 10**9}')  # the same minute as the 9
    lines.append(f'{so2} flag="D",value=999 {hour0 + 40 * 10**9}')
    lines += [f'{so2} flag="N",value=20 {hour1 + m * 60 * 10**9}' for m in range(44)]
    _write(url, db, lines)
    source = InfluxSource(url, db)
    # hour 0: 50 minutes, the first minute's two readings averaged first (9 and 11 -> 10); hour 1: 44 minutes
    assert air_hourly(source, Period.month(2025, 2), sample_minutes=1) == {"m1": {"so2": {0: 10.0}}}
    assert air_hourly(source, Period.month(2025, 2), sample_minutes=2) == {"m1": {"so2": {0: 10.0, 1: 20.0}}}


def test_unreachable_database_is_one_clear_error() -> None:
    args = ["ranking", "--month", MONTH, "--influx-url", "http://127.0.0.1:9"]
    result = CliRunner().invoke(report_app, args)
    assert result.exit_code == 1
    assert "cannot reach InfluxDB" in result.output


def test_bad_month_is_a_usage_error() -> None:
    result = CliRunner().invoke(report_app, ["ranking", "--month", "2025/02"])
    assert result.exit_code == 2
    assert "not a month" in result.output


def test_page_in_chromium(stored: str, tmp_path: Path) -> None:
    page = tmp_path / "ranking.html"
    _run(stored, "--format", "html", "--out", str(page))
    html = page.read_text(encoding="utf-8")
    assert "<script" not in html
    assert "<link" not in html
    dom = _chromium(page, tmp_path, "--dump-dom").stdout
    assert f"环境质量公开排序 Public quality ranking · {MONTH}" in dom
    for text in (
        "城市地表水环境质量排名",
        "杭州",
        "拱宸桥",
        "劣Ⅴ类",
        "宁波",
        "数据不足 insufficient",
        "85.7 %",
        "3.24",
    ):
        assert text in dom, text
    shot = tmp_path / "ranking.png"
    _chromium(page, tmp_path, f"--screenshot={shot}")
    assert shot.stat().st_size > 10_000
