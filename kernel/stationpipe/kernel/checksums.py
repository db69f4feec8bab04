"""Checksums that instruments append to their ASCII records, as hex digits: XOR, additive sums and CRCs.

``xor`` (8-bit XOR of the bytes, as in NMEA 0183), ``sum8`` and ``sum16`` (the bytes added, modulo 2^8
or 2^16) are computed here; every other kind names a CRC of the catalogue of parametrised CRCs
(reveng's) as implemented by ``crccheck``, spelled in lower case without separators: ``crc16modbus``,
``crc16xmodem``, ``crc16kermit``, ``crc32isohdlc``, ``crc8smbus``... :data:`KINDS` lists them all.

Why crccheck: it is pure Python (nothing to compile on an ARM edge box), maintained (1.3.1, 2025), and
names every CRC of the catalogue with its parameters and check value; crcmod's last release is from 2010.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import reduce
from typing import Any

from crccheck.crc import ALLCRCCLASSES

#: A checksum: the bytes covered -> the value, and how many hex digits it is written with.
Rule = tuple[Callable[[bytes], int], int]


def _xor(data: bytes) -> int:
    return reduce(lambda acc, byte: acc ^ byte, data, 0)


def _crc(cls: Any) -> Rule:
    width = cls._width
    return (lambda data: int(cls.calc(data))), (width + 3) // 4


_SIMPLE: dict[str, Rule] = {
    "xor": (_xor, 2),
    "sum8": (lambda data: sum(data) & 0xFF, 2),
    "sum16": (lambda data: sum(data) & 0xFFFF, 4),
}
_CRCS: dict[str, Rule] = {cls.__name__.lower(): _crc(cls) for cls in ALLCRCCLASSES}

#: Every checksum kind a template may name.
KINDS: frozenset[str] = frozenset(_SIMPLE) | frozenset(_CRCS)


def rule(kind: str) -> Rule:
    """The rule of ``kind``; ``ValueError`` naming the simple kinds when it is unknown."""
    found = _SIMPLE.get(kind) or _CRCS.get(kind)
    if found is None:
        raise ValueError(f"unknown checksum {kind!r}: xor, sum8, sum16, or a CRC such as crc16modbus")
    return found


def hex_checksum(kind: str, data: bytes) -> str:
    """The checksum of ``data`` as upper-case hex digits of the kind's width."""
    compute, digits = rule(kind)
    return f"{compute(data):0{digits}X}"
