"""What every writer has in common: the :class:`Writer` protocol and the classification of a write's outcome.

A writer takes one batch as the collector carries it (line-protocol lines: see the package docstring),
writes it in one request, and either returns or raises the error that says what the collector does next:

=================================  =============================  ==========================================
the database answered              raise                          the collector then
=================================  =============================  ==========================================
2xx                                nothing                        acknowledges the batch's messages
400: these points are refused      ``LinesRejectedError``         dead-letters the lines it names, rewrites
                                   (``named``: line, reason)      the rest; bisects when it names none
413: the request is too large      ``StoreTooLargeError``         splits the batch in halves
401, 403: our credentials          ``StoreAuthError``             stops with the message (fatal)
429, 503, other 5xx, 404, no       ``StoreUnavailableError``      spools the batch and retries with backoff
connection at all                  (``retry_after`` if given)     (honouring ``Retry-After``)
=================================  =============================  ==========================================

:func:`classify` is that table for a writer that speaks HTTP; a writer for a database with another kind of
answer translates its own errors into the same exceptions, once, at its boundary.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Protocol, runtime_checkable

from stationpipe.collector.config import InfluxSettings
from stationpipe.kernel.errors import (
    StoreAuthError,
    StoreRejectedError,
    StoreTooLargeError,
    StoreUnavailableError,
)


@runtime_checkable
class Writer(Protocol):
    """Writes one batch of lines in one request, or raises a classified ``StationpipeError``."""

    async def write(self, lines: list[str]) -> None:
        """Write all lines in one request."""

    async def aclose(self) -> None:
        """Release connections."""


#: What a row of :data:`stationpipe.collector.writers.WRITERS` names: builds a writer from the settings.
WriterFactory = Callable[[InfluxSettings], Writer]


#: Lines a database's answer names as refused, each with its own reason, in batch order.
Named = tuple[tuple[str, str], ...]


class LinesRejectedError(StoreRejectedError):
    """The database refused points of the batch for good; ``named`` are the (line, reason) pairs its
    answer names, in batch order (empty when it named none, e.g. a field-type conflict)."""

    def __init__(self, text: str, named: Named = ()) -> None:
        super().__init__(text)
        self.named = named


def retry_after(headers: Mapping[str, str] | None) -> float | None:
    """Seconds from an HTTP ``Retry-After`` header given in seconds; ``None`` when absent or a date."""
    if not headers:
        return None
    try:
        return max(0.0, float(headers["Retry-After"]))
    except (KeyError, ValueError):
        return None


def classify(
    server: str,
    code: int,
    text: str,
    headers: Mapping[str, str] | None,
    named: Named = (),
) -> None:
    """Raise what an HTTP write answer means (see the module docstring); return for success (2xx).

    ``server`` names the database in messages; ``text`` is its error text; ``named`` the refused lines
    the text names (used for a 400 only).
    """
    if 200 <= code < 300:
        return
    if code in (401, 403):
        raise StoreAuthError(f"{server} refused our credentials ({code}): {text[:300]}")
    if code == 400:
        raise LinesRejectedError(text, named)
    if code == 413:
        raise StoreTooLargeError(f"request too large (413): {text[:300]}")
    raise StoreUnavailableError(f"{server} answered {code}: {text[:300]}", retry_after=retry_after(headers))
