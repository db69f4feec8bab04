"""The Bavarian-Hessen driver over its TCP link (a serial device server), against a loopback server that
answers like the simulated analyser: readings and flags, a garbled BCC (B, answered: no backoff), an
analyser that keeps quiet (B, unanswered), a dropped connection (re-opened on the next poll) and a
channel the analyser does not report (D)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from stationpipe.edge.config import EdgeConfig
from stationpipe.edge.drivers import DRIVERS
from stationpipe.edge.drivers.hessen import HessenDriver, HessenReader
from stationpipe.kernel.errors import DeviceChecksumError, DeviceError, DeviceTimeoutError
from stationpipe.kernel.hessen import frame
from stationpipe.kernel.reading import Flag
from stationpipe.simulators.hessen import garble
from stationpipe.testbed.services import free_port

pytestmark = pytest.mark.timeout(30)
NOX = "nox_hessen"
GOOD = frame(
    "MD03 001 +1000+01 00 00 000 000000 002 +2000+01 02 00 000 000000 003 +3000+01 00 01 000 000000 "
)

#: What the server does with one request: the bytes to answer (b"" = keep quiet, None = hang up).
Behaviour = Callable[[bytes], bytes | None]


@contextlib.asynccontextmanager
async def device_server(port: int, behaviour: Behaviour) -> AsyncIterator[list[bytes]]:
    """A loopback serial device server; yields the requests it received."""
    seen: list[bytes] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, asyncio.IncompleteReadError):
            while True:
                request = await reader.readuntil(b"\x03") + await reader.readexactly(2)
                seen.append(request)
                reply = behaviour(request)
                if reply is None:
                    break
                writer.write(reply)
                await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", port)
    async with server:
        yield seen


def _reader(tmp_path: Path, port: int, unit: int = 7) -> tuple[HessenDriver, HessenReader]:
    cfg = EdgeConfig.model_validate(
        {
            "station": "s1",
            "state_dir": str(tmp_path),
            "mqtt": {"client_id": "edge-s1"},
            "devices": [
                {
                    "name": "nox",
                    "profile": NOX,
                    "protocol": "hessen",
                    "link": {"type": "tcp", "host": "127.0.0.1", "port": port},
                    "unit": unit,
                    "timeout": 0.4,
                }
            ],
        }
    )
    (line,) = cfg.lines()
    driver = DRIVERS["hessen"](cfg, line)
    assert isinstance(driver, HessenDriver)
    (reader,) = driver.readers()
    assert isinstance(reader, HessenReader)
    return driver, reader


async def test_channels_become_readings_flagged_by_their_own_bytes(tmp_path: Path) -> None:
    port = free_port()
    driver, reader = _reader(tmp_path, port)
    async with device_server(port, lambda _: GOOD) as seen:
        poll = await reader.poll()
    driver.close()
    assert seen == [b"\x02DA007\x03" + seen[0][-2:]]
    got = {r.parameter: r for r in poll.readings}
    assert [r.parameter for r in poll.readings] == ["no", "no2", "nox"]
    assert {p: r.flag for p, r in got.items()} == {"no": Flag.N, "no2": Flag.M, "nox": Flag.D}
    assert got["no2"].unit == "ug/m3"
    assert got["no2"].value == pytest.approx(20.0 * 46.0055 / 24.465, rel=1e-3)  # ppb at 25 degC -> ug/m3
    assert (poll.answered, poll.errors) == (True, ())


async def test_a_garbled_bcc_is_one_failed_poll_not_a_silent_analyser(tmp_path: Path) -> None:
    port = free_port()
    driver, reader = _reader(tmp_path, port)
    replies = iter([garble(GOOD), GOOD])
    async with device_server(port, lambda _: next(replies)):
        bad, good = await reader.poll(), await reader.poll()
    driver.close()
    assert {r.flag for r in bad.readings} == {Flag.B}
    assert bad.answered
    assert [type(e) for e in bad.errors] == [DeviceChecksumError]
    assert [r.flag for r in good.readings] == [Flag.N, Flag.M, Flag.D]


async def test_a_quiet_analyser_is_unanswered_and_a_dropped_link_reopens(tmp_path: Path) -> None:
    port = free_port()
    driver, reader = _reader(tmp_path, port)
    replies = iter([b"", None, GOOD])
    async with device_server(port, lambda _: next(replies)) as seen:
        quiet = await reader.poll()
        dropped = await reader.poll()
        back = await reader.poll()
    driver.close()
    assert not quiet.answered
    assert [type(e) for e in quiet.errors] == [DeviceTimeoutError]
    assert {r.flag for r in quiet.readings} == {Flag.B}
    assert isinstance(dropped.errors[0], DeviceError)
    assert not dropped.answered
    assert {r.flag for r in dropped.readings} == {Flag.B}
    assert back.answered
    assert len(seen) == 3
    assert {r.flag for r in reader.unanswered()} == {Flag.B}


async def test_a_channel_missing_from_the_reply_is_d(tmp_path: Path) -> None:
    port = free_port()
    driver, reader = _reader(tmp_path, port)
    two = frame("MD02 001 +1000+01 00 00 000 000000 003 +3000+01 00 00 000 000000 ")
    async with device_server(port, lambda _: two):
        poll = await reader.poll()
    driver.close()
    assert [(r.parameter, r.flag, r.value is None) for r in poll.readings][1] == ("no2", Flag.D, True)
    assert driver.requests == 1
    async with device_server(port, lambda _: GOOD):
        once = await reader.read_once()  # what a one-shot check calls: one poll
    driver.close()
    assert [r.flag for r in once.readings] == [Flag.N, Flag.M, Flag.D]
