"""HJ 212-2025 data-area encryption: SM4, 128-bit key, ECB, no padding (``cryptography`` does the cipher).

The data area is the text between ``CP=&&`` and the closing ``&&``. Whole 16-byte groups are encrypted;
a tail shorter than 16 bytes stays plaintext. On the wire the ciphertext is written as
``{0xE4,0x3E,…}`` (upper-case hex, comma separated) and the plaintext tail follows the ``}``. A data
area shorter than 16 bytes has nothing to encrypt and is sent as it is. See docs/domain.md#hj-212-2025.
"""

from __future__ import annotations

import re

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from stationpipe.hj212.errors import CipherError

#: SM4 key and block size in bytes.
BLOCK = 16
_ITEM = re.compile(rb"0[xX][0-9A-Fa-f]{2}")


def check_key(key: bytes) -> bytes:
    """``key`` if it is 16 bytes; raise ``ValueError`` (without the key) otherwise."""
    if len(key) != BLOCK:
        raise ValueError(f"an SM4 key is {BLOCK} bytes, got {len(key)}")
    return bytes(key)


def _ecb(key: bytes) -> Cipher[modes.ECB]:
    # ECB is what HJ 212-2025 prescribes (each 16-byte group on its own); not our choice to make.
    return Cipher(algorithms.SM4(check_key(key)), modes.ECB())  # noqa: S305


def is_encrypted(area: bytes) -> bool:
    """The data area is in the ciphertext notation (starts with ``{``; plain CP text never does)."""
    return area.startswith(b"{")


def encrypt_area(plain: bytes, key: bytes) -> bytes:
    """The wire form of a plaintext data area: ``{0x..,…}`` for the whole blocks, then the plain tail."""
    whole = len(plain) - len(plain) % BLOCK
    if whole == 0:
        return plain
    encryptor = _ecb(key).encryptor()
    cipher = encryptor.update(plain[:whole]) + encryptor.finalize()
    return b"{" + b",".join(b"0x%02X" % byte for byte in cipher) + b"}" + plain[whole:]


def split_area(area: bytes) -> tuple[bytes, bytes]:
    """``(ciphertext, plaintext tail)`` of a data area in the ciphertext notation.

    Raises ``CipherError`` when the braces, the ``0xHH`` items, the whole-block length or the tail
    (shorter than 16 bytes) are wrong. ``{}`` (no ciphertext) is accepted.
    """
    close = area.find(b"}")
    if not area.startswith(b"{") or close < 0:
        raise CipherError("encrypted data area must be '{0x..,…}' followed by the plaintext tail")
    inner, tail = area[1:close], area[close + 1 :]
    items = inner.split(b",") if inner else []
    for number, item in enumerate(items, 1):
        if not _ITEM.fullmatch(item):
            raise CipherError(f"ciphertext item {number} is not 0xHH: {item[:8]!r}")
    if len(items) % BLOCK:
        raise CipherError(f"ciphertext of {len(items)} bytes is not whole {BLOCK}-byte blocks")
    if len(tail) >= BLOCK:
        raise CipherError(f"plaintext tail of {len(tail)} bytes: only one shorter than {BLOCK} stays plain")
    return bytes(int(item, 0) for item in items), tail


def decrypt_blocks(cipher: bytes, key: bytes) -> bytes:
    """SM4-ECB decryption of whole blocks (``split_area`` checked their length)."""
    decryptor = _ecb(key).decryptor()
    return decryptor.update(cipher) + decryptor.finalize()


def decrypt_area(area: bytes, key: bytes) -> bytes:
    """The plaintext data area of a data area in the ciphertext notation (see ``split_area``)."""
    cipher, tail = split_area(area)
    return (decrypt_blocks(cipher, key) if cipher else b"") + tail
