"""Every query of every generated dashboard (panels, variables, annotations), with the template variables
substituted by real values, returns data from a real InfluxDB filled by the real pipeline (a Mosquitto
and an InfluxDB of this module alone, so its points never reach other tests' database).

Readings of a water station come from the pipeline (simulator -> edge -> Mosquitto -> collector).
Nobody writes the other measurements yet in this harness (``stations``, ``water_class``, ``aqi``,
``warnings``, ``official_stats``; air-station readings; and ``agent_status`` / ``prometheus``, which
Telegraf writes in the compose stack), so this test writes representative points of the schema
(docs/design.md#influxdb), with line protocol, into the same database.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import httpx
import pytest

from stationpipe.ops.grafana.generate import dashboards
from stationpipe.ops.grafana.inspect import Query, queries
from stationpipe.testbed.pipeline import Pipeline, SimStation
from stationpipe.testbed.services import Services, running_services

pytestmark = pytest.mark.integration

WATER = SimStation("it-graf-01", "III", seed=9)
AIR = "it-graf-air"
PARAMS = 9  # temp, ph, do, cond, turb, codmn, nh3n, tp, tn
HOUR_NS = 3600 * 10**9
BOTH = f"({WATER.id}|{AIR})"  # how Grafana renders a multi-value variable inside a regex

#: Variable values per dashboard, as an operator would pick them.
VALUES: dict[str, dict[str, str]] = {
    "overview.json": {"city": "杭州", "river": ".*", "station": BOTH},
    "section.json": {"city": "杭州", "river": "钱塘江", "station": WATER.id, "target": "3"},
    "air.json": {"city": "杭州", "river": ".*", "station": AIR},
    "warnings.json": {"city": "杭州", "river": ".*", "station": BOTH},
    "health.json": {"city": "杭州", "river": ".*", "station": BOTH},
}


def substitute(text: str, values: dict[str, str]) -> str:
    """Do what Grafana does before sending a query: time filter, interval, then variables."""
    out = text.replace("$timeFilter", "time > now() - 3d").replace("$__interval", "10m")
    for name in sorted(values, key=len, reverse=True):
        out = out.replace(f"${name}", values[name])
    assert not re.search(r"\$(?!tag_)\w", out), out
    return out


def _registry_lines(now: int) -> list[str]:
    return [
        (
            f'stations,station={WATER.id},kind=water,city=杭州,river=钱塘江 name="钱塘江测试",section="测试",'
            f'target_class=3i,water_body="river",lat=30.2,lon=120.1 {now - 72 * HOUR_NS}'
        ),
        (
            f'stations,station={AIR},kind=air,city=杭州 name="西溪测试",section="",lat=30.27,lon=120.06 '
            f"{now - 72 * HOUR_NS}"
        ),
    ]


def _hourly_lines(now: int) -> Iterator[str]:
    pollutants = {"so2": 8.0, "no2": 35.0, "co": 0.7, "o3": 90.0, "pm10": 60.0, "pm25": 38.0}
    for h in range(48):
        t = now - h * HOUR_NS
        cls, aqi = (3, 4)[h % 2], 150 - 3 * h
        level, primary = (1, "") if aqi <= 50 else ((2, "pm25") if aqi <= 100 else (3, "o3"))
        yield f'water_class,station={WATER.id} class={cls}i,worst="nh3n",exceed="nh3n" {t}'
        yield f'aqi,station={AIR} aqi={aqi}i,level={level}i,primary="{primary}" {t}'
        for code, value in pollutants.items():
            yield f'readings,station={AIR},parameter={code} flag="N",value={value + h % 5} {t}'
        yield f'readings,station={AIR},parameter=pm25 flag="B" {t + 1}'


def _warning_lines(now: int) -> list[str]:
    start = now - 5 * HOUR_NS
    started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(start / 1e9))
    fire = f'warnings,station={WATER.id},rule=nh3n_target,level=2 state="firing",parameter="nh3n"'
    air = f'warnings,station={AIR},rule=aqi_level,level=3 state="%s",parameter="aqi"'
    human = 'handling="verified",acknowledged_by="li",assignee="wang"'
    action = (
        f'warning_actions,station={WATER.id},rule=nh3n_target,action=verify user="li",handling="verified"'
    )
    return [
        (
            f'{fire},value=1.3,limit=1,message="氨氮超Ⅲ类 NH3-N above class III",started="{started}",'
            f"{human} {start}"
        ),
        f'{action},level=2i,started="{started}",note="现场核实 checked on site" {start + HOUR_NS}',
        (
            'official_stats,station=_province period="2026-06",share_iii_or_better=80,'
            "share_iii_or_better_raw=75,worse_than_v_count=0,worse_than_v_count_raw=1,"
            "share_good_air_days=90,share_good_air_days_raw=85,source_compliance=100,"
            f"source_compliance_raw=100,excluded=12 {start}"
        ),
        f'{air % "firing"},value=160,limit=150,message="AQI 轻度污染 lightly",started="{started}" {start}',
        (
            f'{air % "resolved"},value=90,limit=150,message="AQI 已恢复 recovered",started="{started}",'
            f'ended="{started}" {start + HOUR_NS}'
        ),
    ]


def _telemetry_lines(now: int) -> Iterator[str]:
    url = "http://collector:9108/metrics"
    for m in range(12):
        t = now - m * 10 * 60 * 10**9
        for st in (WATER.id, AIR):
            state = "offline" if st == AIR and m == 0 else "online"  # the air agent has just gone away
            fields = f'state="{state}",spool_depth={m % 3}i,version="0.1.0",health="ok"'
            yield f"agent_status,station={st} {fields} {t}"
        fields = (
            f"stationpipe_collector_spool_points={m * 10},"
            f"stationpipe_collector_points_written_total={10000 - m * 500}"
        )
        yield f"prometheus,url={url} {fields} {t}"
        yield f"prometheus,url={url},cause=undecodable stationpipe_collector_dead_letters_total={20 - m} {t}"


def _wait_for_readings(services: Services, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = services.influx.query(
            f"SELECT count(flag) FROM readings WHERE station = '{WATER.id}' GROUP BY parameter"
        )
        if len(rows) == PARAMS and all(r["values"][0][1] >= 2 for r in rows):
            return
        time.sleep(0.2)  # polling the database with a deadline
    pytest.fail(f"the pipeline stored no readings of every parameter within {timeout} s")


@pytest.fixture(scope="module")
def own_services() -> Iterator[Services]:
    """A Mosquitto and an InfluxDB of this module alone: the points written here (fields such as
    ``warnings.ended``, a collector's persistent session) must not leak into other tests' databases."""
    with running_services() as svc:
        yield svc


@pytest.fixture(scope="module")
def filled(own_services: Services) -> Services:
    """The pipeline's readings plus the representative points of the other measurements."""
    services = own_services
    with Pipeline(services, [WATER], interval=1.0) as pipe:
        _wait_for_readings(services, timeout=60)
        pipe.stop()
    now = time.time_ns() // 10**9 * 10**9
    lines = [*_registry_lines(now), *_hourly_lines(now), *_warning_lines(now), *_telemetry_lines(now)]
    resp = httpx.post(
        f"{services.influx.url}/write",
        params={"db": services.influx.database, "precision": "ns"},
        content="\n".join(lines).encode(),
        timeout=10,
    )
    assert resp.status_code == 204, resp.text
    return services


CASES = [(name, q) for name, board in dashboards().items() for q in queries(board)]


@pytest.mark.parametrize(("name", "query"), CASES, ids=[f"{n}:{q.where}" for n, q in CASES])
def test_query_returns_data(filled: Services, name: str, query: Query) -> None:
    text = substitute(query.text, VALUES[name])
    series = filled.influx.query(text)
    assert series, f"{name} {query.where}: no data for\n{text}"
    values = [v for s in series for row in s["values"] for v in row[1:]]
    assert any(v not in (None, "") for v in values), f"{name} {query.where}: only nulls for\n{text}"


def test_every_dashboard_has_cases() -> None:
    assert {n for n, _ in CASES} == set(VALUES)
    assert len(CASES) > 60
