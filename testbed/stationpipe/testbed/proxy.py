"""A TCP proxy between a client and a server on loopback that a fault test can cut and restore.

It stands for a station's uplink: an edge agent connects to the proxy's port instead of the broker's.
The proxy runs its own asyncio loop on a daemon thread, so synchronous tests and benchmarks drive it
with plain calls::

    with Proxy(target_port=broker.port) as uplink:
        ...                      # edge configured with port = uplink.port
        uplink.cut("reject")     # or "blackhole"
        uplink.restore()

Kinds of cut:

``reject``
    Open connections are reset (RST) and new ones are reset as soon as they are accepted: a firewall
    REJECT rule or a router answering "unreachable". The client notices at once.
``blackhole``
    Bytes stop flowing both ways and new connections are accepted but never reach the server: a cable
    pulled or a DROP rule. The client notices only through its own timeouts and keepalives. On restore
    every connection held during the cut is reset (its bytes were lost, so its stream is broken).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, Self, TypeVar

from stationpipe.testbed.services import free_port

Cut = Literal["reject", "blackhole"]
_T = TypeVar("_T")
_CHUNK = 65536
_CONNECT_TIMEOUT = 5.0


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with RST (SO_LINGER 0), as a dropped link or a REJECT rule does; never raises."""
    sock = writer.get_extra_info("socket")
    with contextlib.suppress(OSError):
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


@dataclass(eq=False)
class _Link:
    """One client connection and, once connected, its server side."""

    client: asyncio.StreamWriter
    server: asyncio.StreamWriter | None = None
    held: bool = False  # bytes are being dropped (blackhole)

    def reset(self) -> None:
        _reset(self.client)
        if self.server is not None:
            _reset(self.server)


@dataclass
class Proxy:
    """Forwards ``host:port`` to ``target_host:target_port``; ``cut``/``restore`` from any thread.

    ``accepted`` counts client connections (also those reset or held during a cut).
    """

    target_port: int
    target_host: str = "127.0.0.1"
    host: str = "127.0.0.1"
    port: int = field(default_factory=free_port)
    state: Literal["up", "reject", "blackhole"] = "up"
    accepted: int = 0
    _links: set[_Link] = field(default_factory=set)
    _loop: asyncio.AbstractEventLoop | None = None
    _thread: threading.Thread | None = None
    _stop: asyncio.Event | None = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self, timeout: float = 5.0) -> None:
        """Listen (on a daemon thread) and return once the port accepts connections."""
        listening = threading.Event()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_until_complete, args=(self._serve(listening),), daemon=True
        )
        self._thread.start()
        if not listening.wait(timeout):
            raise RuntimeError(f"proxy on {self.host}:{self.port} did not start within {timeout} s")

    def stop(self) -> None:
        """Reset every connection, stop listening and end the thread; safe to call twice."""
        if self._loop is None or self._thread is None or self._stop is None:
            return
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)
        self._loop.close()
        self._loop = self._thread = self._stop = None

    def cut(self, kind: Cut = "reject") -> None:
        """Cut the link (see the module docstring for the kinds)."""
        self._call(lambda: self._cut(kind))

    def restore(self) -> None:
        """Let connections through again (connections held by a blackhole are reset first)."""
        self._call(self._restore)

    def _call(self, fn: Callable[[], _T]) -> _T:
        """Run ``fn`` on the proxy's loop and wait for it."""
        assert self._loop is not None, "proxy not started"

        async def call() -> _T:
            return fn()

        return asyncio.run_coroutine_threadsafe(call(), self._loop).result(10)

    def _cut(self, kind: Cut) -> None:
        self.state = kind
        for link in list(self._links):
            if kind == "reject":
                link.reset()
            else:
                link.held = True

    def _restore(self) -> None:
        for link in list(self._links):
            if link.held:
                link.reset()
        self.state = "up"

    async def _serve(self, listening: threading.Event) -> None:
        self._stop = asyncio.Event()
        server = await asyncio.start_server(self._handle, self.host, self.port)
        listening.set()
        async with server:
            await self._stop.wait()
            server.close()
            for link in list(self._links):
                link.reset()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(5):
                    await server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        link = _Link(writer, held=self.state == "blackhole")
        if self.state == "reject":
            _reset(writer)
            return
        self._links.add(link)
        try:
            await self._forward(link, reader)
        except* (OSError, TimeoutError):
            pass  # a reset or refused side ends the link; the client sees its connection go
        finally:
            self._links.discard(link)
            link.reset()

    async def _forward(self, link: _Link, reader: asyncio.StreamReader) -> None:
        if link.held:
            await self._drain_until_closed(reader)
            return
        async with asyncio.timeout(_CONNECT_TIMEOUT):
            up_reader, link.server = await asyncio.open_connection(self.target_host, self.target_port)
        async with asyncio.TaskGroup() as tg:
            tg.create_task(self._pipe(reader, link.server, link))
            tg.create_task(self._pipe(up_reader, link.client, link))

    @staticmethod
    async def _drain_until_closed(reader: asyncio.StreamReader) -> None:
        """A connection made during a blackhole: swallow its bytes until it is reset."""
        while await reader.read(_CHUNK):
            pass

    @staticmethod
    async def _pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter, link: _Link) -> None:
        """Copy ``src`` to ``dst`` until EOF; while ``link`` is held the bytes are dropped."""
        while data := await src.read(_CHUNK):
            if link.held:
                continue
            dst.write(data)
            await dst.drain()
        link.reset()  # one side ended: end both, as a TCP connection through a NAT would
