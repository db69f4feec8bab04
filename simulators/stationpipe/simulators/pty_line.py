"""Serial lines on pseudo-terminals: the device path a client opens, as if it were a USB RS-485 adapter.

A pty pair has one openable end (the slave, ``/dev/pts/N``) and one end held by its creator (the
master fd). To put pymodbus' serial server (which opens a *path*) and a client (which opens another
path) on one line, the RTU line uses two pairs and copies bytes between the two masters — what
``socat pty pty`` does — and the copy is where line noise (the ``garbage`` scenario) is injected.
The simulator keeps each slave fd open itself, so the master never sees EIO while no client is there.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import tty
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)
_CHUNK = 4096


@dataclass
class Pty:
    """One pseudo-terminal pair: ``master`` (ours, non-blocking) and ``path`` (the slave, for a client)."""

    master: int
    slave: int
    path: str

    @classmethod
    def open(cls) -> Pty:
        """A new pair, raw (no echo, no line editing, no CR/LF translation)."""
        master, slave = os.openpty()
        tty.setraw(slave)
        os.set_blocking(master, False)
        return cls(master, slave, os.ttyname(slave))

    def read(self) -> bytes:
        """What the other end wrote (empty when nothing is waiting)."""
        try:
            return os.read(self.master, _CHUNK)
        except (BlockingIOError, InterruptedError):
            return b""

    def write(self, data: bytes) -> None:
        """Send to the other end; a full line drops the rest, as a real line loses bytes."""
        with contextlib.suppress(BlockingIOError):
            os.write(self.master, data)

    def close(self) -> None:
        """Close both ends (safe to call twice)."""
        for fd in (self.master, self.slave):
            with contextlib.suppress(OSError):
                os.close(fd)


def publish_link(path: str, link: Path | None) -> None:
    """Point the symlink ``link`` (when configured) at the pty ``path``, replacing an old one atomically."""
    if link is None:
        return
    link.parent.mkdir(parents=True, exist_ok=True)
    tmp = link.with_name(f".{link.name}.tmp")
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    tmp.symlink_to(path)
    tmp.replace(link)


def remove_link(link: Path | None) -> None:
    """Remove the symlink when it is ours (still a symlink)."""
    if link is not None and link.is_symlink():
        link.unlink()


def noise(count: int, rng: random.Random) -> bytes:
    """``count`` bytes of line noise (never a valid frame on its own)."""
    return bytes(rng.randrange(256) for _ in range(count))


class Bridge:
    """Copies bytes between a server-side pty and a client-side pty, prefixing noise when asked."""

    def __init__(self, garbage: Callable[[], int], seed: int = 0) -> None:
        """``garbage()`` says how many noise bytes to put before each chunk sent to the client."""
        self.server = Pty.open()
        self.client = Pty.open()
        self._garbage = garbage
        self._rng = random.Random(seed)  # noqa: S311 - simulation, not crypto

    def _to_client(self) -> None:
        data = self.server.read()
        if data:
            count = self._garbage()
            self.client.write(noise(count, self._rng) + data if count else data)

    def _to_server(self) -> None:
        data = self.client.read()
        if data:
            self.server.write(data)

    async def run(self) -> None:
        """Copy until cancelled; close both pairs on the way out."""
        loop = asyncio.get_running_loop()
        loop.add_reader(self.server.master, self._to_client)
        loop.add_reader(self.client.master, self._to_server)
        try:
            await asyncio.Event().wait()
        finally:
            loop.remove_reader(self.server.master)
            loop.remove_reader(self.client.master)
            self.server.close()
            self.client.close()
