"""The ASCII sensor line protocol (SPL/1): checksum, framing, parsing and answers, without a pty."""

from __future__ import annotations

import random

import pytest

from stationpipe.kernel.registermap import load_profile
from stationpipe.kernel.registry import WaterClass
from stationpipe.kernel.spl import checksum, frame
from stationpipe.simulators.ascii_sensor import FrameError, answer, parse
from stationpipe.simulators.board import Board
from stationpipe.simulators.fleetgen import PROFILES
from stationpipe.simulators.instrument import Instrument
from stationpipe.simulators.model import StationModel
from stationpipe.simulators.scenarios import Fault, Garbage, ModbusException, Scenario, Silent


def sensor(*scenarios: Scenario) -> dict[int, Instrument]:
    board = Board.of(scenarios)
    model = StationModel.typical(WaterClass.III, 1)
    return {3: Instrument("probe", load_profile(PROFILES / "water_five.toml"), model, 3, board)}


@pytest.mark.parametrize(("body", "cs"), [("3,RD", "09"), ("", "00"), ("A", "41"), ("AB", "03")])
def test_checksum_is_the_xor_of_the_body(body: str, cs: str) -> None:
    assert checksum(body) == cs


def test_frame_and_parse_round_trip() -> None:
    assert frame("3,RD") == b"$3,RD*09\r\n"
    assert parse(b"\x00\xff noise $3,RD*09\r") == ["3", "RD"]
    assert parse(b"$3,RD*09") == ["3", "RD"]


@pytest.mark.parametrize(
    ("line", "reason", "unit"), [(b"$3,RD*FF", "CS", 3), (b"hello", "", None), (b"$x,RD*00", "CS", None)]
)
def test_bad_frames(line: bytes, reason: str, unit: int | None) -> None:
    with pytest.raises(FrameError) as err:
        parse(line)
    assert (err.value.reason, err.value.unit) == (reason, unit)


async def test_a_reading_lists_every_point_and_the_flag() -> None:
    reply = await answer(sensor(), frame("3,RD"), random.Random(0))
    fields = parse(reply)
    assert fields[:2] == ["3", "RD"]
    assert [f.split("=")[0] for f in fields[2:]] == ["temp", "ph", "do", "cond", "turb", "FL"]
    assert fields[-1] == "FL=N"
    assert 6.0 < float(fields[3].split("=")[1]) < 9.0


@pytest.mark.parametrize(
    ("request_line", "expected"),
    [
        (frame("3,XX"), frame("3,ER,CMD")),
        (b"$3,RD*00\r\n", frame("3,ER,CS")),
        (frame("4,RD"), b""),  # another sensor's address: silence
        (b"garbage", b""),
    ],
)
async def test_errors(request_line: bytes, expected: bytes) -> None:
    assert await answer(sensor(), request_line, random.Random(0)) == expected


async def test_scenarios_on_the_line() -> None:
    fault = sensor(Fault(kind="fault", name="f", active=True))
    assert parse(await answer(fault, frame("3,RD"), random.Random(0)))[2:] == [
        "temp=NA",
        "ph=NA",
        "do=NA",
        "cond=NA",
        "turb=NA",
        "FL=D",
    ]
    assert (
        await answer(sensor(Silent(kind="silent", name="s", active=True)), frame("3,RD"), random.Random(0))
        == b""
    )
    busy = sensor(ModbusException(kind="exception", name="e", code=6, active=True))
    assert await answer(busy, frame("3,RD"), random.Random(0)) == frame("3,ER,E6")
    noisy = await answer(
        sensor(Garbage(kind="garbage", name="g", count=5, active=True)), frame("3,RD"), random.Random(0)
    )
    assert len(noisy) > 5
    assert not noisy.startswith(b"$3,RD")
    assert parse(noisy)[:2] == ["3", "RD"]
