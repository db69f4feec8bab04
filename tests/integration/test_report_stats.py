"""``stationpipe report stats``: readings and an auditor's marks stored in the session's real InfluxDB
(docs/design.md#influxdb) become the official statistics, audited beside raw. The expected figures are
worked out by hand in the comments (docs/domain.md#official-statistics-and-audit)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from stationpipe.collector.points import derived_lines
from stationpipe.kernel.audit import Action, MarkVersion, Reason, mark_fields
from stationpipe.ops.grafana.overview import OFFICIAL
from stationpipe.ops.report.cli import report_app
from stationpipe.ops.report.data import BEIJING
from stationpipe.testbed.services import Services
from tests.integration.rules_helpers import listening
from tests.waiting import until

pytestmark = pytest.mark.integration
DB = "stats_month"
MONTH = "2026-06"
JUNE1 = datetime(2026, 6, 1, tzinfo=BEIJING).astimezone(UTC)
H = timedelta(hours=1)
#: w1's NH3-N on 1 June every 4 hours from 00:00 China time; 2 June is 0.5 throughout.
NH3N = (1.8, 1.6, 0.6, 0.5, 0.5, 0.4)
#: src1's iron on 1 June: the first two are an instrument fault the auditor invalidates.
FE = (0.9, 0.9, 0.1, 0.1, 0.1, 0.1)


def _ns(at: datetime) -> int:
    return int(at.timestamp()) * 10**9


def _stations() -> Iterator[str]:
    t = _ns(JUNE1 - 24 * H)
    yield (
        f'stations,station=w1,kind=water,city=杭州,river=钱塘江 name="闸口",section="闸口",target_class=3i,'
        f'water_body="river" {t}'
    )
    yield (
        f'stations,station=src1,kind=water,city=杭州,river=钱塘江 name="水源",section="水源",target_class=2i,'
        f'water_body="river",drinking_source=true {t}'
    )
    yield f'stations,station=a1,kind=air,city=杭州 name="朝晖",section="" {t}'


def _line(station: str, parameter: str, value: float, at: datetime) -> str:
    return f'readings,station={station},parameter={parameter} flag="N",value={value} {_ns(at)}'


def _water() -> Iterator[str]:
    for day, nh3n in ((0, NH3N), (1, (0.5,) * 6)):
        for i, value in enumerate(nh3n):
            at = JUNE1 + (24 * day + 4 * i) * H
            yield _line("w1", "nh3n", value, at)
            yield _line("w1", "do", 7.0, at)
            yield _line("w1", "codmn", 3.0, at)
            yield _line("w1", "tp", 0.08, at)
    for i, fe in enumerate(FE):
        at = JUNE1 + 4 * i * H
        for code, value in (("nh3n", 0.4), ("do", 7.0), ("codmn", 3.0), ("tp", 0.05), ("fe", fe)):
            yield _line("src1", code, value, at)


def _engine() -> Iterator[str]:
    """What the rules engine stored live for w1 on 1 June (from raw data): class III all day."""
    for hour in range(24):
        yield f'water_class,station=w1 class=3i,worst="nh3n" {_ns(JUNE1 + hour * H)}'


def _air() -> Iterator[str]:
    base = {"so2": 50.0, "no2": 40.0, "pm10": 100.0, "co": 2.0, "o3": 100.0}
    for hour in range(24):
        at = JUNE1 + hour * H
        for code, value in base.items():
            yield _line("a1", code, value, at)
        yield _line("a1", "pm25", 300.0 if hour < 4 else 50.0, at)  # a dust event until 04:00


def _mark(mark_id: str, station: str, parameter: str, hours: int, reason: Reason) -> str:
    mark = MarkVersion(
        mark_id,
        1,
        station,
        parameter,
        JUNE1,
        JUNE1 + hours * H,
        Action.INVALIDATE,
        reason,
        "审核 audit",
        "li",
        JUNE1 + 30 * H,
    )
    f = mark_fields(mark)
    fields = ",".join(f'{k}="{f[k]}"' for k in ("start", "end", "action", "reason", "note", "author"))
    return (
        f"audit_marks,station={station},parameter={parameter},mark={mark_id} "
        f"version={mark.version}i,{fields} {_ns(mark.at)}"
    )


MARKS = [
    _mark("m1", "w1", "nh3n", 8, Reason.INSTRUMENT_FAULT),  # the morning of 1 June: 00:00 and 04:00
    _mark("m2", "src1", "fe", 8, Reason.INSTRUMENT_FAULT),
    _mark("m3", "a1", "pm25", 4, Reason.EXCEPTIONAL_EVENT),
]


DAYS = [
    f'audit_days,station=w1 day="2026-06-01",status="reviewed",author="li" {_ns(JUNE1 + 30 * H)}',
    f'audit_days,station=a1 day="2026-06-01",status="reviewed",author="li" {_ns(JUNE1 + 30 * H)}',
    f'audit_days,station=a1 day="2026-06-01",status="locked",author="wang" {_ns(JUNE1 + 31 * H)}',
]


def _write(url: str, lines: list[str]) -> None:
    httpx.post(f"{url}/query", params={"q": f'CREATE DATABASE "{DB}"'}, timeout=10).raise_for_status()
    resp = httpx.post(f"{url}/write", params={"db": DB}, content="\n".join(lines).encode(), timeout=60)
    assert resp.status_code == 204, resp.text


def _query(url: str, q: str) -> list[list[Any]]:
    resp = httpx.post(f"{url}/query", params={"q": q, "db": DB, "epoch": "ns"}, timeout=10)
    resp.raise_for_status()
    values: list[list[Any]] = resp.json()["results"][0]["series"][0]["values"]
    return values


@pytest.fixture(scope="module")
def stored(services: Services) -> str:
    _write(services.influx.url, [*_stations(), *_water(), *_engine(), *_air(), *MARKS, *DAYS])
    return services.influx.url


def _run(url: str, *args: str) -> str:
    base = ["stats", "--month", MONTH, "--influx-url", url, "--database", DB]
    result = CliRunner().invoke(report_app, [*base, *args])
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.fixture(scope="module")
def stats(stored: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(_run(stored, "--json"))
    return data


def test_an_invalidated_morning_changes_the_daily_and_monthly_class(stats: dict[str, Any]) -> None:
    raw, audited = stats["raw"]["sections"]["w1"], stats["audited"]["sections"]["w1"]
    # 1 June: raw NH3-N mean 5.4 / 6 = 0.9 -> III; audited (0.6 + 0.5 + 0.5 + 0.4) / 4 = 0.5 -> II
    assert raw["daily"]["2026-06-01"] == "III"
    assert audited["daily"]["2026-06-01"] == "II"
    assert raw["daily"]["2026-06-02"] == audited["daily"]["2026-06-02"] == "II"
    assert raw["daily"]["2026-06-03"] is None
    # June: raw (5.4 + 3.0) / 12 = 0.7 -> III; audited (2.0 + 3.0) / 10 = 0.5 -> II
    assert (raw["class"], audited["class"]) == ("III", "II")
    assert raw["worst"] == ["nh3n"]
    assert raw["meets_target"]
    assert audited["meets_target"]
    # capture: 4 items x 30 days x 6 four-hour slots = 720 expected; 48 valid raw, 46 audited
    assert raw["capture"] == round(100 * 48 / 720, 2)
    assert audited["capture"] == round(100 * 46 / 720, 2)
    assert stats["audit"] == {
        "marks_in_force": 3,
        "readings": 48 + 30 + 24 * 6,
        "excluded": 2 + 2 + 4,
        "station_days": {"unreviewed": 3 * 30 - 2, "reviewed": 1, "locked": 1},  # the last status counts
    }
    assert "audited" in stats["note"]


def test_the_raw_data_stays_unchanged(stored: str, stats: dict[str, Any]) -> None:
    assert stats["raw"]["sections"]["w1"]["class"] == "III"
    rows = _query(
        stored, 'SELECT "value", "flag" FROM "readings" WHERE "station" = \'w1\' AND "parameter" = \'nh3n\''
    )
    assert [r[1] for r in rows] == [*NH3N, *(0.5,) * 6]
    assert {r[2] for r in rows} == {"N"}


def test_source_compliance_audited_and_raw(stats: dict[str, Any]) -> None:
    raw, audited = stats["raw"], stats["audited"]
    # iron: raw (0.9 + 0.9 + 4 x 0.1) / 6 = 0.3667 > 0.3: (0.3667 - 0.3) / 0.3 = 0.2222; audited 0.1 meets
    assert raw["sections"]["src1"]["source"] == {
        "meets": False,
        "evaluated": True,
        "over": {"fe": 0.2222},
        "checked": ["fe"],
    }
    assert audited["sections"]["src1"]["source"]["meets"] is True
    assert raw["sections"]["src1"]["class"] == "II"
    assert (raw["headline"]["sources_meeting"], raw["headline"]["source_compliance"]) == (0, 0.0)
    assert (audited["headline"]["sources_meeting"], audited["headline"]["source_compliance"]) == (1, 100.0)


def test_headline_and_good_air_days_under_hj663_2026(stats: dict[str, Any]) -> None:
    raw, audited = stats["raw"]["headline"], stats["audited"]["headline"]
    assert raw["sections_classed"] == 2
    assert raw["share_iii_or_better"] == audited["share_iii_or_better"] == 100.0
    assert raw["worse_than_v"] == audited["worse_than_v"] == []
    # raw PM2.5 (4 x 300 + 20 x 50) / 24 = 91.67, rounded 92: 100 + (92 - 60) x 50 / 55 = 129.1 -> 130
    assert stats["raw"]["air"]["a1"]["daily_aqi"]["2026-06-01"] == 130
    assert (raw["good_air_days"], raw["air_days"]) == (0, 1)
    # audited (the dust hours deducted, 20 hours left): PM2.5 50 -> 80, PM10 100 -> 86: AQI 86, a good day
    assert stats["audited"]["air"]["a1"]["daily_aqi"]["2026-06-01"] == 86
    assert (audited["good_air_days"], audited["air_days"], audited["share_good_air_days"]) == (1, 1, 100.0)
    # capture: valid hourly values / (6 pollutants x 24 h x 30 days): raw 144, audited 140 (dust hours out)
    assert stats["raw"]["air"]["a1"]["capture"] == round(100 * 144 / 4320, 2)
    assert stats["audited"]["air"]["a1"]["capture"] == round(100 * 140 / 4320, 2)


def test_hj663_2013_keeps_exceptional_events(stored: str) -> None:
    data = json.loads(_run(stored, "--json", "--air-rules", "2013"))
    assert data["rules"] == "HJ 663-2013"
    assert data["audited"]["headline"]["good_air_days"] == data["raw"]["headline"]["good_air_days"] == 0
    assert data["audit"]["excluded"] == 4  # only the water marks apply


def test_table_shows_audited_beside_raw(stored: str) -> None:
    text = _run(stored)
    assert "审核后数据 audited data" in text
    assert "II (raw III)" in text
    assert "2026-06-01 II (raw III)" in text


def test_marks_from_a_file(stored: str, tmp_path: Any) -> None:
    path = tmp_path / "marks.jsonl"
    path.write_text("", encoding="utf-8")
    data = json.loads(_run(stored, "--json", "--marks-file", str(path)))
    assert data["audit"]["excluded"] == 0
    assert data["audited"]["sections"]["w1"]["class"] == "III"


def test_unreachable_database_is_one_clear_error() -> None:
    result = CliRunner().invoke(report_app, ["stats", "--month", MONTH, "--influx-url", "http://127.0.0.1:9"])
    assert result.exit_code == 1
    assert "cannot reach InfluxDB" in result.output


def test_the_ranking_uses_audited_data(stored: str) -> None:
    args = ["ranking", "--month", MONTH, "--sample-minutes", "60", "--influx-url", stored, "--database", DB]
    result = CliRunner().invoke(report_app, [*args, "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert "audited" in data["data"]
    w1 = next(s for s in data["water"]["sections"] if s["station"] == "w1")
    # the month's NH3-N mean without the invalidated morning: (2.0 + 3.0) / 10 = 0.5 -> class II
    assert w1["means"]["nh3n"] == 0.5
    assert w1["class"] == 2


def test_the_daily_report_headline_is_audited(stored: str, tmp_path: Any) -> None:
    out = tmp_path / "day.html"
    args = ["--day", "2026-06-01", "--out", str(out), "--influx-url", stored, "--database", DB]
    result = CliRunner().invoke(report_app, args)
    assert result.exit_code == 0, result.output
    page = out.read_text(encoding="utf-8")
    assert "审核后数据 audited data" in page
    assert "raw/live" in page
    # w1's morning NH3-N (2) and a1's dust-event PM2.5 (4, deducted under HJ 663-2026, the default)
    assert "6 readings excluded · HJ 663-2026" in page
    cells = next(tr for tr in page.split("<tr>") if "闸口 闸口" in tr).split("<td>")[1:]
    target, day_class, worst, main, verdict, live = cells[3:9]
    # NH3-N day mean without the invalidated morning: (0.6 + 0.5 + 0.5 + 0.4) / 4 = 0.5 -> class II (raw
    # 0.9 -> III); the worst hour left is 08:00 (0.6, class III); the engine's live class from raw data is III
    assert ("Ⅲ类" in target, "Ⅱ类" in day_class, "Ⅲ类" in worst, "Ⅲ类" in live) == (True, True, True, True)
    assert "NH3-N" in main
    assert "达标 met" in verdict
    air = next(tr for tr in page.split("<tr>") if "朝晖" in tr).split("<td>")[1:]
    # a1 without the dust event: PM10 100 -> IAQI 86 (2026), 良; no live AQI was stored
    assert air[2].startswith("86")
    assert "良" in air[3]


def test_publish_for_the_dashboards(stored: str, services: Services) -> None:
    """``--publish`` sends one derived record the collector stores as ``official_stats`` (the overview
    dashboard's audited-vs-raw table reads it)."""

    async def go() -> list[Any]:
        async with listening(services) as (found, _client):
            args = ["stats", "--month", MONTH, "--influx-url", stored, "--database", DB, "--json"]
            args += ["--publish", f"127.0.0.1:{services.mosquitto.port}"]
            result = await asyncio.to_thread(CliRunner().invoke, report_app, args)
            assert result.exit_code == 0, result.output
            await until(lambda: any(d.index == "official_stats" for d in found.derived), "the record", 20)
            return [d for d in found.derived if d.index == "official_stats"]

    (record,) = asyncio.run(go())
    assert record.station == "_province"
    assert record.ts == JUNE1
    values = record.values
    assert (values["source_compliance"], values["source_compliance_raw"]) == (100.0, 0.0)
    assert (values["share_good_air_days"], values["share_good_air_days_raw"]) == (100.0, 0.0)
    assert values["worse_than_v_count"] == values["worse_than_v_count_raw"] == 0
    assert values["period"] == MONTH
    assert values["excluded"] == 8
    (line,) = derived_lines(record)
    assert line.startswith("official_stats,station=_province ")
    assert "source_compliance_raw=0" in line
    assert "share_iii_or_better=100" in line
    assert OFFICIAL.count('FROM "official_stats"') == 1


def test_publish_to_a_dead_broker_is_one_clear_error(stored: str) -> None:
    args = [
        "stats",
        "--month",
        MONTH,
        "--influx-url",
        stored,
        "--database",
        DB,
        "--json",
        "--publish",
        "127.0.0.1:9",
    ]
    result = CliRunner().invoke(report_app, args)
    assert result.exit_code == 1
    assert "cannot publish to 127.0.0.1:9" in result.output
