"""What to do when the database refuses part of a batch: keep the good points, isolate the bad ones.

- ``StoreRejectedError`` (a bad line, a field-type conflict): the lines the writer's
  ``LinesRejectedError`` names are rejected at once, each with its own reason, and the rest rewritten.
  Otherwise (a type conflict names only the field) the batch is bisected until each refused line stands
  alone: O(k log n) requests for k bad lines in n. Rewriting points the server already took is harmless:
  writes are idempotent.
- ``StoreTooLargeError``: the batch is split in halves until the parts fit; a single line too large is
  rejected.

Transient (retry) and fatal (stop) errors propagate to the caller unchanged. What the database answered
is the writer's business (:mod:`stationpipe.collector.writers.base`); this module sees only those errors.
"""

from __future__ import annotations

from dataclasses import dataclass

from stationpipe.collector.writers.base import LinesRejectedError, Writer
from stationpipe.kernel.errors import StoreRejectedError, StoreTooLargeError


@dataclass(frozen=True, slots=True)
class Refused:
    """One line the database will never take, with its reason."""

    line: str
    reason: str


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
        return await _rejected(writer, lines, exc)
    return []


async def _rejected(writer: Writer, lines: list[str], exc: StoreRejectedError) -> list[Refused]:
    if len(lines) == 1:
        return [Refused(lines[0], str(exc)[:1000])]
    named = exc.named if isinstance(exc, LinesRejectedError) else ()
    if not named:
        return await _halves(writer, lines)
    bad = {line for line, _ in named}
    return [Refused(*pair) for pair in named] + await write_all(writer, [x for x in lines if x not in bad])
