"""The HJ 212 data segment: ``QN=…;ST=…;CN=…;PW=…;MN=…;Flag=…;PNUM=…;PNO=…;CP=&&…&&``.

Parsing accepts the header fields in any order, skips empty items, and accepts a missing QN, PW, MN or
Flag (real loggers omit them) and any MN length; ST, CN and CP are required, unknown or repeated fields are
errors. Formatting writes the fields in the order above, omitting those that are ``None``.

HJ 212-2025 adds ``RF=1`` (re-sent data) between PNO and CP; there is no ``RF=0``, a segment that is not
re-sent has no RF field. Only the 2025 codec parses it (``parse_segment(text, allow_rf=True)``); for
HJ 212-2017 ``RF`` stays an unknown field.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from stationpipe.hj212.codes import FLAG_D, PacketFlag
from stationpipe.hj212.cp import CpArea, check_key, check_value, format_cp, parse_cp
from stationpipe.hj212.errors import CpError, SegmentError

HEADER_FIELDS = ("QN", "ST", "CN", "PW", "MN", "Flag", "PNUM", "PNO")
RF_FIELD = "RF"
_CP_MARK = "CP="


@dataclass(frozen=True, slots=True)
class DataSegment:
    """One data segment. ``st`` and ``cn`` are the codes as text (``St``/``Cn`` members fit).

    Invariants: ``pnum`` and ``pno`` are both set (``1 <= pno <= pnum``) or both ``None``; ``flag`` is a
    non-negative integer or ``None`` (absent); text fields contain no ``; , & =``. ``rf`` (HJ 212-2025
    ``RF=1``) marks re-sent data.
    """

    st: str
    cn: str
    qn: str | None = None
    pw: str | None = None
    mn: str | None = None
    flag: int | None = 4
    pnum: int | None = None
    pno: int | None = None
    cp: CpArea = field(default_factory=CpArea)
    rf: bool = False

    def __post_init__(self) -> None:
        try:
            for name, value in (("ST", self.st), ("CN", self.cn)):
                check_key(name, value)
            for name, text in (("QN", self.qn), ("PW", self.pw), ("MN", self.mn)):
                if text is not None:
                    check_value(name, text)
                    if "=" in text:
                        raise SegmentError(f"{name}: {text!r} contains '='")
        except CpError as exc:
            raise SegmentError(exc.reason) from None
        if self.flag is not None and self.flag < 0:
            raise SegmentError(f"Flag: {self.flag} is negative")
        if (self.pnum is None) != (self.pno is None):
            raise SegmentError("PNUM and PNO must be given together")
        if self.pnum is not None and self.pno is not None and not 1 <= self.pno <= self.pnum:
            raise SegmentError(f"PNO {self.pno} is not within 1..PNUM ({self.pnum})")

    @property
    def packet_flag(self) -> PacketFlag:
        """The header flag's bits (an absent flag reads as 0: no reply, not split)."""
        return PacketFlag(self.flag or 0)

    @property
    def needs_reply(self) -> bool:
        """The A bit: the receiver must answer (9014 for an upload)."""
        return self.packet_flag.ack

    @property
    def is_split(self) -> bool:
        """One packet of a split payload (PNUM/PNO present)."""
        return self.pnum is not None

    def without_split(self) -> DataSegment:
        """The same segment with PNUM/PNO removed and the D bit cleared."""
        flag = None if self.flag is None else self.flag & ~FLAG_D
        return replace(self, flag=flag, pnum=None, pno=None)


def format_segment(segment: DataSegment) -> str:
    """The data segment text, fields in canonical order."""
    values = (
        segment.qn,
        segment.st,
        segment.cn,
        segment.pw,
        segment.mn,
        segment.flag,
        segment.pnum,
        segment.pno,
    )
    pairs = zip(HEADER_FIELDS, values, strict=True)
    items = [f"{name}={value}" for name, value in pairs if value is not None]
    if segment.rf:
        items.append(f"{RF_FIELD}=1")
    items.append(_CP_MARK + format_cp(segment.cp))
    return ";".join(items)


def _int(name: str, text: str) -> int:
    if not text.isascii() or not text.isdigit():
        raise SegmentError(f"{name}: {text!r} is not a non-negative integer")
    return int(text)


def _header_fields(header: str, known: tuple[str, ...]) -> dict[str, str]:
    """The ``name=value`` items before CP; unknown or repeated names are errors."""
    fields: dict[str, str] = {}
    for item in header.split(";"):
        if not item:
            continue
        name, eq, value = item.partition("=")
        if not eq:
            raise SegmentError(f"field {item!r} is not name=value")
        if name not in known:
            raise SegmentError(f"unknown field {name!r}")
        if name in fields:
            raise SegmentError(f"field {name} given twice")
        fields[name] = value
    return fields


def parse_segment(text: str, *, allow_rf: bool = False) -> DataSegment:
    """Parse a data segment; raise ``SegmentError``/``CpError`` naming the field that is wrong.

    ``allow_rf`` (HJ 212-2025) accepts ``RF=1``; any other RF value is an error (there is no ``RF=0``).
    """
    known = (*HEADER_FIELDS, RF_FIELD) if allow_rf else HEADER_FIELDS
    at = text.find(_CP_MARK + "&&")
    if at < 0:
        raise SegmentError("CP=&&…&& missing")
    if at > 0 and text[at - 1] != ";":
        raise SegmentError("CP must follow a ';'")
    fields = _header_fields(text[:at], known)
    for required in ("ST", "CN"):
        if required not in fields:
            raise SegmentError(f"{required} missing")
    ints = {name: _int(name, fields[name]) for name in ("Flag", "PNUM", "PNO") if name in fields}
    if fields.get(RF_FIELD, "1") != "1":
        raise SegmentError(f"RF={fields[RF_FIELD]!r}: only RF=1 (re-sent data) exists; omit RF otherwise")
    return DataSegment(
        st=fields["ST"],
        cn=fields["CN"],
        qn=fields.get("QN"),
        pw=fields.get("PW"),
        mn=fields.get("MN"),
        flag=ints.get("Flag"),
        pnum=ints.get("PNUM"),
        pno=ints.get("PNO"),
        cp=parse_cp(text[at + len(_CP_MARK) :]),
        rf=RF_FIELD in fields,
    )
