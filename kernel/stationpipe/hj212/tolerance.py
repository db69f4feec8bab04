"""Deviations from HJ 212-2025 that real devices send and a receiver tolerates: kept, counted, logged once.

Each kind is counted every time a frame shows it (``Deviations.count``) and logged once per kind per
``Deviations``; the data is never dropped for it.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType

_LOG = logging.getLogger("stationpipe.hj212")


class Deviation(StrEnum):
    """The tolerated deviations."""

    DATATIME_MILLIS = "datatime-millis"  # DataTime/SampleTime with 17 digits (milliseconds), cut to seconds
    CRC_LOWER_CASE = "crc-lower-case"  # the CRC written in lower-case hex
    LF_LINE_END = "lf-line-end"  # the frame ends with LF alone instead of CR LF
    FLAG_VERSION = "flag-version"  # Flag does not carry the version configured for the logger


class Deviations:
    """Per-kind counters of tolerated deviations; the first of each kind is logged as a warning."""

    def __init__(self, logger: logging.Logger = _LOG) -> None:
        self._counts: Counter[Deviation] = Counter()
        self._logger = logger

    def note(self, kind: Deviation, detail: str) -> None:
        """Count one frame showing ``kind``; log it if it is the first of its kind."""
        self._counts[kind] += 1
        if self._counts[kind] == 1:
            message = "HJ 212-2025: tolerated %s (%s); the data is kept, further ones are only counted"
            self._logger.warning(message, kind, detail)

    def count(self, kind: Deviation) -> int:
        """How many frames showed ``kind``."""
        return self._counts[kind]

    @property
    def counts(self) -> Mapping[Deviation, int]:
        """All counters, read-only."""
        return MappingProxyType(dict(self._counts))
