"""HJ 212 records the edge builds: real-time uploads and interval aggregates over valid values."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from stationpipe.edge.hj212_records import Aggregator, realtime
from stationpipe.hj212 import CST
from stationpipe.kernel.reading import Flag, Reading

T0 = datetime(2026, 11, 22, 1, 0, tzinfo=UTC)


def _r(param: str, value: float | None, seconds: float, flag: Flag = Flag.N) -> Reading:
    return Reading("s", param, value, "x", T0 + timedelta(seconds=seconds), flag)


def test_realtime_skips_parameters_without_a_code_and_keeps_flags() -> None:
    seg = realtime([_r("ph", 7.1, 0), _r("chla", 3.0, 0), _r("do", None, 0, Flag.B)], "21", "MN1", "pw", T0)
    assert seg is not None
    assert (seg.cn, seg.mn, seg.pw, seg.flag) == ("2011", "MN1", "pw", 5)
    assert seg.cp.data_time == T0.astimezone(CST)
    assert [(f.code, f.rtd, f.flag) for f in seg.cp.factors] == [("w01001", 7.1, "N"), ("w01009", None, "B")]
    assert realtime([_r("chla", 3.0, 0)], "21", "MN1", "pw", T0) is None


def test_interval_records_average_valid_values_and_close_on_the_next_period() -> None:
    agg = Aggregator("2051", 60.0, "21", "MN1", "pw")
    assert agg.add([_r("ph", 7.0, 0), _r("do", 5.0, 0)], T0) == []
    assert agg.add([_r("ph", 8.0, 30), _r("do", 9.0, 30, Flag.C)], T0) == []
    (record,) = agg.add([_r("ph", 7.5, 60)], T0)
    assert record.cn == "2051"
    assert record.cp.data_time == T0.astimezone(CST)  # the interval start
    by_code = {f.code: f for f in record.cp.factors}
    assert (by_code["w01001"].avg, by_code["w01001"].min, by_code["w01001"].max) == (7.5, 7.0, 8.0)
    assert by_code["w01009"].avg == 5.0  # the C-flagged value is not averaged


def test_a_period_without_valid_values_reports_the_prevailing_flag() -> None:
    agg = Aggregator("2061", 3600.0, "21", "MN1", "pw")
    agg.add([_r("ph", None, 0, Flag.B), _r("ph", None, 10, Flag.B)], T0)
    (record,) = agg.add([_r("ph", 7.0, 3600)], T0)
    (factor,) = record.cp.factors
    assert (factor.avg, factor.flag) == (None, "B")
