"""A brief coverage-guided run (atheris / libFuzzer, bounded by ``-runs`` and ``-max_total_time``) of each
target in atheris_targets.py, seeded with valid inputs; a crash or a slow input (``-timeout``) fails."""

from __future__ import annotations

import platform
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from stationpipe.hj212 import CST, CpArea, DataSegment, FactorValue, encode
from stationpipe.kernel import wire
from stationpipe.kernel.messages import AgentState, StationStatus
from stationpipe.kernel.reading import Flag, Reading, StationMessage
from tests.fuzz.atheris_targets import TOPICS

pytestmark = [
    pytest.mark.timeout(90),
    pytest.mark.skipif(
        platform.system() != "Linux" or platform.machine() != "x86_64",
        reason="atheris (a dev dependency) has wheels for Linux x86-64 only",
    ),
]
HARNESS = Path(__file__).with_name("atheris_targets.py")
ROOT = Path(__file__).resolve().parents[2]
RUNS = {"wire": 4000, "hj212": 8000, "config": 2000}


def _seeds(target: str) -> list[bytes]:
    if target == "config":
        return [p.read_bytes() for p in sorted((ROOT / "deploy/config").glob("**/*.toml"))]
    if target == "hj212":
        at = datetime(2026, 11, 22, 9, 30, tzinfo=CST)
        factors = (FactorValue("w21003", rtd=1.25, flag="N"), FactorValue("w01001", avg=7.2, sample_time=at))
        upload = DataSegment(
            "21", "2011", qn="20261122093000001", pw="1", mn="MN1", flag=5, cp=CpArea(at, (), factors)
        )
        return [encode(upload), encode(DataSegment("91", "9014", qn="1", flag=4))]
    ts = datetime(2026, 11, 22, 1, 2, 3, tzinfo=UTC)
    records: list[StationMessage | StationStatus] = [
        StationMessage("s1", "sonde", 7, ts, (Reading("s1", "nh3n", 0.52, "mg/L", ts, Flag.N),)),
        StationStatus("s1", AgentState.ONLINE, ts, "1.0", 3, "ok"),
    ]
    encoded = [wire.encode(record) for record in records]
    return [bytes([TOPICS.index(topic)]) + payload for topic, payload in encoded]


@pytest.mark.parametrize("target", sorted(RUNS))
def test_atheris_target_runs_clean(target: str, tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for index, seed in enumerate(_seeds(target)):
        (corpus / f"seed-{index}").write_bytes(seed)
    result = subprocess.run(
        [
            sys.executable,
            str(HARNESS),
            target,
            f"-runs={RUNS[target]}",
            "-max_total_time=20",
            "-timeout=10",
            "-max_len=12000",
            "-seed=1",
            f"-artifact_prefix={tmp_path}/",
            str(corpus),
        ],
        capture_output=True,
        text=True,
        timeout=80,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Done" in result.stderr, result.stderr[-3000:]
    assert not list(tmp_path.glob("crash-*"))
    assert not list(tmp_path.glob("timeout-*"))
