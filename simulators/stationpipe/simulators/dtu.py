"""A simulated 4G DTU: it dials in to the edge's listener and bridges bytes, as a real one does.

On connecting it sends its registration packet, then a heartbeat every ``heartbeat_interval`` s, and copies
bytes both ways between the TCP connection and its serial bus: a pty line of this simulator (the DTU opens
the line's device path, as its RS-485 port) or an ``rtu-tcp`` endpoint served here. What the edge answers
to a heartbeat (``heartbeat_reply``) is kept off the bus. Scenarios naming the DTU act on it: ``offline``
drops the connection and keeps it off while it lasts; ``silent`` keeps the connection (and its heartbeats)
but passes nothing to the bus, as a DTU whose serial side is dead. ``drop_every`` drops it on a schedule.
After a drop, or while dialling fails, it redials after ``redial`` s, doubling up to ``redial_cap``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from collections.abc import Awaitable

from stationpipe.kernel.backoff import Backoff
from stationpipe.kernel.reading import utc_now
from stationpipe.simulators.board import Board
from stationpipe.simulators.config import DtuSim

log = logging.getLogger(__name__)
_CHUNK = 4096
_SPLIT_PAUSE = 0.02  # seconds between the three packets of a split reply
_WATCH = 0.1  # seconds between checks of the offline scenario and the drop schedule


class Bus:
    """A DTU's serial side: a pty device path (opened once) or a TCP endpoint (reconnected as needed)."""

    def __init__(self, path: str | None, target: tuple[str, int] | None) -> None:
        self._path, self._target = path, target
        self._fd: int | None = None
        self._incoming: asyncio.Queue[bytes] = asyncio.Queue()
        self._writer: asyncio.StreamWriter | None = None
        self._pump: asyncio.Task[None] | None = None

    async def open(self) -> None:
        """Open the pty (non-blocking, raw) or connect to the endpoint, if not open yet."""
        if self._path is not None and self._fd is None:
            self._fd = os.open(self._path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
            asyncio.get_running_loop().add_reader(self._fd, self._on_readable)
        if self._target is not None and (self._writer is None or self._writer.is_closing()):
            reader, self._writer = await asyncio.open_connection(*self._target)
            self._pump = asyncio.create_task(self._read_tcp(reader))

    def _on_readable(self) -> None:
        assert self._fd is not None
        try:
            data = os.read(self._fd, _CHUNK)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if data:
            self._incoming.put_nowait(data)

    async def _read_tcp(self, reader: asyncio.StreamReader) -> None:
        while data := await reader.read(_CHUNK):
            self._incoming.put_nowait(data)
        if self._writer is not None:
            self._writer.close()

    async def read(self) -> bytes:
        """The next bytes the bus sent."""
        return await self._incoming.get()

    def write(self, data: bytes) -> None:
        """Put bytes on the bus (dropped when it is not open)."""
        if self._fd is not None:
            with contextlib.suppress(BlockingIOError):
                os.write(self._fd, data)
        elif self._writer is not None and not self._writer.is_closing():
            self._writer.write(data)

    def forget(self) -> None:
        """Drop what the bus sent while nobody listened (a reply to a request the edge gave up on)."""
        while not self._incoming.empty():
            self._incoming.get_nowait()

    def close(self) -> None:
        """Close the pty or the endpoint connection."""
        if self._fd is not None:
            asyncio.get_running_loop().remove_reader(self._fd)
            os.close(self._fd)
            self._fd = None
        if self._pump is not None:
            self._pump.cancel()
        if self._writer is not None:
            self._writer.close()


class SimDtu:
    """One DTU: dial, register, heartbeat, bridge; drop and redial."""

    def __init__(self, cfg: DtuSim, board: Board, bus_path: Awaitable[str] | None) -> None:
        self.cfg, self.board = cfg, board
        self._bus_path = bus_path
        registration = cfg.registration_packet()
        assert registration is not None  # the config validator guarantees it
        self._registration = registration
        self._heartbeat = cfg.heartbeat_packet()
        self._reply = cfg.heartbeat_reply.encode() if cfg.heartbeat_reply else None
        self.sessions = 0
        self.heartbeat_replies = 0

    def _effects_offline(self) -> bool:
        return self.board.effects(self.cfg.name, utc_now()).offline

    def _silent(self) -> bool:
        return self.board.effects(self.cfg.name, utc_now()).silent

    async def run(self) -> None:
        """Dial in and bridge until cancelled."""
        path = await self._bus_path if self._bus_path is not None else None
        target = (self.cfg.target_host, self.cfg.target_port) if self.cfg.target_port is not None else None
        bus = Bus(path, target)
        backoff = Backoff(initial=self.cfg.redial, cap=self.cfg.redial_cap)
        try:
            while True:
                await self._while_offline()
                began = time.monotonic()
                try:
                    await bus.open()
                    reader, writer = await asyncio.open_connection(self.cfg.host, self.cfg.port)
                except OSError as exc:
                    log.debug("dtu %s: cannot dial in: %s", self.cfg.name, exc)
                else:
                    await self._session(bus, reader, writer)
                if time.monotonic() - began > self.cfg.redial_cap:
                    backoff.reset()
                await asyncio.sleep(backoff.next_delay())
        finally:
            bus.close()

    async def _while_offline(self) -> None:
        """Return when no ``offline`` scenario names the DTU (the board has no events: checked)."""
        while True:
            if not self._effects_offline():
                return
            await asyncio.sleep(_WATCH)

    async def _session(self, bus: Bus, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.sessions += 1
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        log.info("dtu %s: connected to %s:%d", self.cfg.name, self.cfg.host, self.cfg.port)
        bus.forget()
        done = asyncio.Event()
        tasks = [
            asyncio.create_task(self._to_bus(bus, reader, done)),
            asyncio.create_task(self._to_edge(bus, writer)),
            asyncio.create_task(self._until_dropped(done)),
        ]
        if self._heartbeat is not None:
            tasks.append(asyncio.create_task(self._heartbeats(writer, self._heartbeat)))
        try:
            writer.write(self._registration)
            finished, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in finished:
                if not task.cancelled() and isinstance(task.exception(), OSError | ConnectionError):
                    log.debug("dtu %s: connection failed: %r", self.cfg.name, task.exception())
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            writer.close()
            with contextlib.suppress(OSError, ConnectionError):
                await writer.wait_closed()
            log.info("dtu %s: disconnected", self.cfg.name)

    async def _until_dropped(self, done: asyncio.Event) -> None:
        began = time.monotonic()
        every = self.cfg.drop_every
        while not done.is_set():
            if self._effects_offline() or (every is not None and time.monotonic() - began >= every):
                log.info("dtu %s: dropping the connection", self.cfg.name)
                return
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(_WATCH):
                    await done.wait()

    async def _to_bus(self, bus: Bus, reader: asyncio.StreamReader, done: asyncio.Event) -> None:
        while data := await reader.read(_CHUNK):
            if self._reply is not None and data == self._reply:
                self.heartbeat_replies += 1
                continue
            if not self._silent():
                bus.write(data)
        done.set()  # the edge closed the connection

    async def _to_edge(self, bus: Bus, writer: asyncio.StreamWriter) -> None:
        while True:
            data = await bus.read()
            if self._silent():
                continue
            if self.cfg.split_replies and self._heartbeat is not None and len(data) >= 2:
                half = len(data) // 2
                for part in (data[:half], self._heartbeat, data[half:]):
                    writer.write(part)
                    await writer.drain()
                    await asyncio.sleep(_SPLIT_PAUSE)
                continue
            writer.write(data)
            await writer.drain()

    async def _heartbeats(self, writer: asyncio.StreamWriter, beat: bytes) -> None:
        while True:
            await asyncio.sleep(self.cfg.heartbeat_interval)
            writer.write(beat)
            await writer.drain()
