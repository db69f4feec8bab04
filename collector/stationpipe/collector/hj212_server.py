"""``stationpipe hj212-server``: an asyncio TCP server for HJ 212-2017 and HJ 212-2025 data loggers.

Per connection: frames are cut from the byte stream across partial reads (several per read, garbage
between them skipped, oversized ones discarded, a frame ending in LF alone taken and counted); each frame
is checked (CRC, MN, PW) and answered with the QnRtn code where the protocol has one (9 CRC, 4 unknown MN,
3 wrong password); uploads become Readings (collector/hj212_map.py) published to MQTT, and 9014 is sent
when the A bit asks for it and the broker has the data. Idle connections are closed after
``idle_timeout``; reasons are logged once per connection.

The edition is the logger's, from configuration (found by the frame's MN, never guessed from Flag).
HJ 212-2025 loggers (collector/hj212_frames.py, hj212_keys.py): the data area is decrypted with the
logger's SM4 key; a frame that does not decrypt is refused with 9011 QnRtn=100 (docs/domain.md: the
standard's prescribed reply was not found) and a log line naming the MN, never the key. ``RF=1`` uploads
are published marked ``backfill``. A 9015 heartbeat is published as an ``online`` status message (a
deadman rule with ``watch = "status"`` raises a warning when they stop) and answered with 9013 when its
Flag asks for a reply. CN 1014 carrying ``NewKey`` sets the logger's new key; the old one is accepted for
``key_grace`` seconds. Split packets are reassembled in both editions.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict

from stationpipe.collector.hj212_config import Hj212ServerConfig, Logger
from stationpipe.collector.hj212_frames import decode_2025, header_of, peek_mn
from stationpipe.collector.hj212_keys import KeyStore
from stationpipe.collector.hj212_map import UPLOADS, to_checks, to_message
from stationpipe.collector.hj212_publish import ReadingsPublisher
from stationpipe.hj212 import (
    CODECS,
    CipherError,
    Cn,
    CrcError,
    DataSegment,
    Deviations,
    FrameSplitter,
    Hj212Error,
    QnRtn,
    Version,
    data_reply,
    decode,
    encode,
    notify_reply,
    qn_rtn,
    reassemble,
)
from stationpipe.hj212.keyring import parse_key
from stationpipe.kernel.errors import BrokerUnavailableError, RejectedError
from stationpipe.kernel.messages import AgentState, StationStatus
from stationpipe.kernel.reading import utc_now

log = logging.getLogger(__name__)


class Connection:
    """State of one logger connection: its splitter, split packets waiting, reasons already logged."""

    def __init__(self, server: Hj212Server, peer: str) -> None:
        self.server, self.peer = server, peer
        self.splitter = FrameSplitter(server.config.max_frame, lf_alone=True, deviations=server.deviations)
        self.parts: dict[tuple[str | None, str | None], dict[int, DataSegment]] = defaultdict(dict)
        self.logged: set[str] = set()

    def note(self, reason: str) -> None:
        """Log a rejection once per connection and reason."""
        self.server.rejected += 1
        if reason not in self.logged:
            self.logged.add(reason)
            log.warning("HJ 212 %s: %s", self.peer, reason)

    def _segment(self, raw: bytes) -> DataSegment | None:
        try:
            return decode(raw, max_frame=self.server.config.max_frame).segment
        except CrcError as exc:
            self.note(str(exc))
            try:
                bad = decode(raw, verify_crc=False).segment
            except Hj212Error:
                return None
            raise _Reply(qn_rtn(bad, QnRtn.CRC_ERROR)) from None
        except Hj212Error as exc:
            self.note(f"undecodable frame: {exc}")
            return None

    def _segment_2025(self, raw: bytes, logger: Logger) -> DataSegment | None:
        server = self.server
        try:
            frame = decode_2025(
                raw,
                logger.mn,
                server.keys,
                server.deviations,
                now=time.monotonic(),
                max_frame=server.config.max_frame,
            )
        except (CipherError, CrcError) as exc:
            header = header_of(raw)
            code = QnRtn.CRC_ERROR if isinstance(exc, CrcError) else exc.qn_rtn
            answer = "no reply (header unreadable)" if header is None else f"answered 9011 QnRtn={int(code)}"
            self.note(f"refused a frame of MN {logger.mn}: {exc.reason}; {answer}")
            if header is None:
                return None
            raise _Reply(qn_rtn(header, code)) from None
        except Hj212Error as exc:
            self.note(f"undecodable frame: {exc}")
            return None
        return frame.segment

    def _logger(self, segment: DataSegment) -> Logger:
        logger = self.server.by_mn.get(segment.mn or "")
        if logger is None:
            self.note(f"unknown MN {segment.mn!r}")
            raise _Reply(qn_rtn(segment, QnRtn.WRONG_MN))
        return self._password(segment, logger)

    def _password(self, segment: DataSegment, logger: Logger) -> Logger:
        expected = logger.password()
        if expected is not None and segment.pw != expected.get_secret_value():
            self.note(f"wrong password from MN {segment.mn}")
            raise _Reply(qn_rtn(segment, QnRtn.WRONG_PW))
        return logger

    def _complete(self, segment: DataSegment) -> DataSegment | None:
        if not segment.is_split:
            return segment
        parts = self.parts[(segment.mn, segment.qn)]
        parts[segment.pno or 0] = segment
        if len(parts) < (segment.pnum or 0):
            return None
        del self.parts[(segment.mn, segment.qn)]
        return reassemble([parts[k] for k in sorted(parts)])

    async def handle(self, raw: bytes) -> bytes | None:
        """The reply to one frame (encoded in the logger's edition), if any."""
        known = self.server.by_mn.get(peek_mn(raw) or "")
        if known is None or known.edition is Version.HJ212_2017:
            reply = await self._handle_2017(raw)
            return None if reply is None else encode(reply)
        reply = await self._handle_2025(raw, known)
        return None if reply is None else CODECS[Version.HJ212_2025].encode(reply)

    async def _handle_2017(self, raw: bytes) -> DataSegment | None:
        try:
            segment = self._segment(raw)
            if segment is None:
                return None
            logger = self._logger(segment)
            return await self._upload(segment, logger)
        except _Reply as reply:
            return reply.segment

    async def _handle_2025(self, raw: bytes, logger: Logger) -> DataSegment | None:
        try:
            segment = self._segment_2025(raw, logger)
            if segment is None:
                return None
            self._password(segment, logger)
        except _Reply as reply:
            return reply.segment
        if segment.cn == Cn.HEARTBEAT:
            await self.server.heartbeat(logger, self)
            return notify_reply(segment) if segment.needs_reply else None
        if segment.cn == Cn.NEW_KEY and not self._new_key(segment, logger):
            return None
        return await self._upload(segment, logger)

    def _new_key(self, segment: DataSegment, logger: Logger) -> bool:
        """CN 1014 from the logger: its new key in ``NewKey`` (32 hex digits); False when unusable."""
        text = segment.cp.param("NewKey")
        try:
            key = parse_key(text or "", f"CN 1014 of MN {logger.mn}")
        except ValueError as exc:
            self.note(f"{exc}: NewKey missing or malformed, key unchanged")
            return False
        self.server.keys.rotate(logger.mn, key, time.monotonic())
        return True

    async def _upload(self, segment: DataSegment, logger: Logger) -> DataSegment | None:
        """Store an upload (reassembled when split) and say what to reply."""
        try:
            whole = self._complete(segment)
            if whole is not None and whole.cn in UPLOADS:
                await self.server.store(whole, logger, self)
            elif whole is not None and whole.cn == Cn.STANDARD_CHECK:
                await self.server.store_checks(whole, logger, self)
        except (RejectedError, Hj212Error) as exc:
            self.note(str(exc))
            return None
        except BrokerUnavailableError as exc:
            self.note(f"not acknowledged, the logger will resend: {exc}")
            return None
        return data_reply(segment) if segment.needs_reply else None


class _Reply(Exception):  # noqa: N818 - control flow inside Connection.handle, never escapes it
    def __init__(self, segment: DataSegment) -> None:
        super().__init__(segment.cn)
        self.segment = segment


class Hj212Server:
    """The listening server and what all connections share."""

    def __init__(self, config: Hj212ServerConfig, uplink: ReadingsPublisher) -> None:
        self.config, self.uplink = config, uplink
        self.by_mn = config.by_mn()
        self.keys = KeyStore(config, self.by_mn)
        self.deviations = Deviations(log)
        self.heartbeats: dict[str, float] = {}  # MN -> monotonic time of its last heartbeat
        self.slots = asyncio.Semaphore(config.max_connections)
        self.uploads = 0
        self.rejected = 0
        self.port = config.port

    async def store(self, segment: DataSegment, logger: Logger, conn: Connection) -> None:
        """Map one upload and publish it (raises when the broker does not take it)."""
        mapped = to_message(segment, logger)
        if mapped.skipped:
            conn.note(f"factor codes not mapped for {logger.station}: {', '.join(mapped.skipped)}")
        await self.uplink.publish(mapped.message)
        self.uploads += 1

    async def store_checks(self, segment: DataSegment, logger: Logger, conn: Connection) -> None:
        """Publish the QC records of a CN 2062 upload (raises when the broker does not take one)."""
        records, reasons = to_checks(segment, logger)
        for reason in reasons:
            conn.note(f"{logger.station}: {reason}")
        for record in records:
            await self.uplink.publish(record)
        self.uploads += 1

    async def heartbeat(self, logger: Logger, conn: Connection) -> None:
        """Track a 9015 heartbeat and publish it as the station's ``online`` status (best effort)."""
        if logger.mn not in self.heartbeats:
            log.info("HJ 212 %s: heartbeats from MN %s (station %s)", conn.peer, logger.mn, logger.station)
        self.heartbeats[logger.mn] = time.monotonic()
        status = StationStatus(logger.station, AgentState.ONLINE, utc_now(), "hj212-2025", 0, "heartbeat")
        try:
            await self.uplink.publish(status)
        except BrokerUnavailableError as exc:
            conn.note(f"heartbeat not published: {exc}")

    async def serve_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """One logger connection, until it closes, idles out or sends nothing useful."""
        peer = "%s:%s" % writer.get_extra_info("peername")[:2]  # noqa: UP031
        conn = Connection(self, peer)
        async with self.slots:
            try:
                await self._loop(reader, writer, conn)
            except TimeoutError:
                log.info("HJ 212 %s: idle for %.0f s, closing", peer, self.config.idle_timeout)
            except OSError as exc:
                log.info("HJ 212 %s: connection lost (%s)", peer, exc)
            finally:
                writer.close()

    async def _loop(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, conn: Connection
    ) -> None:
        while True:
            async with asyncio.timeout(self.config.idle_timeout):
                data = await reader.read(4096)
            if not data:
                return
            for raw in conn.splitter.complete(data, conn.note):
                reply = await conn.handle(raw)
                if reply is not None:
                    writer.write(reply)
                    async with asyncio.timeout(self.config.idle_timeout):
                        await writer.drain()


async def run(config: Hj212ServerConfig, ready: asyncio.Event | None = None) -> None:
    """Serve loggers and keep the broker session, until cancelled; ``ready`` is set once listening."""
    uplink = ReadingsPublisher(config.mqtt, config.publish_timeout)
    server = Hj212Server(config, uplink)
    listener = await asyncio.start_server(server.serve_client, config.host, config.port)
    server.port = listener.sockets[0].getsockname()[1]
    log.info("HJ 212 server on %s:%d for %d loggers", config.host, server.port, len(server.by_mn))
    if ready is not None:
        ready.set()
    async with listener, asyncio.TaskGroup() as tg:
        tg.create_task(uplink.run())
        tg.create_task(listener.serve_forever())
