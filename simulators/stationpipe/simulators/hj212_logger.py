"""A simulated HJ 212-2017 data logger (数采仪): connects to a platform, uploads real-time (2011) or
hourly (2061) data of a simulated station, and honours the replies.

Every upload asks for a reply (Flag=5, A bit set). An upload stays pending until its 9014 arrives; on a
timeout, a refusal (9011) or a lost connection it is sent again after reconnecting, oldest first, so the
platform receives every upload at least once. The pending queue is bounded (oldest dropped, counted).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from stationpipe.hj212 import (
    CST,
    CpArea,
    DataSegment,
    FactorValue,
    FrameSplitter,
    Hj212Error,
    encode,
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
        splitter = FrameSplitter()
        while True:
            if not self.pending:
                self.wake.clear()
                await self.wake.wait()
                continue
            segment = self.pending[0]
            writer.write(encode(segment))
            await writer.drain()
            reply = await await_reply(reader, splitter, segment.qn, self.reply_timeout)
            if reply.cn == "9014":
                self.pending.popleft()
                self.acked.append(segment.qn or "")
                continue
            self.refused.append(int(reply.cp.param("QnRtn") or 0))
            raise TimeoutError(f"platform refused upload {segment.qn}: {reply.cp.params}")
