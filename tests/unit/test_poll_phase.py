"""Poll phase (issue 24 point 2): each station polls at its own offset into the interval, on that grid."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from stationpipe.edge.config import EdgeConfig, station_phase
from stationpipe.edge.hj212_records import Aggregator
from stationpipe.edge.poller import next_tick
from stationpipe.hj212 import CST
from stationpipe.kernel.config import load
from stationpipe.kernel.errors import ConfigError
from stationpipe.kernel.reading import Flag, Reading

ROOT = Path(__file__).resolve().parents[2]
EDGE = f"""
kind = "edge"
station = "s1"
state_dir = "state"
{{phase}}
[mqtt]
client_id = "edge-s1"
[[devices]]
name = "sonde"
profile = "{ROOT / "deploy/config/profiles/water_five.toml"}"
interval = 10
[devices.transport]
host = "127.0.0.1"
port = 5020
"""


def _edge(tmp_path: Path, phase: str) -> EdgeConfig:
    path = tmp_path / "edge.toml"
    path.write_text(EDGE.replace("{phase}", phase))
    return load(path, EdgeConfig)


def test_next_tick_keeps_to_the_phased_grid() -> None:
    assert next_tick(99.0, 10.0) == 100.0
    assert next_tick(100.0, 10.0) == 110.0  # strictly after
    assert next_tick(100.0, 10.0, 3.5) == 103.5
    assert next_tick(103.5, 10.0, 3.5) == 113.5
    assert next_tick(1_796_000_000.2, 60.0, 59.9) == 1_796_000_039.9


def test_station_phase_is_a_stable_hash_in_whole_milliseconds() -> None:
    # SHA-256 of the id, first 8 bytes, modulo the interval in ms: the same in every process and release
    assert station_phase("w-001", 10.0) == 4.567
    assert station_phase("w-001", 60.0) == 14.567
    assert station_phase("w-001", 0.1) == pytest.approx(0.067)
    assert 0 <= station_phase("x", 0.0005) < 0.001


def test_a_fleet_spreads_evenly_over_the_interval() -> None:
    per_second = Counter(int(station_phase(f"station-{i:04d}", 10.0)) for i in range(1000))
    assert sorted(per_second) == list(range(10))
    assert all(70 <= n <= 130 for n in per_second.values()), per_second


def test_poll_phase_is_auto_by_default_off_or_seconds(tmp_path: Path) -> None:
    assert _edge(tmp_path, "").phase(10.0) == station_phase("s1", 10.0)
    assert _edge(tmp_path, 'poll_phase = "auto"').phase(60.0) == station_phase("s1", 60.0)
    assert _edge(tmp_path, 'poll_phase = "off"').phase(10.0) == 0.0
    explicit = _edge(tmp_path, "poll_phase = 12.5")
    assert (explicit.phase(10.0), explicit.phase(60.0)) == (2.5, 12.5)  # modulo each device's interval
    for bad in ("poll_phase = -1", 'poll_phase = "sometimes"'):
        with pytest.raises(ConfigError, match="poll_phase"):
            _edge(tmp_path, bad)


def test_hj212_interval_records_stay_on_the_period_grid_with_phased_polls() -> None:
    """Polls at 37 s past each minute: every 10-minute record still holds its ten polls and is stamped
    with the period's start, not a poll's instant."""
    t0 = datetime(2026, 11, 22, 1, 0, tzinfo=UTC)
    agg = Aggregator("2051", 600.0, "21", "MN1", "pw")
    records = []
    for k in range(21):  # two whole periods, and the first poll of the third closes the second
        at = t0 + timedelta(seconds=60 * k + 37)
        records += agg.add([Reading("s", "ph", 7.0 + (k % 10) / 10, "", at, Flag.N)], at)
    assert [r.cp.data_time for r in records] == [
        t0.astimezone(CST),
        (t0 + timedelta(minutes=10)).astimezone(CST),
    ]
    for record in records:
        (ph,) = record.cp.factors
        assert (ph.min, ph.max) == (7.0, 7.9)
        assert ph.avg == pytest.approx(7.45)
