"""HJ 212 errors: every one is a ``RejectedError`` (the input will never be accepted) with a clear reason.

::

    RejectedError
    └── Hj212Error            reason, and the QnRtn code a platform answers with
        ├── FrameError          framing: ``##``, length field, CR LF
        │   ├── LengthError       the length field disagrees with the data segment
        │   ├── CrcError          CRC not 4 hex digits, or not the CRC of the data segment
        │   └── FrameTooLargeError  over the size limit
        ├── SegmentError        a data-segment field (QN, ST, CN, PW, MN, Flag, PNUM, PNO)
        │   └── CpError           the CP area or one of its values
        ├── SplitError          split packets that do not reassemble
        └── CipherError         HJ 212-2025: an SM4-encrypted data area that cannot be read
            ├── KeyMissingError   no key is configured for the frame's MN
            └── WrongKeyError     the decrypted bytes are not CP text (wrong key)

Reasons never contain key material.
"""

from __future__ import annotations

from typing import ClassVar

from stationpipe.hj212.codes import QnRtn
from stationpipe.kernel.errors import RejectedError


class Hj212Error(RejectedError):
    """An HJ 212 frame or field that cannot be accepted; ``reason`` says what is wrong."""

    #: What a platform answers in a 9011 reply when it rejects a request for this reason.
    qn_rtn: ClassVar[QnRtn] = QnRtn.UNKNOWN

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class FrameError(Hj212Error):
    """The bytes are not an HJ 212 frame (``##`` + length + segment + CRC + CR LF)."""


class LengthError(FrameError):
    """The 4-digit length field does not match the data segment."""


class CrcError(FrameError):
    """The CRC field is malformed or is not the CRC of the data segment."""

    qn_rtn: ClassVar[QnRtn] = QnRtn.CRC_ERROR


class FrameTooLargeError(FrameError):
    """A frame (or what would be one) exceeds the configured size limit."""


class SegmentError(Hj212Error):
    """A data-segment field is missing, repeated or malformed."""


class CpError(SegmentError):
    """The CP area (``CP=&&…&&``) or one of its values is malformed."""


class SplitError(Hj212Error):
    """Split packets (PNUM/PNO) that do not form one payload."""


class CipherError(Hj212Error):
    """HJ 212-2025: the encrypted data area (``{0xE4,0x3E,…}`` + plaintext tail) is malformed."""


class KeyMissingError(CipherError):
    """HJ 212-2025: the data area is encrypted and no key is configured for the frame's MN."""


class WrongKeyError(CipherError):
    """HJ 212-2025: the data area decrypts to bytes that are not CP text, so the key is wrong."""
