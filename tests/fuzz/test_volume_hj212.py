"""Bad HJ 212 input at volume against ``stationpipe hj212-server`` (a real process), the broker, the
collector and the database.

Twenty loggers connect at once; each sends a few hundred frames in arbitrary chunks: good uploads mixed
with line noise, broken CRCs, wrong length fields, truncated and oversized frames, unknown MNs, wrong
passwords, DataTimes no clock has, odd QNs and frames that are not uploads. Each connection gets exactly
the replies the protocol prescribes, in order (9014 for every good upload, 9011 with QnRtn 9/4/3 for a
bad CRC, an unknown MN, a wrong password; nothing for the rest); the server never logs a traceback,
still serves a new logger after the flood, and every good upload is stored.
"""

from __future__ import annotations

import asyncio
import random
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from stationpipe.hj212 import CST, CpArea, DataSegment, FactorValue, FrameSplitter, decode, encode
from stationpipe.hj212.frame import wrap
from stationpipe.testbed.services import Child, Services, free_port
from tests.integration.test_collector import collector_config, count, running, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]
STATION = "fz-hj212"
MN, PW = "FZ0001HJ212VOLUME", "fz-pw-1"
AT = datetime(2026, 11, 22, 0, 0, tzinfo=CST)
LOGGERS, GOOD_EACH, MAX_FRAME = 20, 60, 4096
Expected = tuple[str, str | None, str | None]  # CN, QN, QnRtn of a reply
Item = tuple[bytes, Expected | None]  # bytes sent, the reply they must get


def _upload(
    qn: str, at: datetime, mn: str = MN, pw: str = PW, cn: str = "2011", flag: int = 5
) -> DataSegment:
    factors = (FactorValue("w21003", rtd=0.5, flag="N"), FactorValue("w01001", rtd=7.1, flag="N"))
    return DataSegment("21", cn, qn=qn, pw=pw, mn=mn, flag=flag, cp=CpArea(at, (), factors))


def _noise(rng: random.Random, qn: str, at: datetime, good: bytes) -> Item:
    return rng.randbytes(rng.randrange(1, 300)).replace(b"#", b"%"), None


def _bad_crc(rng: random.Random, qn: str, at: datetime, good: bytes) -> Item:
    return good[:-6] + b"%04X\r\n" % ((int(good[-6:-2], 16) + 1) % 0x10000), ("9011", qn, "9")


def _bad_length(rng: random.Random, qn: str, at: datetime, good: bytes) -> Item:
    return b"##%04d" % (int(good[2:6]) + 1) + good[6:], None


def _truncated(rng: random.Random, qn: str, at: datetime, good: bytes) -> Item:
    return good[: rng.randrange(7, len(good) - 3)] + b"\r\n", None


def _oversized(rng: random.Random, qn: str, at: datetime, good: bytes) -> Item:
    body = good[6:-6] + b";" + b"x" * (MAX_FRAME + rng.randrange(100))
    return b"##9999" + body + b"0000\r\n", None


def _unknown_mn(rng: random.Random, qn: str, at: datetime, good: bytes) -> Item:
    return encode(_upload(qn, at, mn="NOBODY")), ("9011", qn, "4")


def _wrong_pw(rng: random.Random, qn: str, at: datetime, good: bytes) -> Item:
    return encode(_upload(qn, at, pw="wrong")), ("9011", qn, "3")


def _year_one(rng: random.Random, qn: str, at: datetime, good: bytes) -> Item:
    body = good[6:-6].replace(b"DataTime=" + f"{at:%Y%m%d%H%M%S}".encode(), b"DataTime=00010101000000")
    return wrap(body), None  # a CST wall clock with no UTC instant


def _not_an_upload(rng: random.Random, qn: str, at: datetime, good: bytes) -> Item:
    return encode(_upload(qn, at, cn="1011", flag=4)), None  # no answer wanted


def _stray_hashes(rng: random.Random, qn: str, at: datetime, good: bytes) -> Item:
    return b"#" * rng.randrange(1, 4) + rng.randbytes(20).replace(b"#", b"%") + b"\r\n", None


def _not_a_number(rng: random.Random, qn: str, at: datetime, good: bytes) -> Item:
    return wrap(good[6:-6].replace(b"w21003-Rtd=0.5", b"w21003-Rtd=1e999")), None


BAD = (
    _noise,
    _bad_crc,
    _bad_length,
    _truncated,
    _oversized,
    _unknown_mn,
    _wrong_pw,
    _year_one,
    _not_an_upload,
    _stray_hashes,
    _not_a_number,
)


def _bad(rng: random.Random, qn: str, at: datetime) -> Item:
    """One bad item and the reply it must get (``None``: none)."""
    return rng.choice(BAD)(rng, qn, at, encode(_upload(qn, at)))


def _stream(rng: random.Random, logger: int) -> tuple[bytes, list[Expected], int]:
    """One logger's bytes, the replies they must get, and how many uploads must be stored."""
    items: list[Item] = []
    for i in range(GOOD_EACH):
        at = AT + timedelta(seconds=logger * 1000 + i)
        qn = f"{logger:04d}{i:013d}"
        items.append((encode(_upload(qn, at)), ("9014", qn, None)))
        items.extend(_bad(rng, f"{logger:04d}9{i:08d}{j:04d}", at) for j in range(rng.randrange(0, 5)))
    odd = AT + timedelta(seconds=logger * 1000 + GOOD_EACH)
    items.append((encode(_upload("²", odd)), ("9014", "²", None)))  # odd QN, still a good upload
    rng.shuffle(items)
    data = b"".join(raw for raw, _ in items)
    return data, [reply for _, reply in items if reply is not None], GOOD_EACH + 1


async def _logger(port: int, data: bytes, expected: list[Expected], rng: random.Random) -> list[Expected]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    got: list[Expected] = []

    async def replies() -> None:
        splitter = FrameSplitter()
        while len(got) < len(expected):
            chunk = await reader.read(65536)
            assert chunk, f"server closed the connection after {len(got)} of {len(expected)} replies"
            for raw in splitter.feed(chunk):
                seg = decode(raw).segment
                rtn = dict(seg.cp.params).get("QnRtn")
                got.append((seg.cn, seg.qn, rtn))

    try:
        async with asyncio.timeout(90), asyncio.TaskGroup() as tg:
            tg.create_task(replies())
            at = 0
            while at < len(data):
                size = rng.randrange(1, 3000)
                writer.write(data[at : at + size])
                await writer.drain()
                at += size
    finally:
        writer.close()
    return got


def _config(services: Services, path: Path, port: int) -> Path:
    path.write_text(
        f'kind = "hj212-server"\nport = {port}\nidle_timeout = 60\nmax_frame = {MAX_FRAME}\n'
        f'publish_timeout = 10\n[mqtt]\nport = {services.mosquitto.port}\nclient_id = "fz-hj212-{port}"\n'
        f'[[loggers]]\nmn = "{MN}"\nstation = "{STATION}"\npassword_env = "FZ_HJ212_PW"\n',
        encoding="utf-8",
    )
    return path


async def test_thousands_of_bad_frames_are_refused_and_good_uploads_stored(
    services: Services, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FZ_HJ212_PW", PW)
    server = Child("hj212-server", tmp_path, port=free_port())
    config = _config(services, tmp_path / "hj212.toml", server.port)
    rng = random.Random(212)
    streams = [_stream(rng, n) for n in range(LOGGERS)]
    async with running(collector_config(services, tmp_path / "collector", "fz-hj212")):
        argv = [sys.executable, "-m", "stationpipe", "hj212-server", "--config", str(config)]
        await asyncio.to_thread(server.launch, argv, lambda: "HJ 212 server on" in _log(server), 30)
        try:
            results = await asyncio.gather(
                *(
                    _logger(server.port, data, exp, random.Random(n))
                    for n, (data, exp, _) in enumerate(streams)
                )
            )
            late = f"{LOGGERS:04d}{0:013d}"
            after = await _logger(
                server.port, encode(_upload(late, AT + timedelta(days=1))), [("9014", late, None)], rng
            )
            stored = sum(n for _, _, n in streams) + 1
            await wait_for(
                lambda: count(services, STATION, field="value") >= 2 * stored, "uploads stored", 60
            )
            assert server.proc is not None
            assert server.proc.poll() is None, "the server died"
        finally:
            server.stop()
    for (_, expected, _), got in zip(streams, results, strict=True):
        assert got == expected
    assert after == [("9014", late, None)]
    assert count(services, STATION, field="value") == 2 * stored
    log = _log(server)
    assert "Traceback" not in log, log[-3000:]
    assert "CRC mismatch" in log
    assert "over the 4096-byte limit" in log
    assert "unknown MN 'NOBODY'" in log
    assert "DataTime 0001-01-01T00:00:00+08:00 is out of range" in log


def _log(child: Child) -> str:
    try:
        return child.log_path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
