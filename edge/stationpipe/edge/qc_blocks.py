"""Pure decoding of a profile's QC blocks (the registers holding an analyser's latest quality-control check
of one parameter, :class:`stationpipe.kernel.registermap.QcBlock`) into :class:`QcRecord` values.

A block whose check code is 0 (no check yet) or unknown, or whose time is 0, yields nothing; a check the
edge cannot judge (a zero check of a parameter whose profile gives no measuring range, a relative error
against a zero standard) raises ``ValueError`` with the reason, for the reader to log once.
"""

from __future__ import annotations

from datetime import UTC, datetime

from stationpipe.kernel.catalogue import parameter as catalogue_row
from stationpipe.kernel.precision import clean, float32_shortest
from stationpipe.kernel.qc import QcRecord
from stationpipe.kernel.registermap import DataType, Profile, QcBlock, from_registers
from stationpipe.kernel.units import to_canonical


def block_request(profile: Profile, block: QcBlock) -> tuple[int, int]:
    """PDU ``(address, count)`` of the one read that covers the block."""
    first, end = block.span()
    return profile.pdu_address(first), end - first


def full_scale(profile: Profile, parameter: str) -> float | None:
    """The upper end of the parameter's measuring range in the profile, if it gives one."""
    return next((p.range[1] for p in profile.points if p.parameter == parameter and p.range), None)


def decode_block(
    profile: Profile, block: QcBlock, registers: list[int], station: str, device: str
) -> QcRecord | None:
    """The check the block shows (``registers`` from :func:`block_request`'s address), or ``None``."""
    first = block.span()[0]

    def words(address: int, count: int) -> list[int]:
        at = address - first
        return registers[at : at + count]

    check = block.codes.get(words(block.check, 1)[0])
    stamp = int(from_registers(words(block.time, 2), DataType.UINT32, block.order))
    if check is None or stamp == 0:
        return None

    def value(address: int) -> float:  # float32's shortest decimal, as the readings (docs/design.md#values)
        raw = float32_shortest(from_registers(words(address, 2), DataType.FLOAT32, block.order))
        return clean(to_canonical(block.parameter, raw, block.unit))

    sample = value(block.sample) if block.sample is not None else None
    span = full_scale(profile, block.parameter)
    span = to_canonical(block.parameter, span, block.unit) if span is not None else None
    return QcRecord.judge(
        station, device, block.parameter, check, datetime.fromtimestamp(stamp, UTC), value(block.standard),
        value(block.measured), catalogue_row(block.parameter).unit, sample=sample, span=span,
    )  # fmt: skip
