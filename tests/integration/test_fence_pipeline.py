"""The electronic fence through the real pipeline, as real processes: ``stationpipe sim`` serves a water
station on Modbus TCP and its GNSS receiver on a pty (NMEA), ``edge`` reads both, ``collector`` stores in
InfluxDB and ``rules`` runs a ``fence`` rule. The station is towed away (a ``drift`` scenario on ``gnss_lat``
started over the control channel) and brought back: its readings are ``N`` before, ``D`` while outside,
``N`` after; the engine raises 站点越界 and 站点移动, and resolves 站点越界 when it is back."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from stationpipe.testbed.pipeline import (
    Pipeline,
    SimStation,
    collector_toml,
    edge_toml,
    registry_toml,
    rules_toml,
    sim_toml,
)
from stationpipe.testbed.services import Services, free_port

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]
RADIUS = 50.0
TOW = 0.36  # degrees of latitude per hour: 11 m/s north


def _rows(services: Services, query: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for series in services.influx.query(query):
        out.extend(dict(zip(series["columns"], row, strict=True)) for row in series["values"])
    return out


def _until(check: Callable[[], bool], within: float, what: str, pipe: Pipeline) -> None:
    deadline = time.monotonic() + within
    while not check():
        if time.monotonic() > deadline:
            logs = "\n".join(f"--- {n}\n{pipe.log(n)[-1500:]}" for n in pipe.procs)
            pytest.fail(f"{what} within {within} s\n{logs}")
        time.sleep(0.25)  # polling the database and files, bounded by the deadline


def _configs(tmp: Path, services: Services, st: SimStation, control: int) -> dict[str, str]:
    link, registry = tmp / "gps", tmp / "registry.toml"
    registry.write_text(registry_toml([st]), encoding="utf-8")
    tow = (
        f'[[scenarios]]\nname = "tow"\nkind = "drift"\ndevices = ["gps"]\nparameters = ["gnss_lat"]\n'
        f"rate = {TOW}\n"
    )
    gnss_sim = (
        f'[[gnss]]\nname = "gps"\nstation = "{st.id}"\nlat = {st.lat}\nlon = {st.lon}\nlink = "{link}"\n'
    )
    edge_gnss = (
        f'[gnss]\nname = "gps"\nport = "{link}"\ninterval = 1.0\nmax_age = 3.0\n'
        f'[gnss.fence]\nregistry = "{registry}"\nradius = {RADIUS}\nwindow = 10.0\nmax_displacement = 30.0\n'
    )
    mqtt = services.mosquitto.port
    rules = f'[[rules]]\nname = "fence"\nkind = "fence"\nradius = {RADIUS}\nmax_displacement = 30.0\n'
    return {
        "sim": sim_toml([st], tow, control) + gnss_sim,
        "edge": edge_toml(st, mqtt, tmp / "edge-state", 1.0) + edge_gnss,
        "collector": f'registry = "{registry}"\n'
        + collector_toml(mqtt, services.influx.url, services.influx.database),
        "rules": rules_toml(mqtt, registry, tmp / "rules.sqlite3", rules, None),
    }


def _flags(services: Services, station: str, parameter: str) -> list[tuple[int, str, float]]:
    """(ns, flag, value) of every reading with a value (``B`` positions before the first fix have none)."""
    rows = _rows(
        services,
        f"SELECT flag, value FROM readings WHERE station = '{station}' AND parameter = '{parameter}'",
    )
    return [(int(r["time"]), str(r["flag"]), float(r["value"])) for r in rows if r["value"] is not None]


def _warnings(services: Services, station: str) -> list[dict[str, Any]]:
    return _rows(services, f"SELECT * FROM warnings WHERE station = '{station}'")


def test_towed_station_is_flagged_and_warned(services: Services, tmp_path: Path) -> None:
    st = SimStation("it-fence-01", "II", seed=7, lat=30.25, lon=120.16)
    control = free_port()
    pipe = Pipeline(services, [st])
    configs = _configs(tmp_path, services, st, control)
    for name, text in configs.items():
        (tmp_path / f"{name}.toml").write_text(text, encoding="utf-8")
    try:
        pipe.start("sim", "sim", tmp_path / "sim.toml")
        _until((tmp_path / "gps").exists, 15, "the GNSS pty link", pipe)
        for name in ("collector", "rules", "edge"):
            pipe.start(name, name, tmp_path / f"{name}.toml")
        _until(lambda: len(_flags(services, st.id, "fence_dist")) >= 3, 40, "3 positions in InfluxDB", pipe)
        _until(lambda: len(_flags(services, st.id, "do")) >= 3, 20, "3 DO readings in InfluxDB", pipe)

        towed = time.time_ns()
        httpx.post(f"http://127.0.0.1:{control}/scenarios/tow/start", timeout=5).raise_for_status()
        _until(lambda: any(f == "D" for _, f, _ in _flags(services, st.id, "do")), 30, "DO flagged D", pipe)
        _until(lambda: len({w["rule"] for w in _warnings(services, st.id)}) >= 1, 30, "a fence warning", pipe)

        back = time.time_ns()
        httpx.post(f"http://127.0.0.1:{control}/scenarios/tow/stop", timeout=5).raise_for_status()
        _until(
            lambda: any(t > back + 2 * 10**9 and f == "N" for t, f, _ in _flags(services, st.id, "do")),
            30,
            "DO normal again",
            pipe,
        )
        _until(
            lambda: any(
                w["state"] == "resolved" and w["parameter"] == "fence_dist"
                for w in _warnings(services, st.id)
            ),
            30,
            "站点越界 resolved",
            pipe,
        )
    finally:
        codes = pipe.stop()
    assert codes == {"sim": 0, "collector": 0, "rules": 0, "edge": 0}, codes

    do = _flags(services, st.id, "do")
    assert all(f == "N" for t, f, _ in do if t < towed), "flagged before the station moved"
    outside = [t for t, f, _ in do if f == "D"]
    assert outside, "nothing was flagged while outside"
    assert all(towed < t < back + 2 * 10**9 for t in outside)
    assert {f for _, f, _ in do} == {"N", "D"}

    dist = _flags(services, st.id, "fence_dist")
    assert {f for _, f, _ in dist} == {"N"}  # the position itself is never fence-flagged
    flags = _rows(
        services, f"SELECT flag FROM readings WHERE station = '{st.id}' AND parameter = 'fence_dist'"
    )
    assert {r["flag"] for r in flags} <= {"N", "B"}  # B: no fix yet when the edge first published
    assert max(v for t, _, v in dist if t < towed) < 10  # at rest: receiver noise only
    assert max(v for _, _, v in dist) > RADIUS
    speeds = [v for t, _, v in _flags(services, st.id, "gnss_speed") if towed < t < back]
    assert max(speeds) == pytest.approx(TOW / 3600 * 111_195, rel=0.1)  # 0.36 °/h of latitude in m/s

    rows = _warnings(services, st.id)
    fired = {w["parameter"]: w["message"] for w in rows if w["state"] == "firing"}
    assert "站点越界" in fired["fence_dist"]
    assert "station outside its fence" in fired["fence_dist"]
    assert "站点移动" in fired["gnss_speed"]
    assert "station moving" in fired["gnss_speed"]
    assert {w["rule"] for w in rows} == {"fence.fence_dist", "fence.gnss_speed", "fence.fence_move"}
