"""The HJ 212 output: reports the station's data upstream in HJ 212-2017, the way a data logger (数采仪) does.

Every record (2011 real-time, 2051 minute, 2061 hourly) is encoded into a frame and kept in its own
on-disk outbox (the same bounded SQLite spool as the MQTT path) until the platform's 9014 for its QN
arrives; frames are sent one at a time, oldest first, and resent after a timeout or a lost connection.
A refusal (9011) is logged once and the frame is kept: data is never dropped for a platform-side error.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Callable

from stationpipe.edge.config import EdgeConfig, Hj212Uplink
from stationpipe.edge.hj212_records import Aggregator, realtime
from stationpipe.edge.outputs.base import Context
from stationpipe.edge.spool import Spool, Spooled, SpoolLimits
from stationpipe.hj212 import DataSegment, FrameSplitter, Hj212Error, decode, encode
from stationpipe.hj212.stream import await_reply
from stationpipe.kernel.backoff import Backoff
from stationpipe.kernel.reading import Reading, utc_now

log = logging.getLogger(__name__)


class Hj212Reporter:
    """Builds the records of every poll and sends them to the platform."""

    def __init__(self, config: EdgeConfig, uplink: Hj212Uplink) -> None:
        s = config.spool
        self.uplink = uplink
        self.outbox = Spool(
            config.state_dir / "hj212.sqlite", SpoolLimits(s.max_messages, s.max_bytes, s.max_age)
        )
        pw = uplink.password()
        self.aggregators = [
            Aggregator(cn, seconds, uplink.st, uplink.mn, pw)
            for cn, seconds in (("2051", uplink.minute_period), ("2061", 3600.0 if uplink.hourly else None))
            if seconds
        ]
        self._pw = pw
        self._last_qn = 0
        self._new = asyncio.Event()
        self.acked = 0

    def _unique(self, segment: DataSegment) -> DataSegment:
        qn = max(int(segment.qn or 0), self._last_qn + 1)
        self._last_qn = qn
        return dataclasses.replace(segment, qn=str(qn))

    def accept(self, device: str, readings: list[Reading]) -> None:  # noqa: ARG002 - records are per station
        """Queue the records this poll makes (the :class:`~stationpipe.edge.outputs.base.Output` call)."""
        self.record(readings)

    def record(self, readings: list[Reading]) -> None:
        """Queue the records this poll makes (its 2011 upload and any interval records it closes)."""
        now = utc_now()
        segments: list[DataSegment] = []
        if self.uplink.realtime and (rt := realtime(readings, self.uplink.st, self.uplink.mn, self._pw, now)):
            segments.append(rt)
        for agg in self.aggregators:
            segments.extend(agg.add(readings, now))
        for segment in segments:
            self.outbox.append(segment.cn, _payload(encode(self._unique(segment))))
        if segments:
            self._new.set()

    async def run(self) -> None:
        """Send forever, reconnecting with backoff."""
        backoff = Backoff(initial=1.0, cap=60.0)
        up = True
        while True:
            try:
                reader, writer = await asyncio.wait_for(
                    asyncio.open_connection(self.uplink.host, self.uplink.port), self.uplink.reply_timeout
                )
            except (OSError, TimeoutError) as exc:
                if up:
                    log.warning(
                        "HJ 212 platform %s:%d unreachable (%s); keeping %d records",
                        self.uplink.host,
                        self.uplink.port,
                        exc,
                        self.outbox.depth,
                    )
                    up = False
                await asyncio.sleep(backoff.next_delay())
                continue
            up = True
            backoff.reset()
            try:
                await self._session(reader, writer)
            except (OSError, TimeoutError, Hj212Error) as exc:
                log.info("HJ 212 platform connection ended (%s); %d records waiting", exc, self.outbox.depth)
            finally:
                writer.close()
            await asyncio.sleep(backoff.next_delay())

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        splitter = FrameSplitter()
        refused_logged = False
        while True:
            self._new.clear()
            pending = self.outbox.oldest(1)
            if not pending:
                await self._new.wait()
                continue
            record = pending[0]
            writer.write(record.payload)
            await writer.drain()
            reply = await await_reply(reader, splitter, _qn(record), self.uplink.reply_timeout)
            if reply.cn == "9014":
                self.outbox.delete(record)
                self.acked += 1
                continue
            if not refused_logged:
                log.warning("HJ 212 platform refused record %s: %s", _qn(record), dict(reply.cp.params))
                refused_logged = True
            raise TimeoutError("refused by the platform; retrying later")

    def close(self) -> None:
        """Close the outbox."""
        self.outbox.close()


def _payload(frame: bytes) -> Callable[[int], bytes]:
    return lambda _seq: frame


def _qn(record: Spooled) -> str | None:
    return decode(record.payload).segment.qn


def hj212_output(config: EdgeConfig, context: Context) -> Hj212Reporter | None:  # noqa: ARG001
    """The reporter of ``[hj212]``; ``None`` without it."""
    return None if config.hj212 is None else Hj212Reporter(config, config.hj212)
