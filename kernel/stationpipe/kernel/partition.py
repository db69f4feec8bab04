"""Stations split across the instances of a consumer (rules engines, collectors) by a stable hash.

Station ``s`` belongs to partition ``crc32(s) mod count`` (CRC-32 of the UTF-8 id: the same number in
every process, language and release). The station id is a segment of every topic a station publishes on
(``stations/<id>/readings``), so an instance subscribes to exactly its own stations with plain filters,
which a broker restores with a persistent session after a restart (docs/broker_restart.md).
"""

from __future__ import annotations

import zlib

from pydantic import Field, model_validator

from stationpipe.kernel.config import Model


def partition_of(station: str, count: int) -> int:
    """The partition ``station`` belongs to when the stations are split ``count`` ways."""
    return zlib.crc32(station.encode()) % count


class Partition(Model):
    """Stations are split across ``count`` instances by a stable hash of their id (CRC-32 mod ``count``).

    Instance ``index`` subscribes to its own stations' topics only, so a station always lands on one
    instance.
    """

    count: int = Field(default=1, ge=1, le=1024)
    index: int = Field(default=0, ge=0)

    @model_validator(mode="after")
    def _in_range(self) -> Partition:
        if self.index >= self.count:
            raise ValueError(f"index must be < count ({self.count})")
        return self

    def owns(self, station: str) -> bool:
        """True when ``station`` belongs to this instance's partition."""
        return partition_of(station, self.count) == self.index
