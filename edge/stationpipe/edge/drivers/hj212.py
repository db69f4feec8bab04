"""HJ 212 analysers (:mod:`stationpipe.edge.hj212_analyser`) on a serial port, or over TCP through a
serial device server: the analysers push CN 2011 real-time frames (or send them when asked), the edge
is their data logger.

:meth:`Hj212Driver.run` keeps the link open (reopening it with backoff) and cuts its byte stream into
frames as the collector's HJ 212 server does (``FrameSplitter``: frames split across reads reassembled,
several in one read, line noise between them skipped and counted, oversized ones discarded, a frame
ending in LF alone taken and counted); a link silent for three times the longest ``max_age`` is reopened.
Each frame goes to the device whose ``mn`` it names (else to the
device that takes any MN) and is decoded in that device's edition (HJ 212-2025 with its SM4 key). The
logger answers where the standard says it does: 9014 to an upload whose Flag asks for a reply, 9013 to
such a 9015 heartbeat, 9011 QnRtn 9 to a frame with a bad CRC and QnRtn 4 to an unknown MN (as the
server), each in the sender's edition. A frame that cannot be read is counted on its device (a bad CRC
as ``request_errors{kind="checksum"}``) and logged once per reason; nothing is dropped silently.

Each device's reader reports on the grid the latest value of each factor code it expects (or of every
code that came): fresh for ``max_age`` seconds (twice the interval by default) in push mode, from the
answer to this poll's own CN 2011 request in request mode; B otherwise, and the analyser then counts as
not answering (a silent push analyser is not backed off: its next frame is read at once). An HJ 212-2025
analyser's automatic standard-sample checks (CN 2062) are answered like uploads and handed on with the
next poll as QC records.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections import defaultdict
from datetime import datetime

import serial

from stationpipe.edge.config import Device, EdgeConfig, Line
from stationpipe.edge.connection import SerialLink, TcpLink
from stationpipe.edge.drivers.base import Poll, Reader
from stationpipe.edge.drivers.stream import Port, SerialPort, TcpPort
from stationpipe.edge.hj212_analyser import Latest, reading, standard_check_records
from stationpipe.hj212 import (
    CODECS,
    CipherError,
    Cn,
    Codec,
    CpArea,
    CrcError,
    DataSegment,
    Deviations,
    FrameSplitter,
    Hj212Error,
    PacketFlag,
    QnRtn,
    Version,
    data_reply,
    make_qn,
    notify_reply,
    qn_rtn,
    reassemble,
)
from stationpipe.hj212.codes import FLAG_VERSION_2017, FLAG_VERSION_2025
from stationpipe.hj212.peek import header_of, peek_mn
from stationpipe.hj212.readings import UPLOADS, is_known_flag
from stationpipe.kernel.backoff import Backoff
from stationpipe.kernel.errors import DeviceChecksumError, DeviceError, DeviceSilentError, DeviceTimeoutError
from stationpipe.kernel.qc import QcRecord
from stationpipe.kernel.reading import Reading, utc_now

log = logging.getLogger(__name__)
CONNECT_TIMEOUT = 5.0  # seconds to open a TCP connection to a serial device server
MAX_SPLIT_PENDING = 16  # split uploads waiting for their other packets, at most
IDLE_FACTOR = 3  # the link is reopened after this many times the longest max_age without a byte


class Hj212Driver:
    """One link carrying HJ 212 analysers; frames are read in :meth:`run`, never polled."""

    def __init__(self, config: EdgeConfig, line: Line) -> None:
        self.station, self.name = config.station, line.connection.line
        link = line.connection.link
        assert isinstance(link, SerialLink | TcpLink)  # PROTOCOLS: hj212 runs over serial and tcp
        self.link = link
        self.deviations = Deviations(log)
        self.splitter = FrameSplitter(lf_alone=True, deviations=self.deviations)
        self._readers = [AnalyserReader(self, device) for device in line.devices]
        self._by_mn = {r.mn: r for r in self._readers if r.mn is not None}
        self._any = next((r for r in self._readers if r.mn is None), None)
        #: Seconds of silence after which the link is reopened (a serial device server that restarted
        #: leaves a half-open connection; an adapter that was replugged needs its port opened again).
        self.idle = IDLE_FACTOR * max(r.max_age for r in self._readers)
        self._parts: dict[tuple[str | None, str | None], dict[int, DataSegment]] = defaultdict(dict)
        self._outbox: asyncio.Queue[bytes] = asyncio.Queue()
        self._port: Port | None = None
        self._io = threading.Lock()
        self._logged: set[str] = set()
        self.connected = asyncio.Event()
        self.frames = self.rejected = self.replies = self.link_errors = 0

    def readers(self) -> list[Reader]:
        """One reader per analyser on the link."""
        return list(self._readers)

    def note(self, reason: str) -> None:
        """Count a frame that was refused or not read, and log each reason once."""
        self.rejected += 1
        self._log_once(reason)

    def _log_once(self, reason: str) -> None:
        if reason not in self._logged:
            self._logged.add(reason)
            log.warning("HJ 212 %s: %s", self.name, reason)

    @property
    def discarded(self) -> int:
        """Bytes of line noise skipped between frames."""
        return self.splitter.discarded

    def send(self, frame: bytes) -> None:
        """Queue a frame for the analysers (sent between reads, in order); dropped while the link is
        down (a request is asked again at the next poll)."""
        if self.connected.is_set():
            self._outbox.put_nowait(frame)

    async def run(self) -> None:
        """Read the link until cancelled, reopening it with backoff when it fails."""
        backoff = Backoff(initial=1.0, cap=30.0)
        while True:
            try:
                await asyncio.to_thread(self._open)
                log.info("HJ 212 %s: open", self.name)
                self.connected.set()
                backoff.reset()
                await self._serve()
            except DeviceError as exc:
                self.link_errors += 1
                self._log_once(str(exc))
            finally:
                self.connected.clear()
                self.close()
                while not self._outbox.empty():
                    self._outbox.get_nowait()
            await asyncio.sleep(backoff.next_delay())

    def _open(self) -> None:
        try:
            port: Port = (
                TcpPort(self.link, CONNECT_TIMEOUT)
                if isinstance(self.link, TcpLink)
                else SerialPort(self.link)
            )
        except (serial.SerialException, OSError) as exc:
            raise DeviceError(f"cannot open: {exc}") from exc
        with self._io:
            self._port = port

    def _io_call(self, data: bytes | None) -> bytes:
        """Send ``data`` (when given), else receive for one tick; ``DeviceError`` when the link fails."""
        with self._io:
            if self._port is None:
                raise DeviceError("link closed")
            try:
                if data is not None:
                    self._port.send(data)
                    return b""
                return self._port.receive()
            except (serial.SerialException, OSError) as exc:
                raise DeviceError(f"link lost: {exc}") from exc

    async def _serve(self) -> None:
        heard = time.monotonic()
        while True:
            while not self._outbox.empty():
                await asyncio.to_thread(self._io_call, self._outbox.get_nowait())
            data = await asyncio.to_thread(self._io_call, None)
            now = time.monotonic()
            if data:
                heard = now
            elif now - heard > self.idle:
                raise DeviceError(f"nothing received for {self.idle:g} s: reopening the link")
            for raw in self.splitter.complete(data, self.note):
                reply = self.handle(raw)
                if reply is not None:
                    self.replies += 1
                    await asyncio.to_thread(self._io_call, reply)

    def handle(self, raw: bytes) -> bytes | None:
        """Read one frame into its device; the encoded reply the standard asks for, if any."""
        self.frames += 1
        mn = peek_mn(raw)
        reader = self._by_mn.get(mn or "", self._any)
        if reader is None:
            self.note(f"frame from unknown MN {mn!r}")
            header = header_of(raw)
            refusal = None if header is None else qn_rtn(header, QnRtn.WRONG_MN)
            return None if refusal is None else CODECS[Version.HJ212_2017].encode(refusal)
        reply = self._decoded(raw, reader)
        return None if reply is None else reader.codec.encode(reply)

    def _decoded(self, raw: bytes, reader: AnalyserReader) -> DataSegment | None:
        try:
            segment = reader.codec.decode(raw).segment
        except (CrcError, CipherError) as exc:
            code = exc.qn_rtn
            self.note(f"refused a frame for {reader.name}: {exc.reason}; answered 9011 QnRtn={int(code)}")
            reader.fail(DeviceChecksumError(f"{reader.name}: {exc.reason}"))
            header = header_of(raw)
            return None if header is None else qn_rtn(header, code)
        except Hj212Error as exc:
            self.note(f"undecodable frame for {reader.name}: {exc.reason}")
            reader.fail(DeviceError(f"{reader.name}: undecodable frame: {exc.reason}"))
            return None
        return self._segment(segment, reader)

    def _segment(self, segment: DataSegment, reader: AnalyserReader) -> DataSegment | None:
        if segment.cn == Cn.HEARTBEAT:
            return notify_reply(segment) if segment.needs_reply else None
        if segment.cn == Cn.QN_RTN:
            if segment.cp.param("QnRtn") != str(int(QnRtn.READY)):
                self.note(f"{reader.name} refused a request: QnRtn={segment.cp.param('QnRtn')}")
            return None
        if segment.cn not in UPLOADS and segment.cn != Cn.STANDARD_CHECK:
            if segment.cn != Cn.EXE_RTN:
                self.note(f"{reader.name}: CN {segment.cn} is not read (only data uploads are)")
            return None
        whole = self._complete(segment, reader)
        if whole is not None and whole.cn == Cn.STANDARD_CHECK:
            reader.take_checks(whole)
        elif whole is not None:
            reader.take(whole)
        return data_reply(segment) if segment.needs_reply else None

    def _complete(self, segment: DataSegment, reader: AnalyserReader) -> DataSegment | None:
        """The upload, once every packet of a split one came (then reassembled)."""
        if not segment.is_split:
            return segment
        if (segment.mn, segment.qn) not in self._parts and len(self._parts) >= MAX_SPLIT_PENDING:
            oldest = next(iter(self._parts))
            del self._parts[oldest]
            self.note(f"split upload QN {oldest[1]} never completed, dropped")
        parts = self._parts[(segment.mn, segment.qn)]
        parts[segment.pno or 0] = segment
        if len(parts) < (segment.pnum or 0):
            return None
        del self._parts[(segment.mn, segment.qn)]
        try:
            return reassemble([parts[k] for k in sorted(parts)])
        except Hj212Error as exc:
            self.note(f"{reader.name}: split upload not reassembled: {exc.reason}")
            reader.fail(DeviceError(f"{reader.name}: {exc.reason}"))
            return None

    def close(self) -> None:
        """Close the port or the connection (a read in flight ends within one tick)."""
        with self._io:
            if self._port is not None:
                with contextlib.suppress(serial.SerialException, OSError):
                    self._port.close()
                self._port = None


class AnalyserReader:
    """One analyser: the latest value of each factor code, reported on the grid."""

    def __init__(self, driver: Hj212Driver, device: Device) -> None:
        self.driver, self.device, self.station = driver, device, driver.station
        self.analyser = device.analyser
        self.name, self.interval, self.mn = device.name, device.interval, self.analyser.mn
        self.max_age = self.analyser.max_age or 2 * device.interval
        self.codec: Codec = self.analyser.codec(driver.deviations)
        self.latest: dict[str, Latest] = {}
        self.heard = asyncio.Event()  # a data upload came in since the last request (or ever, in push mode)
        self.uploads = 0
        self._errors: list[DeviceError] = []
        self._asked_at: float | None = None
        self._checks: list[QcRecord] = []  # standard-sample checks (CN 2062) not yet handed on

    def fail(self, error: DeviceError) -> None:
        """A frame of this analyser could not be read: reported (and counted) with the next poll."""
        self._errors.append(error)

    def take(self, segment: DataSegment) -> None:
        """A data upload: keep its factors' values (2011 real-time data; other uploads are acknowledged)."""
        if segment.cn != Cn.REALTIME:
            self.driver.note(f"{self.name}: CN {segment.cn} acknowledged, not read (real-time data is)")
            return
        now = time.monotonic()
        for factor in segment.cp.factors:
            if self.analyser.parameter(factor.code) is None:
                self.driver.note(f"{self.name}: factor code {factor.code} not mapped, skipped")
                continue
            if self.analyser.expect and factor.code not in self.analyser.expect:
                self.driver.note(f"{self.name}: factor code {factor.code} not expected, skipped")
                continue
            if not is_known_flag(factor.flag):
                self.driver.note(f"{self.name}: data flag {factor.flag!r} of {factor.code} kept as D")
            self.latest[factor.code] = Latest(factor, now)
        self.uploads += 1
        self.heard.set()

    def take_checks(self, segment: DataSegment) -> None:
        """A CN 2062 upload (HJ 212-2025): its standard-sample checks, handed on with the next poll."""
        records, reasons = standard_check_records(self.station, self.name, self.analyser, segment.cp)
        for reason in reasons:
            self.driver.note(f"{self.name}: {reason}")
        self._checks.extend(records)

    def _codes(self) -> list[str]:
        return list(self.analyser.expect) if self.analyser.expect else sorted(self.latest)

    def _readings(self, ts: datetime, since: float) -> list[Reading]:
        out = []
        for code in self._codes():
            latest = self.latest.get(code)
            fresh = latest is not None and latest.at >= since
            out.append(reading(self.station, self.analyser, code, latest, ts, fresh=fresh))
        return out

    def _request(self) -> None:
        """Ask the analyser for its real-time data (CN 2011, Flag asking for the 9011 reply)."""
        version = FLAG_VERSION_2025 if self.analyser.version == "2025" else FLAG_VERSION_2017
        segment = DataSegment(
            st=self.analyser.st,
            cn=Cn.REALTIME,
            qn=make_qn(utc_now()),
            pw=self.analyser.password(),
            mn=self.mn,
            flag=PacketFlag.make(version=version, ack=True).value,
            cp=CpArea(),
        )
        self._asked_at = time.monotonic()
        self.heard.clear()
        self.driver.send(self.codec.encode(segment))

    async def poll(self) -> Poll:
        """The latest values now (request mode: ask first, wait up to the timeout for the answer)."""
        ts = utc_now()
        if self.analyser.mode == "request":
            self._request()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.device.timeout):
                    await self.heard.wait()
            since = self._asked_at or 0.0
        else:
            since = time.monotonic() - self.max_age
        errors, self._errors = tuple(self._errors), []
        silent = not any(latest.at >= since for latest in self.latest.values())
        if silent:
            errors = (*errors, self._silence())
        checks, self._checks = tuple(self._checks), []
        return Poll(self._readings(ts, since), errors, answered=not silent, qc=checks)

    def _silence(self) -> DeviceError:
        """No fresh data: a request that went unanswered is backed off like any polled device's; a push
        analyser costs nothing to ask again, so its silence is not backed off (the next frame counts)."""
        if self.analyser.mode == "request":
            return DeviceTimeoutError(f"{self.name}: no HJ 212 data within {self.device.timeout:g} s")
        return DeviceSilentError(f"{self.name}: no HJ 212 data within {self.max_age:g} s")

    async def read_once(self) -> Poll:
        """For ``--test``: wait for the first data (push: up to ``max(interval, max_age)`` s; request:
        one request); not ``answered`` when none came."""
        if self.analyser.mode == "push":
            wait = max(self.interval, self.max_age)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait):
                    await self.heard.wait()
        else:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(CONNECT_TIMEOUT):
                    await self.driver.connected.wait()
        poll = await self.poll()
        return Poll(poll.readings, poll.errors, answered=self.heard.is_set())

    def unanswered(self) -> list[Reading]:
        """Every expected (or seen) factor B, stamped now."""
        return self._readings(utc_now(), float("inf"))
