"""The HJ 212 server's SM4 keys per data logger, and their rotation by CN 1014.

A logger's key is, in order: one set by CN 1014 (kept in ``rotated_keys`` when configured, so it survives a
restart), its own ``key_env``/``key_file``, the server's ``keys_file``. After a rotation the old key is
still accepted for ``key_grace`` seconds (frames the logger encrypted before it switched). Keys are never
logged, nor put in an error message: only MNs are.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from stationpipe.collector.hj212_config import Hj212ServerConfig, Logger
from stationpipe.hj212 import KeyRing

log = logging.getLogger(__name__)


class KeyStore:
    """Current and (for a grace period) previous key per MN; ``rotate`` persists the new one."""

    def __init__(self, config: Hj212ServerConfig, loggers: dict[str, Logger]) -> None:
        self._ring = config.key_ring()
        self._own = {mn: key for mn, lg in loggers.items() if (key := lg.key()) is not None}
        self._path = config.rotated_keys
        self._grace = config.key_grace
        self._rotated: dict[str, bytes] = {}
        if self._path is not None and self._path.exists():
            ring = KeyRing.from_file(self._path)
            self._rotated = {mn: key for mn in loggers if (key := ring.key_for(mn)) is not None}
        self._old: dict[str, tuple[bytes, float]] = {}

    def current(self, mn: str) -> bytes | None:
        """The key a frame of ``mn`` is decrypted and encrypted with, or ``None``."""
        return self._rotated.get(mn) or self._own.get(mn) or self._ring.key_for(mn)

    def previous(self, mn: str, now: float) -> bytes | None:
        """The key replaced by CN 1014, while its grace period (until ``now``, monotonic s) lasts."""
        old = self._old.get(mn)
        if old is None or now > old[1]:
            self._old.pop(mn, None)
            return None
        return old[0]

    def rotate(self, mn: str, key: bytes, now: float) -> None:
        """Make ``key`` the current key of ``mn``; the old one is accepted for the grace period."""
        old = self.current(mn)
        if old is not None and old != key:
            self._old[mn] = (old, now + self._grace)
        self._rotated[mn] = key
        if self._path is None:
            log.warning("HJ 212: new key of MN %s is kept in memory only (no rotated_keys file)", mn)
            return
        _write_keys(self._path, self._rotated)
        log.info("HJ 212: new key of MN %s in effect; the old one is accepted for %.0f s", mn, self._grace)


def _write_keys(path: Path, keys: dict[str, bytes]) -> None:
    """Replace ``path`` atomically with ``MN=HEX`` lines, readable by the owner only."""
    text = "".join(f"{mn}={key.hex().upper()}\n" for mn, key in sorted(keys.items()))
    temporary = path.with_name(path.name + ".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
        out.flush()
        os.fsync(out.fileno())
    temporary.replace(path)
