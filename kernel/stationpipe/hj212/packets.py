"""What every codec shares: the decoded ``Frame`` and the split of an over-long segment into packets."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from stationpipe.hj212.codes import FLAG_D, Version
from stationpipe.hj212.cp import CpArea
from stationpipe.hj212.errors import SplitError
from stationpipe.hj212.segment import DataSegment


@dataclass(frozen=True, slots=True)
class Frame:
    """A decoded frame: its data segment, the CRC it carried, and whether that CRC was right.

    HJ 212-2025 frames also say whether the data area was encrypted and which tolerated deviations
    (``tolerance.Deviation`` values) the frame showed.
    """

    segment: DataSegment
    crc: int
    crc_ok: bool
    version: Version = Version.HJ212_2017
    encrypted: bool = False
    deviations: tuple[str, ...] = ()


def split_segment(
    segment: DataSegment, *, base_flag: int, fits: Callable[[DataSegment], bool], limit: str
) -> list[DataSegment]:
    """Packets PNO 1..PNUM of ``segment`` (D bit set, DataTime in each), each one ``fits``.

    Parameters and factors are distributed in order, whole; ``base_flag`` is used when the segment has
    no Flag. Raises ``SplitError`` when one item alone does not fit beside the header (``limit`` says
    what the limit is).
    """
    flag = (segment.flag if segment.flag is not None else base_flag) | FLAG_D
    # Pack against 4-digit PNUM/PNO placeholders: the real numbers are never longer.
    probe = replace(segment, flag=flag, pnum=9999, pno=9999)
    units: list[CpArea] = [CpArea(params=(p,)) for p in segment.cp.params]
    units += [CpArea(factors=(f,)) for f in segment.cp.factors]
    packets: list[CpArea] = []
    current = CpArea(segment.cp.data_time)
    for unit in units:
        grown = CpArea(current.data_time, current.params + unit.params, current.factors + unit.factors)
        if fits(replace(probe, cp=grown)):
            current = grown
            continue
        if current.params or current.factors:
            packets.append(current)
        current = CpArea(segment.cp.data_time, unit.params, unit.factors)
        if not fits(replace(probe, cp=current)):
            names = [key for key, _ in unit.params] + [f.code for f in unit.factors]
            raise SplitError(f"CP item {names[0]} alone exceeds {limit} with the header")
    packets.append(current)
    return [replace(probe, pnum=len(packets), pno=n, cp=cp) for n, cp in enumerate(packets, 1)]
