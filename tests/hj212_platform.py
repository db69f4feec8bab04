"""A platform-side HJ 212 receiver for tests: a real TCP server on loopback that decodes every frame with
the codec (edition and keys) it is given, keeps what arrived, and answers as a platform does (9014 for
an upload asking for a reply, 9013 for a heartbeat). ``stop`` cuts it, connections and all; ``start``
brings it back on the same port."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field

from stationpipe.hj212 import Cn, Codec, DataSegment, FrameSplitter, Hj212Error, data_reply, notify_reply


@dataclass(frozen=True, slots=True)
class Received:
    """One frame as the platform decoded it."""

    segment: DataSegment
    encrypted: bool
    raw: bytes


@dataclass
class Platform:
    """The receiver; ``frames`` in arrival order, ``errors`` for frames it could not decode."""

    port: int
    codec: Codec
    frames: list[Received] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    connections: int = 0
    _server: asyncio.Server | None = None
    _generation: int = 0  # a connection of an earlier generation was cut: what it still reads is lost
    _writers: set[asyncio.StreamWriter] = field(default_factory=set)
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def start(self) -> None:
        """Listen on 127.0.0.1:``port``."""
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)

    async def stop(self) -> None:
        """Stop listening and close every connection (what a platform outage looks like)."""
        if self._server is not None:
            self._generation += 1
            self._server.close()
            for writer in list(self._writers):
                writer.close()
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> Platform:
        await self.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.stop()

    def of(self, cn: str) -> list[Received]:
        """The frames of one command code, in arrival order."""
        return [f for f in self.frames if f.segment.cn == cn]

    async def wait_for(self, cn: str, count: int, within: float) -> list[Received]:
        """Wait until ``count`` frames of ``cn`` have arrived (``TimeoutError`` after ``within`` s)."""
        async with asyncio.timeout(within):
            while len(self.of(cn)) < count:
                self._arrived.clear()
                await self._arrived.wait()
        return self.of(cn)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self._writers.add(writer)
        splitter = FrameSplitter()
        generation = self._generation
        try:
            while (data := await reader.read(4096)) and generation == self._generation:
                for raw in splitter.feed(data):
                    reply = self._take(raw)
                    if reply is not None:
                        writer.write(self.codec.encode(reply))
        except ConnectionError:
            pass
        finally:
            self._writers.discard(writer)
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    def _take(self, raw: bytes) -> DataSegment | None:
        """Keep one frame; the reply it asks for, if any."""
        try:
            frame = self.codec.decode(raw)
        except Hj212Error as exc:
            self.errors.append(f"{type(exc).__name__}: {exc}")
            return None
        self.frames.append(Received(frame.segment, frame.encrypted, raw))
        self._arrived.set()
        if not frame.segment.needs_reply:
            return None
        return notify_reply(frame.segment) if frame.segment.cn == Cn.HEARTBEAT else data_reply(frame.segment)
