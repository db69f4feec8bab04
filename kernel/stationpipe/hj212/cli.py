"""``stationpipe hj212 decode|encode``: HJ 212-2017 frames <-> JSON lines, on standard input and output.

Mounted by ``stationpipe.cli`` as ``app.add_typer(hj212_app, name="hj212")``. Input is read line by line (a
frame's CR LF, or a bare LF, ends a line; blank lines are skipped). Each problem is reported on standard
error as ``line N: reason`` and processing goes on; the exit status is 1 if any line failed.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator

import typer

from stationpipe.hj212 import CrcError, Hj212Error, decode, encode_packets
from stationpipe.hj212.jsonform import segment_from_json, segment_to_json

hj212_app = typer.Typer(help="HJ 212-2017 frames <-> JSON objects (one per line).", no_args_is_help=True)


def _lines() -> Iterator[tuple[int, bytes]]:
    """Non-blank input lines without their line ending, numbered from 1."""
    for number, line in enumerate(sys.stdin.buffer, 1):
        stripped = line.rstrip(b"\r\n")
        if stripped.strip():
            yield number, stripped


def _fail(number: int, reason: str) -> None:
    typer.echo(f"line {number}: {reason}", err=True)


@hj212_app.command("decode")
def decode_command() -> None:
    """Read frames from stdin; print one JSON object per frame (protocol field names, ``crc_ok``).

    A frame with a wrong CRC is still printed, with ``"crc_ok": false``, and counts as a failure.
    """
    failed = False
    for number, line in _lines():
        try:
            frame = decode(line + b"\r\n", verify_crc=False)
        except Hj212Error as exc:
            _fail(number, exc.reason)
            failed = True
            continue
        obj = segment_to_json(frame.segment)
        obj["crc_ok"] = frame.crc_ok
        typer.echo(json.dumps(obj, ensure_ascii=False))
        if not frame.crc_ok:
            try:
                decode(line + b"\r\n")  # strict decode, for its message naming both CRCs
            except CrcError as exc:
                _fail(number, exc.reason)
            failed = True
    if failed:
        raise typer.Exit(code=1)


@hj212_app.command("encode")
def encode_command() -> None:
    """Read JSON objects (one per line, as ``decode`` prints them) from stdin; print their frames.

    A data segment over 1024 bytes is printed as its split packets (PNUM/PNO), one frame per line.
    """
    failed = False
    for number, line in _lines():
        try:
            obj = json.loads(line)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            _fail(number, f"not a JSON object: {exc}")
            failed = True
            continue
        try:
            frames = encode_packets(segment_from_json(obj))
        except Hj212Error as exc:
            _fail(number, exc.reason)
            failed = True
            continue
        for frame in frames:
            typer.echo(frame.decode(), nl=False)
    if failed:
        raise typer.Exit(code=1)
