"""``stationpipe hj212 decode|encode``: HJ 212 frames <-> JSON lines, on standard input and output.

Mounted by ``stationpipe.cli`` as ``app.add_typer(hj212_app, name="hj212")``. Input is read line by line (a
frame's CR LF, or a bare LF, ends a line; blank lines are skipped). Each problem is reported on standard
error as ``line N: reason`` and processing goes on; the exit status is 1 if any line failed.

``--version 2017`` (the default) or ``2025``; for 2025, ``--key HEX`` (32 hex digits, any MN) or
``--key-file F`` (``MN=HEX`` lines, see ``stationpipe.hj212.keyring``) decrypt and encrypt the data area.
Keys never appear in messages; prefer ``--key-file``, a ``--key`` on the command line is visible to ``ps``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from stationpipe.hj212 import CODECS, Codec, Codec2025, CrcError, Hj212Error, KeyRing, Version
from stationpipe.hj212.jsonform import segment_from_json, segment_to_json
from stationpipe.hj212.keyring import parse_key

hj212_app = typer.Typer(help="HJ 212 frames <-> JSON objects (one per line).", no_args_is_help=True)


class StandardVersion(StrEnum):
    """The ``--version`` choices."""

    HJ212_2017 = "2017"
    HJ212_2025 = "2025"


VersionOption = Annotated[
    StandardVersion, typer.Option("--version", help="HJ 212 edition of the frames: 2017 or 2025.")
]
KeyOption = Annotated[
    str | None,
    typer.Option("--key", help="HJ 212-2025 SM4 key for every MN, 32 hex digits.", show_default=False),
]
KeyFileOption = Annotated[
    Path | None,
    typer.Option("--key-file", help="HJ 212-2025 key file: 'MN=HEX' lines, or one HEX line for every MN."),
]


def _codec(version: StandardVersion, key: str | None, key_file: Path | None) -> Codec:
    """The codec the options ask for; a bad key is a usage error that never shows the key."""
    if version is StandardVersion.HJ212_2017:
        if key is not None or key_file is not None:
            raise typer.BadParameter("keys are for --version 2025 (HJ 212-2017 has no encryption)")
        return CODECS[Version.HJ212_2017]
    if key is not None and key_file is not None:
        raise typer.BadParameter("give --key or --key-file, not both")
    try:
        if key is not None:
            return Codec2025(KeyRing(default=parse_key(key, "--key")))
        if key_file is not None:
            return Codec2025(KeyRing.from_file(key_file))
    except OSError as exc:
        raise typer.BadParameter(f"--key-file {key_file}: {exc.strerror}") from None
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    return Codec2025()


def _lines() -> Iterator[tuple[int, bytes]]:
    """Non-blank input lines without their line ending, numbered from 1."""
    for number, line in enumerate(sys.stdin.buffer, 1):
        stripped = line.rstrip(b"\r\n")
        if stripped.strip():
            yield number, stripped


def _fail(number: int, reason: str) -> None:
    typer.echo(f"line {number}: {reason}", err=True)


@hj212_app.command("decode")
def decode_command(
    version: VersionOption = StandardVersion.HJ212_2017,
    key: KeyOption = None,
    key_file: KeyFileOption = None,
) -> None:
    """Read frames from stdin; print one JSON object per frame (protocol field names, ``crc_ok``).

    With ``--version 2025`` the object also says ``"encrypted"``: whether the data area was SM4-encrypted
    (the CP printed is the decrypted one). A wrong or missing key is an error, never garbage. A frame
    with a wrong CRC is still printed, with ``"crc_ok": false``, and counts as a failure.
    """
    codec = _codec(version, key, key_file)
    failed = False
    for number, line in _lines():
        try:
            frame = codec.decode(line + b"\r\n", verify_crc=False)
        except Hj212Error as exc:
            _fail(number, exc.reason)
            failed = True
            continue
        obj = segment_to_json(frame.segment)
        obj["crc_ok"] = frame.crc_ok
        if version is StandardVersion.HJ212_2025:
            obj["encrypted"] = frame.encrypted
        typer.echo(json.dumps(obj, ensure_ascii=False))
        if not frame.crc_ok:
            try:
                codec.decode(line + b"\r\n")  # strict decode, for its message naming both CRCs
            except CrcError as exc:
                _fail(number, exc.reason)
            failed = True
    if failed:
        raise typer.Exit(code=1)


@hj212_app.command("encode")
def encode_command(
    version: VersionOption = StandardVersion.HJ212_2017,
    key: KeyOption = None,
    key_file: KeyFileOption = None,
) -> None:
    """Read JSON objects (one per line, as ``decode`` prints them) from stdin; print their frames.

    A data segment over 1024 bytes (2025: or a CP field over 950) is printed as its split packets
    (PNUM/PNO), one frame per line. With ``--version 2025`` and a key for the MN, the data area of
    CN 2000-2999, 1014 and 3020 is SM4-encrypted.
    """
    codec = _codec(version, key, key_file)
    failed = False
    for number, line in _lines():
        try:
            obj = json.loads(line)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            _fail(number, f"not a JSON object: {exc}")
            failed = True
            continue
        try:
            frames = codec.encode_packets(segment_from_json(obj))
        except Hj212Error as exc:
            _fail(number, exc.reason)
            failed = True
            continue
        for frame in frames:
            typer.echo(frame.decode(), nl=False)
    if failed:
        raise typer.Exit(code=1)
