"""The HJ 212 output: reports the station's data upstream in HJ 212, the way a data logger (数采仪) does.

Every record (2011 real-time, 2051 minute, 2061 hourly) is encoded into a frame and kept in its own
on-disk outbox (the same bounded spool as the MQTT path, in ``state_dir/hj212/``) until the platform's
9014 for its QN arrives; frames are sent one at a time, oldest first, and resent after a timeout or a
lost connection. A refusal (9011) is logged once and the frame is kept: data is never dropped for a
platform-side error.

The edition (``[hj212] version``) is the wire's (:mod:`.hj212_wire`). In HJ 212-2025 a record is sent
with ``RF=1`` when it is backlog: it was kept before the agent started, or the platform was unreachable
between its making and its sending (everything in the outbox when the link comes back after being down);
a record made and sent while the link stays up is live and has no RF. Heartbeats (9015) go every
``heartbeat_interval`` while connected, each awaiting its reply like a record: a platform that no longer
answers is reconnected to.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import Callable

from stationpipe.edge.config import EdgeConfig, Hj212Uplink
from stationpipe.edge.hj212_records import Aggregator, realtime
from stationpipe.edge.outputs.base import Context
from stationpipe.edge.outputs.hj212_wire import Wire2025, wire_for
from stationpipe.edge.spool import Spool, SpoolLimits
from stationpipe.hj212 import DataSegment, FrameSplitter, Hj212Error, make_qn
from stationpipe.hj212.stream import await_reply
from stationpipe.kernel.backoff import Backoff
from stationpipe.kernel.qc import QcRecord
from stationpipe.kernel.reading import Reading, utc_now

log = logging.getLogger(__name__)


class Hj212Reporter:
    """Builds the records of every poll and sends them to the platform."""

    def __init__(self, config: EdgeConfig, uplink: Hj212Uplink) -> None:
        s = config.spool
        self.uplink = uplink
        self.outbox = Spool(
            config.state_dir / "hj212",
            SpoolLimits(s.max_messages, s.max_bytes, s.max_age),
            fsync_interval=s.fsync_every(),
            legacy_path=config.state_dir / "hj212.sqlite",
        )
        pw = uplink.password()
        self.aggregators = [
            Aggregator(cn, seconds, uplink.st, uplink.mn, pw)
            for cn, seconds in (("2051", uplink.minute_period), ("2061", 3600.0 if uplink.hourly else None))
            if seconds
        ]
        self._pw = pw
        self._last_qn = 0
        self._qc_told = False
        self._new = asyncio.Event()
        self.acked = 0
        self.heartbeats = 0  # heartbeats answered
        self.wire = wire_for(uplink)
        # Records with an id up to this are backlog (sent with RF=1 in HJ 212-2025); see the module docstring.
        self._backlog_upto = self.outbox.last_id()
        self._down = False
        if isinstance(self.wire, Wire2025) and not self.wire.encrypted:
            log.warning(
                "HJ 212-2025 uplink to %s:%d without an SM4 key: data areas go in plaintext "
                "(encryption is required over public networks; set key_env or key_file)",
                uplink.host,
                uplink.port,
            )

    def _unique(self, segment: DataSegment) -> DataSegment:
        return dataclasses.replace(segment, qn=self._next_qn(segment.qn))

    def _next_qn(self, qn: str | None) -> str:
        """``qn``, or the one after the last given when it is not later: QNs never repeat."""
        number = max(int(qn or 0), self._last_qn + 1)
        self._last_qn = number
        return str(number)

    def accept(self, device: str, readings: list[Reading]) -> None:  # noqa: ARG002 - records are per station
        """Queue the records this poll makes (the :class:`~stationpipe.edge.outputs.base.Output` call)."""
        self.record(readings)

    def accept_qc(self, records: tuple[QcRecord, ...]) -> None:
        """Not uploaded: no HJ 212 convention for a logger's QC upload was confirmed
        (docs/domain.md#quality-control-checks); checks reach the platform side through MQTT and the
        collector. Logged once."""
        if records and not self._qc_told:
            self._qc_told = True
            log.info("HJ 212 uplink: QC checks are not uploaded (no confirmed HJ 212 convention)")

    def record(self, readings: list[Reading]) -> None:
        """Queue the records this poll makes (its 2011 upload and any interval records it closes)."""
        now = utc_now()
        segments: list[DataSegment] = []
        if self.uplink.realtime and (rt := realtime(readings, self.uplink.st, self.uplink.mn, self._pw, now)):
            segments.append(rt)
        for agg in self.aggregators:
            segments.extend(agg.add(readings, now))
        for segment in segments:
            self.outbox.append(segment.cn, _payload(self.wire.store(self._unique(segment))))
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
                self._down = True
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
            self._link_up()
            try:
                await self._session(reader, writer)
            except (OSError, TimeoutError, Hj212Error) as exc:
                log.info("HJ 212 platform connection ended (%s); %d records waiting", exc, self.outbox.depth)
            finally:
                self._down = True
                writer.close()
            await asyncio.sleep(backoff.next_delay())

    def _link_up(self) -> None:
        """After an outage, everything in the outbox is backlog."""
        if self._down:
            self._backlog_upto = self.outbox.last_id()
            self._down = False

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        splitter = FrameSplitter()
        refused_logged = False
        loop = asyncio.get_running_loop()
        next_beat = loop.time()
        while True:
            beat = self.wire.heartbeat_interval
            if beat is not None and loop.time() >= next_beat:
                await self._heartbeat(reader, writer, splitter)
                next_beat = loop.time() + beat
                continue
            self._new.clear()
            pending = self.outbox.oldest(1)
            if not pending:
                await self._idle(None if beat is None else next_beat - loop.time())
                continue
            record = pending[0]
            frame, qn = self.wire.frame(record.payload, resend=record.id <= self._backlog_upto)
            writer.write(frame)
            await writer.drain()
            reply = await await_reply(reader, splitter, qn, self.uplink.reply_timeout, self.wire.codec)
            if reply.cn == "9014":
                self.outbox.delete(record)
                self.acked += 1
                continue
            if not refused_logged:
                log.warning("HJ 212 platform refused record %s: %s", qn, dict(reply.cp.params))
                refused_logged = True
            raise TimeoutError("refused by the platform; retrying later")

    async def _idle(self, within: float | None) -> None:
        """Wait for a new record, at most ``within`` seconds (``None``: no limit)."""
        if within is None:
            await self._new.wait()
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._new.wait(), max(within, 0.0))

    async def _heartbeat(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, splitter: FrameSplitter
    ) -> None:
        """One 9015 and its reply (any frame with its QN); ``TimeoutError`` when none comes in time."""
        qn = self._next_qn(make_qn(utc_now()))
        frame = self.wire.heartbeat(qn)
        if frame is None:
            return
        writer.write(frame)
        await writer.drain()
        await await_reply(reader, splitter, qn, self.uplink.reply_timeout, self.wire.codec)
        self.heartbeats += 1

    def close(self) -> None:
        """Close the outbox."""
        self.outbox.close()


def _payload(frame: bytes) -> Callable[[int], bytes]:
    return lambda _seq: frame


def hj212_output(config: EdgeConfig, context: Context) -> Hj212Reporter | None:  # noqa: ARG001
    """The reporter of ``[hj212]``; ``None`` without it."""
    return None if config.hj212 is None else Hj212Reporter(config, config.hj212)
