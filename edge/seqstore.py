"""The per-station message sequence number, persisted so it stays monotonic across restarts."""

from __future__ import annotations

from pathlib import Path


class SeqStore:
    """A counter in a small file, replaced atomically on every step."""

    def __init__(self, path: Path) -> None:
        self._path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._next = int(path.read_text().strip() or "0")
        except FileNotFoundError:
            self._next = 0

    def take(self) -> int:
        """Return the next number and persist the one after it before returning."""
        seq = self._next
        tmp = self._path.with_suffix(".tmp")
        tmp.write_text(str(seq + 1))
        tmp.replace(self._path)
        self._next = seq + 1
        return seq
