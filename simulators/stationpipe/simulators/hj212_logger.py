"""A simulated HJ 212 data logger (数采仪): connects to a platform, uploads real-time (2011) or
hourly (2061) data of a simulated station, and honours the replies.

Every upload asks for a reply (Flag=5, A bit set). An upload stays pending until its 9014 arrives; on a
timeout, a refusal (9011) or a lost connection it is sent again after reconnecting, oldest first, so the
platform receives every upload at least once. The pending queue is bounded (oldest dropped, counted).

With ``version = HJ212_2025`` it speaks HJ 212-2025: Flag carries version 2025 (9 for an upload), the
data area is SM4-encrypted with ``key`` (none: plaintext), every upload still pending when a connection
is made again after an outage is re-sent with ``RF=1``, and with ``heartbeat`` it sends a 9015 heartbeat
(asking for the 9013 reply) on connecting and every ``heartbeat`` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

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
    Version,
    make_qn,
)
from stationpipe.hj212.stream import await_reply
from stationpipe.kernel.backoff import Backoff
from stationpipe.kernel.catalogue import CATALOGUE
from stationpipe.kernel.reading import utc_now
from stationpipe.simulators.model import StationModel

log = logging.getLogger(__name__)


@dataclass
class DataLogger:
    """One logger for one simulated station: 2011 every ``interval`` s, and 2061 for each finished hour
    when ``hourly`` is set."""

    host: str
    port: int
    mn: str
    password: str
    model: StationModel
    parameters: tuple[str, ...]
    st: str = "21"
    interval: float = 30.0
    hourly: bool = False
    reply_timeout: float = 5.0
    max_pending: int = 10_000
    pending: deque[DataSegment] = field(default_factory=deque)
    acked: list[str] = field(default_factory=list)
    refused: list[int] = field(default_factory=list)
    dropped: int = 0
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    version: Version = Version.HJ212_2017
    key: bytes | None = field(default=None, repr=False)
    heartbeat: float | None = None
    sessions: int = 0
    heartbeats: int = 0
    resent: list[str] = field(default_factory=list)

    @property
    def codec(self) -> Codec:
        """The codec of its edition (HJ 212-2025 with its key, if it has one)."""
        if self.version is Version.HJ212_2017:
            return CODECS[Version.HJ212_2017]
        return Codec2025(KeyRing({self.mn: self.key}) if self.key is not None else KeyRing())

    def upload(self, at: datetime, cn: str = "2011") -> DataSegment:
        """The upload for instant ``at``: Rtd (2011) or Avg/Min/Max (2061) of every parameter, flag N."""
        stamp = at.astimezone(CST).replace(microsecond=0)
        if cn == "2061":
            stamp = stamp.replace(minute=0, second=0)
        factors = []
        for code in self.parameters:
            value = round(self.model.value(code, at), 4)
            hj = CATALOGUE[code].hj212
            assert hj is not None, f"{code} has no HJ 212 code"
            if cn == "2011":
                factors.append(FactorValue(hj, rtd=value, flag="N"))
            else:
                factors.append(FactorValue(hj, avg=value, min=value, max=value, flag="N"))
        return DataSegment(
            self.st,
            cn,
            qn=make_qn(at),
            pw=self.password,
            mn=self.mn,
            flag=5,
            cp=CpArea(data_time=stamp, factors=tuple(factors)),
        )

    def produce(self, at: datetime, cn: str = "2011") -> None:
        """Queue one upload (dropping the oldest when the queue is full)."""
        if len(self.pending) >= self.max_pending:
            self.pending.popleft()
            self.dropped += 1
        self.pending.append(self.upload(at, cn))

    async def run(self) -> None:
        """Produce every ``interval`` and keep sending, reconnecting with backoff, until cancelled."""
        async with asyncio.TaskGroup() as tg:
            tg.create_task(self._produce_forever())
            tg.create_task(self._send_forever())

    async def _produce_forever(self) -> None:
        hour = utc_now().replace(minute=0, second=0, microsecond=0)
        while True:
            now = utc_now()
            self.produce(now)
            if self.hourly and now - hour >= timedelta(hours=1):
                self.produce(hour, "2061")  # the hour that just ended, stamped at its start
                hour = now.replace(minute=0, second=0, microsecond=0)
            self.wake.set()
            await asyncio.sleep(self.interval)

    async def _send_forever(self) -> None:
        backoff = Backoff(initial=0.2, cap=10)
        while True:
            try:
                reader, writer = await asyncio.wait_for(asyncio.open_connection(self.host, self.port), 5)
            except (OSError, TimeoutError):
                await asyncio.sleep(backoff.next_delay())
                continue
            backoff.reset()
            try:
                await self._session(reader, writer)
            except (OSError, TimeoutError, Hj212Error) as exc:
                log.info("logger %s: connection ended (%s)", self.mn, exc)
            finally:
                writer.close()
            await asyncio.sleep(backoff.next_delay())

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.sessions += 1
        codec = self.codec
        if self.sessions > 1 and self.version is Version.HJ212_2025:
            self._mark_resent()
        splitter = FrameSplitter()
        beat = time.monotonic()  # the first heartbeat on connecting
        while True:
            if self.heartbeat is not None and time.monotonic() >= beat:
                writer.write(codec.encode(self._heartbeat()))
                await writer.drain()
                self.heartbeats += 1
                beat = time.monotonic() + self.heartbeat
            if not self.pending:
                self.wake.clear()
                await self._idle(beat)
                continue
            segment = self.pending[0]
            writer.write(codec.encode(segment))
            await writer.drain()
            reply = await await_reply(reader, splitter, segment.qn, self.reply_timeout)
            if reply.cn == "9014":
                self.pending.popleft()
                self.acked.append(segment.qn or "")
                continue
            self.refused.append(int(reply.cp.param("QnRtn") or 0))
            raise TimeoutError(f"platform refused upload {segment.qn}: {reply.cp.params}")

    def _mark_resent(self) -> None:
        """HJ 212-2025: what is still pending after an outage is re-sent data (``RF=1``)."""
        for n, segment in enumerate(self.pending):
            if not segment.rf:
                self.pending[n] = replace(segment, rf=True)
                self.resent.append(segment.qn or "")

    def _heartbeat(self) -> DataSegment:
        """A 9015 heartbeat asking for its reply (HJ 212-2025)."""
        qn = make_qn(utc_now())
        return DataSegment(self.st, Cn.HEARTBEAT, qn=qn, pw=self.password, mn=self.mn, flag=9, cp=CpArea())

    async def _idle(self, beat: float) -> None:
        """Wait for the next upload, or until the next heartbeat is due."""
        if self.heartbeat is None:
            await self.wake.wait()
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(max(0.0, beat - time.monotonic())):
                await self.wake.wait()
