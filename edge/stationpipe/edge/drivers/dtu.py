"""The DTU listener: accepts the TCP connections 4G DTUs open, tells each by its registration packet, strips
and answers its heartbeats, and lends the connection to the line of that DTU (settings and packet rules:
:mod:`stationpipe.edge.dtu`).

One :class:`Hub` per ``[dtu]`` listener, run by :class:`DtuListenerDriver` (a driver without devices, that
the agent adds to the lines' drivers). A line on a DTU link
(:class:`~stationpipe.edge.drivers.stream.StreamLine`) asks :func:`connection` for the DTU's connection
at every exchange: a DTU that has not dialled in fails at once with ``DeviceOfflineError``, so its devices
are flagged B without waiting and without holding up any other DTU. A DTU that dials in again takes its
line over (the old connection is closed); an exchange in flight on the old one fails. A registration that
names no configured DTU is refused (closed) and logged once per id. A connection silent for
``idle_timeout`` (not even a heartbeat: a 4G link gone without a FIN) is closed.

Everything runs on the event loop (no thread per connection): an exchange awaits the bytes
:meth:`DtuConnection.data_received` collects.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from collections.abc import Iterable

from stationpipe.edge.config import EdgeConfig
from stationpipe.edge.drivers.base import Reader
from stationpipe.edge.dtu import DtuListener, Identified, Refused
from stationpipe.kernel.errors import DeviceOfflineError, FatalError

log = logging.getLogger(__name__)
MAX_BUFFER = 65536  # bytes kept between exchanges: more is noise nobody asked for
_MAX_REFUSED_LOGGED = 1000  # ids remembered for "logged once"
_HUBS: dict[str, Hub] = {}  # DTU id -> the hub serving it, in this process


class DtuListenError(FatalError):
    """The listener cannot start: its address is in use, or a DTU id is served by another listener."""


def connection(dtu_id: str) -> DtuConnection:
    """The connection DTU ``dtu_id`` has open now; ``DeviceOfflineError`` at once when it has none."""
    hub = _HUBS.get(dtu_id)
    conn = hub.current.get(dtu_id) if hub is not None else None
    if conn is None:
        raise DeviceOfflineError(f"DTU {dtu_id} is not connected")
    return conn


class DtuConnection(asyncio.Protocol):
    """One inbound connection: unregistered until its registration packet names a configured DTU; then the
    byte stream of that DTU's serial bus, heartbeats removed."""

    def __init__(self, hub: Hub) -> None:
        self.hub, self.id = hub, ""
        self.peer = "?"
        self.heartbeats = 0
        self.last_heard = time.monotonic()
        self._transport: asyncio.Transport | None = None
        self._pending = b""  # before registration
        self._data = bytearray()
        self._arrived = asyncio.Event()
        self._closed = False
        self._timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Start the registration timeout; keep the socket alive at the TCP level too."""
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        peer = transport.get_extra_info("peername")
        self.peer = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else str(peer)
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        loop = asyncio.get_running_loop()
        self._timer = loop.call_later(self.hub.settings.register_timeout, self._registration_late)
        self.hub.opened(self)

    def _registration_late(self) -> None:
        if not self.id:
            self.hub.refuse(f"no registration within {self.hub.settings.register_timeout:g} s", self.peer)
            self.close()

    def data_received(self, data: bytes) -> None:
        """Registration first; then heartbeats out, the rest into the stream."""
        self.last_heard = time.monotonic()
        if self.id:
            self._take(data)
            return
        if self._transport is None or self._transport.is_closing():
            return  # refused already: what it sends before the close lands is not read
        self._pending += data
        said = self.hub.settings.registration.identify(self._pending, self.hub.known)
        if isinstance(said, Refused):
            self.hub.refuse(said.what, self.peer)
            self.close()
        elif isinstance(said, Identified):
            self.id, self._pending = self.hub.known[said.id], b""
            if self._timer is not None:
                self._timer.cancel()
            self.hub.attach(self)
            self._take(said.rest)

    def _take(self, chunk: bytes) -> None:
        beat = self.hub.settings.heartbeat
        if beat is not None and chunk:
            chunk, count = beat.strip(chunk)
            self.heartbeats += count
            reply = self.hub.settings.heartbeat_reply
            if count and reply is not None and reply.literal is not None and self._transport is not None:
                self._transport.write(reply.literal * count)
        if chunk:
            self._data += chunk
            if len(self._data) > MAX_BUFFER:
                del self._data[: len(self._data) - MAX_BUFFER]
            self._arrived.set()

    def connection_lost(self, exc: Exception | None) -> None:
        """Wake an exchange waiting on it; leave the hub."""
        del exc  # closed by either end, or reset: the same for its line
        self._closed = True
        self._arrived.set()
        if self._timer is not None:
            self._timer.cancel()
        self.hub.lost(self)

    @property
    def closed(self) -> bool:
        """True once the connection is closed (by either end)."""
        return self._closed

    def send(self, data: bytes) -> None:
        """Write ``data`` to the DTU; ``ConnectionError`` once the connection is gone."""
        if self._closed or self._transport is None or self._transport.is_closing():
            raise ConnectionError(f"DTU {self.id}: connection lost")
        self._transport.write(data)

    async def receive(self, within: float) -> bytes:
        """What arrived (waiting up to ``within`` s for something); ``ConnectionError`` once the connection
        is gone and nothing is left."""
        if not self._data and not self._closed:
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(within):
                    await self._arrived.wait()
        if self._data:
            out = bytes(self._data)
            self._data.clear()
            return out
        if self._closed:
            raise ConnectionError(f"DTU {self.id}: connection lost")
        return b""

    def drain(self) -> None:
        """Drop what arrived unasked (a late reply, line noise)."""
        self._data.clear()

    def close(self) -> None:
        """Close the connection (the DTU will dial in again)."""
        if self._transport is not None:
            self._transport.close()


class Hub:
    """The DTUs of one listener: which connection each has open now."""

    def __init__(self, settings: DtuListener, ids: Iterable[str]) -> None:
        self.settings = settings
        #: registration's form of each configured id -> the id as configured
        self.known = {settings.registration.normal(i): i for i in ids}
        self.current: dict[str, DtuConnection] = {}
        self._open: set[DtuConnection] = set()
        self._refused: set[str] = set()
        self._changed = asyncio.Event()
        self._closing = False
        self.refusals = 0

    def opened(self, conn: DtuConnection) -> None:
        """A connection was accepted (not registered yet)."""
        self._open.add(conn)

    def attach(self, conn: DtuConnection) -> None:
        """``conn`` registered: it carries its DTU's line from now on; an older connection is closed."""
        old = self.current.get(conn.id)
        self.current[conn.id] = conn
        if old is not None and old is not conn:
            log.info(
                "DTU %s dialled in again from %s: its old connection (%s) is closed",
                conn.id,
                conn.peer,
                old.peer,
            )
            old.close()
        else:
            log.info("DTU %s registered from %s", conn.id, conn.peer)
        self._changed.set()

    def lost(self, conn: DtuConnection) -> None:
        """``conn`` closed; its DTU is offline unless a newer connection took over."""
        self._open.discard(conn)
        if conn.id and self.current.get(conn.id) is conn:
            del self.current[conn.id]
            level = logging.DEBUG if self._closing else logging.WARNING
            log.log(level, "DTU %s disconnected (%s)", conn.id, conn.peer)

    def refuse(self, what: str, peer: str) -> None:
        """Log a refused registration once per id (or reason)."""
        self.refusals += 1
        if what in self._refused:
            log.debug("refused a DTU again from %s: %s", peer, what)
            return
        if len(self._refused) < _MAX_REFUSED_LOGGED:
            self._refused.add(what)
        log.warning("refused a DTU from %s: it registered as %r, which no device names", peer, what)

    async def serve(self) -> None:
        """Listen and close idle connections until cancelled; then close every connection."""
        for dtu_id in self.known.values():
            if (other := _HUBS.get(dtu_id)) is not None and other is not self:
                raise DtuListenError(f"DTU {dtu_id} is already served by another listener in this process")
        loop = asyncio.get_running_loop()
        try:
            server = await loop.create_server(
                lambda: DtuConnection(self), self.settings.host, self.settings.port, reuse_address=True
            )
        except OSError as exc:
            raise DtuListenError(
                f"cannot listen for DTUs on {self.settings.host}:{self.settings.port}: {exc}"
            ) from exc
        _HUBS.update(dict.fromkeys(self.known.values(), self))
        log.info("listening for %d DTUs on %s:%d", len(self.known), self.settings.host, self.settings.port)
        try:
            async with server:
                await self._sweep()
        finally:
            self.close()

    async def _sweep(self) -> None:
        idle = self.settings.idle_timeout
        period = min(5.0, idle / 4) if idle is not None else 3600.0
        while True:
            await asyncio.sleep(period)
            if idle is None:
                continue
            now = time.monotonic()
            for conn in [c for c in self._open if now - c.last_heard > idle]:
                log.warning(
                    "DTU %s (%s) silent for %g s: closing its connection", conn.id or "?", conn.peer, idle
                )
                conn.close()

    async def registered(self, within: float) -> None:
        """Return once every configured DTU has a connection, or after ``within`` s."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(within):
                while set(self.current) != set(self.known.values()):
                    self._changed.clear()
                    await self._changed.wait()

    def close(self) -> None:
        """Close every connection and leave the process' table of DTUs."""
        self._closing = True
        for dtu_id in [i for i, hub in _HUBS.items() if hub is self]:
            del _HUBS[dtu_id]
        for conn in list(self._open):
            conn.close()


class DtuListenerDriver:
    """The ``[dtu]`` listener as a driver: no devices of its own; its :meth:`run` serves the DTUs that the
    lines on DTU links talk through."""

    def __init__(self, config: EdgeConfig) -> None:
        assert config.dtu is not None  # the agent builds it only for [dtu]
        self.hub = Hub(config.dtu, config.dtu_ids())
        self._test_wait = config.dtu.test_wait

    def readers(self) -> list[Reader]:
        """None: the devices behind the DTUs belong to their own lines."""
        return []

    async def run(self) -> None:
        """Accept DTUs until cancelled."""
        await self.hub.serve()

    async def ready(self, within: float) -> None:
        """For ``edge --test``: wait until every DTU has dialled in (``test_wait``, ``within`` s at most)."""
        await self.hub.registered(min(within, self._test_wait))

    def close(self) -> None:
        """Close every DTU's connection."""
        self.hub.close()
