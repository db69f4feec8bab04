"""HJ 212 factor values in our vocabulary (pure): the data flag as a :class:`Flag`, the factor code as a
catalogue parameter, and the value an upload carries. One rule for every receiver of HJ 212 (the
collector's server, the edge's instrument driver), so a frame means the same wherever it is read.

- A ``-Flag`` letter of HJ 212-2017 (N F M S D C T B) is that flag; any other letter is kept as D, so it
  is never mistaken for valid data (and :func:`is_known_flag` lets a caller report it). No flag means N.
- A factor code maps to a parameter by the caller's overrides first, then by the catalogue's HJ 212
  column; ``None`` when neither knows it.
- 2011 (real-time) gives ``-Rtd``; 2051/2061/2031 give ``-Avg``, falling back to ``-Rtd``.
"""

from __future__ import annotations

from collections.abc import Mapping

from stationpipe.hj212.codes import Cn
from stationpipe.hj212.cp import FactorValue
from stationpipe.kernel.catalogue import BY_HJ212
from stationpipe.kernel.reading import Flag

#: The CNs that carry data: real-time, minute, hourly and daily uploads.
UPLOADS = frozenset({Cn.REALTIME.value, Cn.MINUTE.value, Cn.HOURLY.value, Cn.DAILY.value})


def is_known_flag(letter: str | None) -> bool:
    """Whether a ``-Flag`` letter is one of HJ 212-2017's (or absent, which means N)."""
    return letter is None or letter in Flag.__members__


def data_flag(factor: FactorValue) -> Flag:
    """The factor's data flag: its letter, N when absent, D for a letter HJ 212-2017 does not define."""
    if factor.flag is None:
        return Flag.N
    return Flag(factor.flag) if factor.flag in Flag.__members__ else Flag.D


def factor_parameter(code: str, overrides: Mapping[str, str] | None = None) -> str | None:
    """Our parameter code for an HJ 212 factor code (``overrides`` first, then the catalogue), or ``None``."""
    if overrides and code in overrides:
        return overrides[code]
    row = BY_HJ212.get(code)
    return row.code if row else None


def factor_value(cn: str, factor: FactorValue) -> float | None:
    """What an upload of ``cn`` carries for ``factor``: ``-Rtd`` for 2011, else ``-Avg`` (or ``-Rtd``)."""
    if cn == Cn.REALTIME.value:
        return factor.rtd
    return factor.avg if factor.avg is not None else factor.rtd
