"""What InfluxDB's write answers say, for both InfluxDB writers (``/write`` and ``/api/v2/write``).

The error text is ``{"error": "..."}`` (1.x) or ``{"message": "..."}`` (2.x); a 400 for unparsable lines
names each (``unable to parse '<line>': <why>``), and the rest of the batch was written. A field-type
conflict names only the field: then no line is named and the policy bisects the batch.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping

from stationpipe.collector.writers.base import Named, classify

SERVER = "InfluxDB"
_DROPPED = re.compile(r"\s*dropped=\d+\s*$")


def error_text(body: str) -> str:
    """The server's error text: the JSON body's ``error`` or ``message``; else the raw body."""
    try:
        doc = json.loads(body)
    except ValueError:
        return body
    if isinstance(doc, dict):
        return str(doc.get("error") or doc.get("message") or body)
    return body


def named_lines(lines: list[str], text: str) -> Named:
    """The lines an InfluxDB parse error names, each with its own part of the error text, in batch order."""
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
            found.append((candidate, f"unable to parse: {why}"))
    return tuple(found)


def raise_for_status(
    code: int, body: str, headers: Mapping[str, str] | None, lines: list[str] | None = None
) -> None:
    """Raise the stationpipe error an InfluxDB write answer means; return for success (2xx).

    ``lines``: the batch written, so that a 400 names the lines the server refused.
    """
    if 200 <= code < 300:
        return
    text = error_text(body)
    named = named_lines(lines, text) if code == 400 and lines else ()
    classify(SERVER, code, text, headers, named)
