"""Station metadata: the registry file is written to the ``stations`` measurement at start-up and again
whenever the file's modification time changes; messages from stations outside it are counted as unknown.

The points' timestamp is the file's modification time, so a restart rewrites the same points (idempotent)
and a changed file adds a new instant (``last()`` per station is the current metadata).
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from stationpipe.collector.metrics import Metrics
from stationpipe.collector.points import station_line
from stationpipe.collector.store import Store
from stationpipe.collector.tasks import raise_if_cancelled
from stationpipe.kernel.errors import ConfigError
from stationpipe.kernel.registry import Registry, load_registry

log = logging.getLogger(__name__)
POLL_SECONDS = 2.0  # how often the file's mtime is looked at


class Stations:
    """The known station ids (``None``: no registry configured, nothing is unknown) and their watcher."""

    def __init__(self, path: Path | None, metrics: Metrics) -> None:
        self.path = path
        self.metrics = metrics
        self.known: frozenset[str] | None = None
        self._mtime_ns: int | None = None
        self._warned: set[str] = set()

    def seen(self, station: str) -> None:
        """Count a message from ``station`` as unknown when a registry is loaded and lacks it (ids starting
        with ``_`` are the pipeline's own: ``_province`` aggregates, components' health lines)."""
        if self.known is None or station in self.known or station.startswith("_"):
            return
        self.metrics.unknown.inc()
        if station not in self._warned and len(self._warned) < 1000:
            self._warned.add(station)
            log.warning("station %r is not in the registry %s; storing its data anyway", station, self.path)

    def _load(self) -> tuple[Registry, int] | None:
        """The registry when its mtime changed since the last load; ``None`` otherwise."""
        assert self.path is not None
        mtime = self.path.stat().st_mtime_ns
        if mtime == self._mtime_ns:
            return None
        self._mtime_ns = mtime  # a broken edit is reported once, not at every poll
        return load_registry(self.path), mtime

    async def refresh(self, store: Store) -> bool:
        """Load and store the registry if it changed; ``True`` when it did.

        Raises ``ConfigError`` (a bad file) or ``OSError`` (an unreadable one).
        """
        loaded = await asyncio.to_thread(self._load)
        if loaded is None:
            return False
        registry, mtime = loaded
        lines = [station_line(info, mtime) for info in registry.stations]
        await store.durable(lines, [str(self.path)] * len(lines))
        self.known = frozenset(info.id for info in registry.stations)
        log.info("registry %s: %d stations written to 'stations'", self.path, len(lines))
        return True

    async def watch(self, store: Store) -> None:
        """Forever: reload when the file changes; a broken edit is logged and the last good one kept."""
        if self.path is None:
            return
        while True:
            raise_if_cancelled()
            await asyncio.sleep(POLL_SECONDS)  # polling the file's mtime, not waiting for an event
            try:
                await self.refresh(store)
            except (ConfigError, OSError) as exc:
                log.warning("registry %s not reloaded: %s", self.path, exc)
