"""Fuzzing what comes back from instruments: ASCII records read through a template (SPL/1's and the
Vaisala WMT700's: line noise, bad checksums, odd values),
Bavarian-Hessen DA replies, and Modbus register words of every shipped register profile. A bad line is a
``DeviceError`` (the poll flags its points B); any register words decode to Readings (value finite or
none, flagged), never an exception."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stationpipe.edge.decode import decode_request, plan_requests, status_flags
from stationpipe.edge.hessen import Channel
from stationpipe.edge.hessen import parse_reply as parse_da_reply
from stationpipe.kernel.ascii_template import Record, resolve
from stationpipe.kernel.ascii_template import parse as parse_record
from stationpipe.kernel.errors import DeviceError
from stationpipe.kernel.hessen import frame as bh_frame
from stationpipe.kernel.nmea0183 import frame
from stationpipe.kernel.reading import Flag
from stationpipe.kernel.registermap import DataType, Order, Point, Profile, shipped_profiles
from tests.fuzz.mutations import attempt, mutate_bytes

pytestmark = pytest.mark.timeout(60)
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
ROOT = Path(__file__).resolve().parents[2]
TS = datetime(2026, 11, 22, 1, 2, 3, tzinfo=UTC)
SHIPPED = shipped_profiles()
PROFILES = [p for p in SHIPPED if not p.by_channel]  # register maps (channel profiles are Bavarian-Hessen)
#: A float64 point scaled up: the largest raw values overflow to infinity once scaled.
SCALED = Profile(
    name="scaled",
    points=(
        Point(parameter="ph", address=0, type=DataType.FLOAT64, scale=1000.0, unit="pH"),
        Point(parameter="do", address=4, type=DataType.FLOAT32, order=Order.DCBA, offset=-1e38, unit="mg/L"),
    ),
)
#: Words that make extreme floats (largest exponents, NaN, infinities, -0) as well as any word.
register_words = st.sampled_from([0, 0x7FEF, 0x7FF0, 0x7F7F, 0x7F80, 0x8000, 0xFFEF, 0xFFFF]) | st.integers(
    0, 0xFFFF
)
SPL1, WMT700 = resolve("spl1-water-five", None), resolve("vaisala-wmt700-mwv", None)
VALID = (
    frame("3,RD,temp=18.2,ph=7.12,do=8.4,cond=NA,turb=1e400,FL=N"),
    frame("3,RD,temp=abc,ph=7.12,do=8.4,cond=NA,turb=1,FL=N"),
    frame("3,RD,temp=,ph=-0,do=nan,cond=inf,turb=3,FL=M"),
    frame("3,ER,E4"),
    frame("3,ER,busy"),
    frame("WIMWV,045,R,011.63,N,A"),
    frame("WIMWV,,R,,N,V"),
)


def check_line(line: bytes, unit: int = 3) -> None:
    """The property for one reply line, through either template."""
    for template in (SPL1, WMT700):
        reply = attempt(lambda t=template: parse_record(t, line, unit), DeviceError)  # type: ignore[misc]
        if isinstance(reply, DeviceError):
            assert str(reply)
            continue
        assert isinstance(reply, Record)
        assert isinstance(reply.flag, Flag)
        assert set(reply.raw) == {f.group for f in template.fields}
        assert all(math.isnan(v) or math.isfinite(v) for v in reply.raw.values())


@FUZZ
@given(st.binary(max_size=300), st.integers(0, 300))
def test_arbitrary_serial_bytes(line: bytes, unit: int) -> None:
    check_line(line, unit)
    check_line(b"$" + line + b"\r\n", unit)


@FUZZ
@given(st.sampled_from(VALID), st.data())
def test_noisy_replies(line: bytes, data: st.DataObject) -> None:
    noise = data.draw(st.binary(max_size=20))
    check_line(noise + line)
    check_line(mutate_bytes(line, data.draw))
    at, byte = data.draw(st.integers(1, len(line) - 5)), data.draw(st.integers(0x80, 0xFF))
    check_line(line[:at] + bytes([byte]) + line[at:])  # a high byte inside the frame, checksum kept


@FUZZ
@given(st.text(alphabet="0123456789.eE+-naNAifIF", max_size=12), st.sampled_from("NFMSDCTBX?"))
def test_odd_values_with_a_good_checksum(value: str, flag: str) -> None:
    check_line(frame(f"3,RD,ph={value},FL={flag}"))


@FUZZ
@given(st.sampled_from([*PROFILES, SCALED]), st.data())
def test_any_register_words_decode_to_flagged_readings(profile: Profile, data: st.DataObject) -> None:
    for req in plan_requests(profile, max_gap=8):
        words = data.draw(st.lists(register_words, min_size=req.count, max_size=req.count))
        readings = decode_request(profile, req, words, "fz", TS)
        assert [r.parameter for r in readings] == [p.parameter for p in req.points]
        for reading in readings:
            assert reading.value is None or math.isfinite(reading.value)
            assert reading.flag in {Flag.N, Flag.D, Flag.T}
        assert status_flags(profile, req, words) <= set(Flag)


DA_REPLIES = (
    bh_frame(
        "MD03 001 +1234+01 00 00 000 000000 002 +5678-01 04 00 000 000000 003 +0000+00 00 01 000 000000 "
    ),
    bh_frame("MD01 097 +1234+01 00 00000 00000000 "),
)


def check_da_reply(data: bytes) -> None:
    """The property for one Bavarian-Hessen reply: channels with finite values and byte-sized bytes, or
    a ``DeviceError``."""
    reply = attempt(lambda: parse_da_reply(data), DeviceError)
    if isinstance(reply, DeviceError):
        assert str(reply)
        return
    assert isinstance(reply, list)
    for channel in reply:
        assert isinstance(channel, Channel)
        assert math.isfinite(channel.value)
        assert 0 <= channel.status <= 0xFF
        assert 0 <= channel.error <= 0xFF
        assert isinstance(channel.flag(), Flag)


@FUZZ
@given(st.binary(max_size=300))
def test_arbitrary_bytes_as_a_da_reply(data: bytes) -> None:
    check_da_reply(data)
    check_da_reply(b"\x02" + data + b"\x03")


@FUZZ
@given(st.sampled_from(DA_REPLIES), st.data())
def test_noisy_da_replies(reply: bytes, data: st.DataObject) -> None:
    check_da_reply(data.draw(st.binary(max_size=20)) + reply)
    check_da_reply(mutate_bytes(reply, data.draw))


@FUZZ
@given(st.text(alphabet="0123456789+- MDABCDEF", max_size=80))
def test_da_texts_with_a_good_bcc(text: str) -> None:
    check_da_reply(bh_frame("MD01 " + text))
