"""HJ 212 from an analyser through the real pipeline, as real processes: ``stationpipe sim`` runs the
shipped simulator example (a CODMn analyser pushing HJ 212-2017 frames on a pty, with noise, split
frames and bad CRCs; an NH3-N analyser answering HJ 212-2025 requests over TCP), ``edge`` runs the shipped
edge example (only paths, ports and the interval changed), ``collector`` stores in InfluxDB: both
parameters arrive, flagged N, with plausible values."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from stationpipe.testbed.pipeline import Pipeline, collector_toml
from stationpipe.testbed.services import Services, free_port

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]
ROOT = Path(__file__).resolve().parents[2]
STATION = "it-hj212-in-01"


def _rows(services: Services, query: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for series in services.influx.query(query):
        out.extend(dict(zip(series["columns"], row, strict=True)) for row in series["values"])
    return out


def _normal(services: Services, parameter: str) -> list[dict[str, Any]]:
    """The readings of ``parameter`` flagged N in InfluxDB."""
    query = f"SELECT flag, value FROM readings WHERE station = '{STATION}' AND parameter = '{parameter}'"
    return [r for r in _rows(services, query) if r["flag"] == "N"]


def _normal_at_least(services: Services, parameter: str, count: int) -> bool:
    return len(_normal(services, parameter)) >= count


def _until(check: Callable[[], bool], within: float, what: str, pipe: Pipeline) -> None:
    deadline = time.monotonic() + within
    while not check():
        if time.monotonic() > deadline:
            logs = "\n".join(f"--- {n}\n{pipe.log(n)[-1500:]}" for n in pipe.procs)
            pytest.fail(f"{what} within {within} s\n{logs}")
        time.sleep(0.25)  # polling the database, bounded by the deadline


def _configs(tmp: Path, services: Services) -> dict[str, str]:
    """The shipped examples with this test's paths, ports and a 1 s grid."""
    port, control = free_port(), free_port()
    sim = (ROOT / "deploy/config/sim.hj212.example.toml").read_text(encoding="utf-8")
    sim = sim.replace("/tmp/hj212-cod", str(tmp / "cod")).replace("port = 4012", f"port = {port}")
    sim = sim.replace("port = 8766", f"port = {control}").replace("interval = 5.0", "interval = 0.5")
    edge = (ROOT / "deploy/config/edge.hj212.example.toml").read_text(encoding="utf-8")
    edge = edge.replace("/tmp/hj212-cod", str(tmp / "cod")).replace("port = 4012", f"port = {port}")
    edge = edge.replace('station = "zj-water-01"', f'station = "{STATION}"')
    edge = edge.replace("/var/lib/stationpipe/edge", str(tmp / "edge-state"))
    edge = edge.replace("interval = 10.0", "interval = 1.0").replace(
        "port = 1883", f"port = {services.mosquitto.port}"
    )
    return {
        "sim": sim,
        "edge": edge,
        "collector": collector_toml(services.mosquitto.port, services.influx.url, services.influx.database),
    }


def test_analysers_reach_influx_through_edge_and_collector(services: Services, tmp_path: Path) -> None:
    pipe = Pipeline(services, [])
    for name, text in _configs(tmp_path, services).items():
        (tmp_path / f"{name}.toml").write_text(text, encoding="utf-8")
    try:
        pipe.start("sim", "sim", tmp_path / "sim.toml")
        _until((tmp_path / "cod").exists, 15, "the analyser's pty link", pipe)
        pipe.start("collector", "collector", tmp_path / "collector.toml")
        pipe.start("edge", "edge", tmp_path / "edge.toml")
        for parameter in ("codmn", "nh3n"):
            three = functools.partial(_normal_at_least, services, parameter, 3)
            _until(three, 60, f"3 {parameter} readings flagged N in InfluxDB", pipe)
    finally:
        codes = pipe.stop()
    assert codes == {"sim": 0, "collector": 0, "edge": 0}, codes
    for parameter, high in (("codmn", 20.0), ("nh3n", 5.0)):  # mg/L
        good = _normal(services, parameter)
        assert all(0 < r["value"] < high for r in good), good
