"""HJ 212 code tables, packet-flag bits and China Standard Time helpers (pure, no I/O).

Codes are kept as the strings (``ST``, ``CN``) or integers (``QnRtn``, ``ExeRtn``) the wire carries; the
enums name the values docs/domain.md#hj-212-2017 lists, and values outside them are still accepted everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from enum import IntEnum, StrEnum

#: China Standard Time (UTC+8, no daylight saving): the zone of ``QN``, ``DataTime`` and ``SampleTime``.
CST = timezone(timedelta(hours=8), "CST")

TIME_FORMAT = "%Y%m%d%H%M%S"


class Version(StrEnum):
    """Protocol versions a codec exists for; a new standard is a new member plus a codec class."""

    HJ212_2017 = "HJ212-2017"
    HJ212_2025 = "HJ212-2025"


class St(StrEnum):
    """System codes (``ST``)."""

    SURFACE_WATER = "21"
    AMBIENT_AIR = "22"
    NOISE = "23"
    VOCS = "27"
    AIR_SOURCE = "31"
    WATER_SOURCE = "32"
    SYSTEM = "91"  # system interaction: replies


class Cn(StrEnum):
    """Command codes (``CN``) used by stationpipe."""

    REALTIME = "2011"
    MINUTE = "2051"
    HOURLY = "2061"
    DAILY = "2031"
    STATUS = "2021"
    GET_TIME = "1011"
    SET_TIME = "1012"
    QN_RTN = "9011"
    EXE_RTN = "9012"
    NOTIFY_RTN = "9013"
    DATA_RTN = "9014"
    HEARTBEAT = "9015"  # HJ 212-2025
    NEW_KEY = "1014"  # HJ 212-2025: get/set a new SM4 key
    DEVICE_INFO = "3020"  # HJ 212-2025: field-unit information
    STANDARD_CHECK = "2062"  # HJ 212-2025: automatic standard-sample check (calibration) data


class QnRtn(IntEnum):
    """Request reply codes (CN 9011, ``QnRtn``)."""

    READY = 1
    REJECTED = 2
    WRONG_PW = 3
    WRONG_MN = 4
    WRONG_ST = 5
    WRONG_FLAG = 6
    WRONG_QN = 7
    WRONG_CN = 8
    CRC_ERROR = 9
    UNKNOWN = 100


class ExeRtn(IntEnum):
    """Execution result codes (CN 9012, ``ExeRtn``)."""

    SUCCESS = 1
    FAILED = 2
    BAD_CONDITIONS = 3
    TIMEOUT = 4
    BUSY = 5
    FAULT = 6
    NO_DATA = 100


#: Packet-flag bits ``V5..V0 D A``: ``A`` asks for a reply, ``D`` says PNUM/PNO are present.
FLAG_A = 0b01
FLAG_D = 0b10
#: The version field value (``V5..V0``) of HJ 212-2017.
FLAG_VERSION_2017 = 1
#: The version field value (``V5..V0`` = 000010) of HJ 212-2025: Flag 8, 9, 10, 11.
FLAG_VERSION_2025 = 2


@dataclass(frozen=True, slots=True)
class PacketFlag:
    """The header ``Flag`` split into its bits; any non-negative value is accepted (devices send e.g. 8)."""

    value: int

    def __post_init__(self) -> None:
        if self.value < 0:
            raise ValueError(f"Flag must be >= 0, got {self.value}")

    @classmethod
    def make(cls, *, version: int = FLAG_VERSION_2017, split: bool = False, ack: bool = False) -> PacketFlag:
        """Build a flag from its parts: ``make(ack=True).value == 5``."""
        return cls((version << 2) | (FLAG_D if split else 0) | (FLAG_A if ack else 0))

    @property
    def version(self) -> int:
        """The ``V5..V0`` field: 2 for HJ 212-2025, 1 for HJ 212-2017, 0 for the 2005 edition."""
        return self.value >> 2

    @property
    def split(self) -> bool:
        """D bit: the segment is one packet of a split payload and carries PNUM/PNO."""
        return bool(self.value & FLAG_D)

    @property
    def ack(self) -> bool:
        """A bit: the receiver must answer (9014 for uploads)."""
        return bool(self.value & FLAG_A)


def encrypted_cn(cn: str) -> bool:
    """HJ 212-2025: the commands whose CP data area is SM4-encrypted (2000-2999, 1014, 3020)."""
    if cn in (Cn.NEW_KEY, Cn.DEVICE_INFO):
        return True
    return len(cn) == 4 and cn.isascii() and cn.isdigit() and 2000 <= int(cn) <= 2999


def cst_to_utc(local: datetime) -> datetime:
    """Convert a China Standard Time instant to timezone-aware UTC.

    A naive ``local`` is read as a CST wall clock (what ``DataTime`` says); an aware one is converted.
    """
    if local.tzinfo is None:
        local = local.replace(tzinfo=CST)
    return local.astimezone(UTC)


def utc_to_cst(instant: datetime) -> datetime:
    """Convert a timezone-aware instant to an aware datetime in China Standard Time."""
    if instant.tzinfo is None:
        raise ValueError(f"instant must be timezone-aware, got {instant!r}")
    return instant.astimezone(CST)


def parse_time(text: str) -> datetime:
    """Parse ``YYYYMMDDhhmmss`` (CST wall clock) into an aware datetime in CST; raise ``ValueError``."""
    if len(text) != 14 or not text.isdigit():
        raise ValueError(f"{text!r} is not YYYYMMDDhhmmss")
    return datetime.strptime(text, TIME_FORMAT).replace(tzinfo=CST)


def format_time(instant: datetime) -> str:
    """Format an aware instant as ``YYYYMMDDhhmmss`` in CST; whole seconds only, so it round-trips."""
    local = utc_to_cst(instant)
    if local.microsecond:
        raise ValueError(f"{instant!r} has sub-second precision, which YYYYMMDDhhmmss cannot carry")
    return _wall_clock(local)


def make_qn(instant: datetime) -> str:
    """The request id ``QN`` (``YYYYMMDDhhmmsszzz``, CST, milliseconds) for an aware instant."""
    local = utc_to_cst(instant)
    return f"{_wall_clock(local)}{local.microsecond // 1000:03d}"


def _wall_clock(local: datetime) -> str:
    """``YYYYMMDDhhmmss`` with a four-digit year (``strftime('%Y')`` gives ``1``, not ``0001``, on glibc)."""
    return f"{local.year:04d}{local:%m%d%H%M%S}"


def qn_time(qn: str) -> datetime:
    """The instant a ``QN`` names, as aware UTC; raise ``ValueError`` unless it is ``YYYYMMDDhhmmsszzz``."""
    if len(qn) != 17 or not qn.isdigit():
        raise ValueError(f"QN {qn!r} is not YYYYMMDDhhmmsszzz")
    local = parse_time(qn[:14]) + timedelta(milliseconds=int(qn[14:]))
    return local.astimezone(UTC)
