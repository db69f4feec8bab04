"""One segment file of the spool: frames appended in seq order, indexed in memory by compact arrays.

A segment is named by the seq of its first record (``00000000000000000042.seg``). Only the newest segment
is written to (``O_APPEND``, one ``write`` per record, no buffering in the process); older ones are only
read (``pread``) and deleted as a whole once every record in them has left the spool.
"""

from __future__ import annotations

import bisect
import os
from array import array
from pathlib import Path

from stationpipe.edge.spool import frames

SUFFIX = ".seg"


def name(first_seq: int) -> str:
    """The file name of the segment whose first record has ``first_seq``."""
    return f"{first_seq:020d}{SUFFIX}"


def paths(directory: Path) -> list[Path]:
    """The segment files of a spool directory, oldest first."""
    return sorted(p for p in directory.glob(f"*{SUFFIX}") if p.stem.isdigit())


class Segment:
    """An open segment file and the index of its records (seq, offset, payload size, created)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
        self.seqs = array("q")
        self.offsets = array("q")
        self.sizes = array("q")
        self.created = array("d")
        self.end = 0

    @classmethod
    def load(cls, path: Path) -> tuple[Segment, int]:
        """Open an existing segment and index its whole frames; the bytes of a torn tail are cut off.
        Returns the segment and how many bytes were cut."""
        seg = cls(path)
        data = path.read_bytes()
        for frame in frames.scan(data):
            seg.index(frame.seq, frame.created, len(frame.payload), frame.offset, frame.size)
        torn = len(data) - seg.end
        if torn:
            os.ftruncate(seg.fd, seg.end)
        return seg, torn

    def index(self, seq: int, created: float, payload: int, offset: int, size: int) -> None:
        """Add one record to the index."""
        self.seqs.append(seq)
        self.offsets.append(offset)
        self.sizes.append(payload)
        self.created.append(created)
        self.end = offset + size

    def append(self, seq: int, created: float, topic: str, payload: bytes) -> None:
        """Write one record (one ``write`` call: whole in the page cache, or not at all)."""
        frame = frames.encode(seq, created, topic, payload)
        os.write(self.fd, frame)
        self.index(seq, created, len(payload), self.end, len(frame))

    def read(self, i: int) -> frames.Frame:
        """The ``i``-th record, read back from the file."""
        offset = self.offsets[i]
        end = self.offsets[i + 1] if i + 1 < len(self.offsets) else self.end
        data = os.pread(self.fd, end - offset, offset)
        body = frames.body_at(data, 0)
        if body is None:
            raise OSError(f"spool segment {self.path} changed under the agent at offset {offset}")
        return frames.decode_body(body, offset)

    def after(self, seq: int) -> int:
        """The index of the first record with a seq above ``seq``."""
        return bisect.bisect_right(self.seqs, seq)

    def __len__(self) -> int:
        return len(self.seqs)

    def fsync(self) -> None:
        """Force the file's data to the device."""
        os.fdatasync(self.fd)

    def close(self) -> None:
        """Close the file."""
        os.close(self.fd)

    def delete(self) -> None:
        """Close and remove the file."""
        self.close()
        self.path.unlink(missing_ok=True)
