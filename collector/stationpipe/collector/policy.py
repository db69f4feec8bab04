"""What to do when the database refuses part of a batch: keep the good points, isolate the bad ones.

- 400 (a bad line, a field-type conflict): InfluxDB 1.x names unparsable lines (``unable to parse
  '<line>': <why>``); those are rejected at once and the rest rewritten. Otherwise (a type conflict names
  only the field) the batch is bisected until each refused line stands alone: O(k log n) requests for k
  bad lines in n. Rewriting points the server already took is harmless: writes are idempotent.
- 413: the batch is split in halves until the parts fit; a single line too large is rejected.

Transient (retry) and fatal (stop) errors propagate to the caller unchanged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from stationpipe.collector.influx import Writer
from stationpipe.kernel.errors import StoreRejectedError, StoreTooLargeError

_DROPPED = re.compile(r"\s*dropped=\d+\s*$")


@dataclass(frozen=True, slots=True)
class Refused:
    """One line the database will never take, with its reason."""

    line: str
    reason: str


def _named(lines: list[str], text: str) -> list[Refused]:
    """Lines an InfluxDB 1.x parse error names, each with its own part of the error text."""
    found = []
    for candidate in lines:
        marker = f"unable to parse '{candidate}': "
        start = text.find(marker)
        if start >= 0:
            tail = text[start + len(marker) :]
            end = min(
                (i for i in (tail.find("\n"), tail.find("unable to parse")) if i >= 0), default=len(tail)
            )
            why = _DROPPED.sub("", tail[:end]).strip()  # " dropped=N" ends the whole partial-write text
            found.append(Refused(candidate, f"unable to parse: {why}"))
    return found


async def _halves(writer: Writer, lines: list[str]) -> list[Refused]:
    mid = len(lines) // 2
    return [*await write_all(writer, lines[:mid]), *await write_all(writer, lines[mid:])]


async def write_all(writer: Writer, lines: list[str]) -> list[Refused]:
    """Write every line the database accepts; return those it refuses (with reasons), in order.

    Raises ``TransientError`` (retry later) or ``FatalError`` (stop) from the writer unchanged.
    """
    if not lines:
        return []
    try:
        await writer.write(lines)
    except StoreTooLargeError as exc:
        if len(lines) == 1:
            return [Refused(lines[0], str(exc))]
        return await _halves(writer, lines)
    except StoreRejectedError as exc:
        return await _rejected(writer, lines, str(exc))
    return []


async def _rejected(writer: Writer, lines: list[str], text: str) -> list[Refused]:
    if len(lines) == 1:
        return [Refused(lines[0], text[:1000])]
    named = _named(lines, text)
    if not named:
        return await _halves(writer, lines)
    bad = {r.line for r in named}
    return named + await write_all(writer, [x for x in lines if x not in bad])
