"""A simulated analyser that speaks HJ 212 to its data logger, on a pty or as a TCP server (a serial
device server in front of it), as water and air analysers do at real stations.

Push mode: every ``interval`` seconds (a little jitter, as an analyser's own clock gives) it writes one
CN 2011 real-time frame: ``DataTime`` (CST, whole seconds) and ``<code>-Rtd``/``<code>-Flag`` for each of
its parameters (the catalogue's HJ 212 code, the station model's value, the flag its scenarios raise: D
without a value when it has none). Request mode: it stays quiet until the logger sends CN 2011, answers
9011 ``QnRtn=1`` when the request's Flag asks, then one real-time frame carrying the request's QN.

Bytes go out at the line's baud rate (10 bits a byte). Every ``noise_every``-th frame has line noise
before it, every ``bad_crc_every``-th a wrong CRC, every ``split_every``-th is written in two parts with
a pause between them; scenarios add ``garbage`` (noise), ``slow`` (a delay) and ``silent``. Its uploads
ask for the logger's 9014 (``ack``); the replies it gets are counted (``acked``, ``refused``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import random
from collections.abc import Callable
from datetime import datetime

from stationpipe.hj212 import (
    CODECS,
    CST,
    Cn,
    Codec,
    Codec2025,
    CpArea,
    DataSegment,
    FactorValue,
    FrameSplitter,
    Hj212Error,
    KeyRing,
    PacketFlag,
    QnRtn,
    Version,
    make_qn,
    qn_rtn,
)
from stationpipe.hj212.codes import FLAG_VERSION_2017, FLAG_VERSION_2025
from stationpipe.kernel.catalogue import CATALOGUE
from stationpipe.kernel.reading import Flag, utc_now
from stationpipe.simulators.board import Board, Effects
from stationpipe.simulators.config import HjAnalyserSim
from stationpipe.simulators.model import StationModel
from stationpipe.simulators.pty_line import Pty, publish_link, remove_link

log = logging.getLogger(__name__)
SPLIT_PAUSE = 0.2  # seconds between the two writes of a split frame (longer than a reader's tick)
JITTER = 0.02  # relative jitter of the push period
_FLAG_ORDER = (Flag.D, Flag.C, Flag.M, Flag.F, Flag.T)


def line_noise(rng: random.Random) -> bytes:
    """A burst of line noise: 4-16 random bytes, never ``#`` (so never the start of a frame)."""
    return bytes(rng.choice([b for b in range(256) if b != 0x23]) for _ in range(rng.randint(4, 16)))


def bad_crc(frame: bytes) -> bytes:
    """The frame with a CRC that does not match its data segment."""
    crc = int(frame[-6:-2], 16) ^ 0x5A5A
    return frame[:-6] + b"%04X\r\n" % crc


class Analyser:
    """One analyser: what it sends, and what it makes of the logger's replies."""

    def __init__(self, cfg: HjAnalyserSim, board: Board) -> None:
        self.cfg, self.board = cfg, board
        self.model = StationModel.typical(cfg.water_class, cfg.seed, cfg.air_level)
        self.codec: Codec = CODECS[Version.HJ212_2017]
        if cfg.version == "2025":
            key = cfg.key()
            self.codec = Codec2025(KeyRing({cfg.mn: key}) if key is not None else KeyRing())
        self.version = FLAG_VERSION_2025 if cfg.version == "2025" else FLAG_VERSION_2017
        self.rng = random.Random(cfg.seed)  # noqa: S311 - simulation, not crypto
        self.splitter = FrameSplitter(lf_alone=True)
        self.sent = self.requests = 0
        self.acked: list[str] = []
        self.refused: list[int] = []
        self._asked: asyncio.Queue[DataSegment] = asyncio.Queue(8)

    def effects(self, at: datetime) -> Effects:
        """What the active scenarios do to it now."""
        return self.board.effects(self.cfg.name, at)

    def realtime(self, at: datetime, effects: Effects, qn: str | None = None) -> DataSegment:
        """The CN 2011 frame for instant ``at``."""
        flag = next((f for f in _FLAG_ORDER if f in effects.flags), Flag.N)
        factors = []
        for code in self.cfg.parameters:
            hj = CATALOGUE[code].hj212
            assert hj is not None  # the config validator guarantees it
            value = effects.value(self.model, code, at)
            if math.isfinite(value):
                factors.append(FactorValue(hj, rtd=round(value, 3), flag=flag.value))
            else:
                factors.append(FactorValue(hj, flag=Flag.D.value))
        return DataSegment(
            self.cfg.st,
            Cn.REALTIME,
            qn=qn or make_qn(at),
            pw=self.cfg.password,
            mn=self.cfg.mn,
            flag=PacketFlag.make(version=self.version, ack=self.cfg.ack).value,
            cp=CpArea(data_time=at.astimezone(CST).replace(microsecond=0), factors=tuple(factors)),
        )

    def chunks(self, frame: bytes, effects: Effects) -> list[bytes]:
        """The writes that carry one frame, with this frame's faults (counted per frame sent)."""
        self.sent += 1
        n = self.sent
        if self.cfg.bad_crc_every and n % self.cfg.bad_crc_every == 0:
            frame = bad_crc(frame)
        prefix = b""
        if self.cfg.noise_every and n % self.cfg.noise_every == 0:
            prefix = line_noise(self.rng)
        if effects.garbage:
            prefix += bytes(self.rng.choice(b"\x00\x7f\xff~") for _ in range(effects.garbage))
        data = prefix + frame
        if self.cfg.split_every and n % self.cfg.split_every == 0:
            cut = len(prefix) + self.rng.randint(8, len(frame) - 8)
            return [data[:cut], data[cut:]]
        return [data]

    def hear(self, data: bytes) -> None:
        """Bytes from the logger: 9014 replies, 9011 refusals, CN 2011 requests."""
        self.splitter.feed(data)
        with contextlib.suppress(StopIteration):
            while True:
                try:
                    raw = next(self.splitter)
                    segment = self.codec.decode(raw).segment
                except Hj212Error as exc:
                    log.info("analyser %s: unreadable frame from the logger: %s", self.cfg.name, exc)
                    continue
                self._heard(segment)

    def _heard(self, segment: DataSegment) -> None:
        if segment.cn == Cn.DATA_RTN:
            self.acked.append(segment.qn or "")
        elif segment.cn == Cn.QN_RTN:
            self.refused.append(int(segment.cp.param("QnRtn") or 0))
        elif segment.cn == Cn.REALTIME and segment.mn in (None, self.cfg.mn) and not self._asked.full():
            self.requests += 1
            self._asked.put_nowait(segment)

    async def send(self, write: Callable[[bytes], None], segment: DataSegment, effects: Effects) -> None:
        """Write one data frame at the line's pace, with its faults (split frames pause between parts)."""
        await asyncio.sleep(effects.delay)
        for n, chunk in enumerate(self.chunks(self.codec.encode(segment), effects)):
            if n:
                await asyncio.sleep(SPLIT_PAUSE)
            await self._line(write, chunk)

    async def _line(self, write: Callable[[bytes], None], data: bytes) -> None:
        """Write ``data`` once the line has carried it (10 bits a byte at the baud rate)."""
        await asyncio.sleep(len(data) * 10 / self.cfg.baudrate)
        write(data)

    async def push(self, write: Callable[[bytes], None]) -> None:
        """Push mode: a real-time frame every ``interval`` (jittered) while not silent."""
        while True:
            await asyncio.sleep(self.cfg.interval * (1 + self.rng.uniform(-JITTER, JITTER)))
            at = utc_now()
            effects = self.effects(at)
            if not effects.silent:
                await self.send(write, self.realtime(at, effects), effects)

    async def answer(self, write: Callable[[bytes], None]) -> None:
        """Request mode: 9011 (when asked for) and one real-time frame per CN 2011 request."""
        while True:
            request = await self._asked.get()
            at = utc_now()
            effects = self.effects(at)
            if effects.silent:
                continue
            if request.needs_reply:  # a reply, not a data frame: no faults scheduled on it
                await self._line(write, self.codec.encode(qn_rtn(request, QnRtn.READY)))
            await self.send(write, self.realtime(at, effects, request.qn), effects)

    async def speak(self, write: Callable[[bytes], None]) -> None:
        """Push or answer, until cancelled."""
        await (self.push(write) if self.cfg.mode == "push" else self.answer(write))


async def _serve_pty(analyser: Analyser) -> None:
    cfg = analyser.cfg
    pty = Pty.open()
    publish_link(pty.path, cfg.link)
    log.info("HJ 212 analyser %s (MN %s, %s): open %s", cfg.name, cfg.mn, cfg.mode, pty.path)
    loop = asyncio.get_running_loop()
    loop.add_reader(pty.master, lambda: analyser.hear(pty.read()))
    try:
        await analyser.speak(pty.write)
    finally:
        loop.remove_reader(pty.master)
        pty.close()
        remove_link(cfg.link)


async def _serve_tcp(analyser: Analyser) -> None:
    cfg = analyser.cfg
    writers: set[asyncio.StreamWriter] = set()

    def write(data: bytes) -> None:
        for writer in list(writers):
            if writer.is_closing():
                writers.discard(writer)
            else:
                writer.write(data)

    async def client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.add(writer)
        try:
            while data := await reader.read(4096):
                analyser.hear(data)
        except OSError:
            pass
        finally:
            writers.discard(writer)
            writer.close()

    assert cfg.port is not None
    server = await asyncio.start_server(client, cfg.host, cfg.port)
    log.info("HJ 212 analyser %s (MN %s, %s) on %s:%d", cfg.name, cfg.mn, cfg.mode, cfg.host, cfg.port)
    try:
        async with server:
            await analyser.speak(write)
    finally:
        for writer in list(writers):
            writer.close()  # switched off: its connections end too


async def serve_analyser(analyser: Analyser) -> None:
    """Serve one analyser on its pty or TCP port until cancelled."""
    if analyser.cfg.port is not None:
        await _serve_tcp(analyser)
    else:
        await _serve_pty(analyser)
