"""The simulated HJ 212 logger's uploads and its place in a sim config."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from stationpipe.hj212 import CST, decode, encode
from stationpipe.kernel.config import load
from stationpipe.kernel.errors import ConfigError
from stationpipe.kernel.registry import WaterClass
from stationpipe.simulators.config import SimConfig
from stationpipe.simulators.hj212_logger import DataLogger
from stationpipe.simulators.model import StationModel

AT = datetime(2026, 11, 22, 1, 17, 30, 250000, tzinfo=UTC)


def _logger() -> DataLogger:
    return DataLogger(
        "127.0.0.1", 1, "MN9", "pw", StationModel.typical(WaterClass.III, seed=1), ("ph", "nh3n")
    )


def test_realtime_and_hourly_uploads_encode_and_ask_for_a_reply() -> None:
    logger = _logger()
    rt = decode(encode(logger.upload(AT))).segment
    assert (rt.cn, rt.mn, rt.pw, rt.needs_reply) == ("2011", "MN9", "pw", True)
    assert rt.cp.data_time == AT.astimezone(CST).replace(microsecond=0)
    assert [f.code for f in rt.cp.factors] == ["w01001", "w21003"]
    assert rt.cp.factors[0].rtd == pytest.approx(
        StationModel.typical(WaterClass.III, seed=1).value("ph", AT), abs=1e-4
    )
    hourly = logger.upload(AT, "2061")
    assert hourly.cp.data_time == AT.astimezone(CST).replace(minute=0, second=0, microsecond=0)
    assert hourly.cp.factors[1].avg is not None


def test_pending_queue_is_bounded() -> None:
    logger = _logger()
    logger.max_pending = 3
    for _ in range(5):
        logger.produce(AT)
    assert (len(logger.pending), logger.dropped) == (3, 2)


def test_sim_config_takes_loggers_and_refuses_an_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "sim.toml"
    path.write_text('kind = "sim"\n[[loggers]]\nname = "l1"\nstation = "s1"\nmn = "MN1"\nport = 8212\n')
    cfg = load(path, SimConfig)
    assert cfg.loggers[0].hourly
    path.write_text('kind = "sim"\n')
    with pytest.raises(ConfigError, match="nothing to simulate"):
        load(path, SimConfig)
