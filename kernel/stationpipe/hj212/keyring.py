"""HJ 212-2025 SM4 keys per data logger: MN -> 16-byte key, with an optional key for any other MN.

A ``KeyRing`` never shows its keys: ``repr`` names the MNs only, and every error says what is wrong
without the key text. Key files hold one entry a line: ``MN=32 hex digits`` for one logger, or 32 hex
digits alone for every other logger; blank lines and lines starting with ``#`` are skipped.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType

from stationpipe.hj212.cipher import BLOCK, check_key


def parse_key(text: str, what: str = "key") -> bytes:
    """A key written as 32 hex digits; raise ``ValueError`` naming ``what`` (never the text)."""
    cleaned = text.strip()
    if len(cleaned) != 2 * BLOCK or not all(c in "0123456789abcdefABCDEF" for c in cleaned):
        raise ValueError(f"{what}: an SM4 key is {2 * BLOCK} hex digits")
    return bytes.fromhex(cleaned)


class KeyRing:
    """The SM4 keys of the loggers: ``key_for(mn)`` is the MN's own key, else ``default``, else ``None``."""

    def __init__(self, keys: Mapping[str, bytes] | None = None, *, default: bytes | None = None) -> None:
        self._keys = MappingProxyType({mn: check_key(key) for mn, key in (keys or {}).items()})
        self._default = None if default is None else check_key(default)

    @classmethod
    def from_file(cls, path: Path) -> KeyRing:
        """Read a key file (see the module docstring); raise ``ValueError`` naming the line, not the key."""
        keys: dict[str, bytes] = {}
        default: bytes | None = None
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            entry = line.strip()
            if not entry or entry.startswith("#"):
                continue
            mn, eq, text = entry.partition("=")
            where = f"{path.name} line {number}"
            if not eq:
                if default is not None:
                    raise ValueError(f"{where}: a second key for every MN")
                default = parse_key(mn, where)
            elif mn.strip() in keys:
                raise ValueError(f"{where}: MN {mn.strip()} given twice")
            else:
                keys[mn.strip()] = parse_key(text, where)
        return cls(keys, default=default)

    def key_for(self, mn: str | None) -> bytes | None:
        """The key of ``mn``, the default key, or ``None``."""
        if mn is not None and mn in self._keys:
            return self._keys[mn]
        return self._default

    def __len__(self) -> int:
        return len(self._keys) + (self._default is not None)

    def __repr__(self) -> str:
        default = ", a default key" if self._default is not None else ""
        return f"KeyRing(MNs {sorted(self._keys)}{default})"
