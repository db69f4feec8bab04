"""4G DTUs that dial in: the edge's ``[dtu]`` listener settings, and how a registration packet names a DTU
and a heartbeat is told apart from a reply (pure; the connections are :mod:`stationpipe.edge.drivers.dtu`).

A DTU (data transfer unit: a 4G modem with an RS-485 port, e.g. USR-G780, H7710) opens a TCP connection
to a central server, sends its *registration packet* first, then tunnels the serial bus transparently and
sends a *heartbeat packet* every so often while idle. The server polls the instruments on the bus through
that connection. Here the edge is the server::

    [dtu]
    port = 9000
    registration = {format = "regex", pattern = '^IMEI:(?P<id>\\d{15})'}
    heartbeat = {text = "www.usr.cn"}

and a device names its DTU: ``link = {type = "dtu", id = "865..."}``.

Registration: the first bytes a DTU sends. ``format = "text"`` (the default): the packet is the DTU's id as
text (surrounding blanks and CR/LF ignored); ``"hex"``: the packet's bytes are the id written in hex digits
(binary registration packets); ``"regex"``: a regular expression searched in what arrived, whose group
``id`` (else its first group, else the whole match) is the id.

Heartbeat: recognised where a DTU sends it, as a packet of its own: the whole of what one read returned, or
its start or its end (a heartbeat coalesced with a reply's first or last bytes), repeatedly. Bytes of a
reply are never searched for it: a heartbeat that arrived glued inside a reply leaves that reply invalid
(Modbus CRC, Bavarian-Hessen BCC), never altered. A literal heartbeat is at least two bytes.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from functools import cached_property
from typing import Literal

from pydantic import Field, field_validator, model_validator

from stationpipe.kernel.config import Model

MAX_REGISTRATION = 1024  # bytes: past this without a registration, the connection is refused


def _hex_bytes(value: str) -> bytes:
    try:
        return bytes.fromhex(value)
    except ValueError:
        raise ValueError(f"{value!r} is not hex bytes (pairs of hex digits, blanks allowed)") from None


class Packet(Model):
    """A packet given as ``text`` (ASCII/UTF-8), ``hex`` bytes or, to recognise one, a ``regex``."""

    text: str | None = Field(default=None, min_length=1)
    hex: str | None = None
    regex: str | None = Field(default=None, min_length=1)

    @field_validator("hex")
    @classmethod
    def _is_hex(cls, value: str | None) -> str | None:
        if value is not None and not _hex_bytes(value):
            raise ValueError("give at least one byte")
        return value

    @field_validator("regex")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value.encode())
            except re.error as exc:
                raise ValueError(f"not a regular expression: {exc}") from None
        return value

    @model_validator(mode="after")
    def _exactly_one(self) -> Packet:
        given = [k for k in ("text", "hex", "regex") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of text, hex, regex")
        literal = self.literal
        if literal is not None and len(literal) < 2:
            raise ValueError("a heartbeat of one byte cannot be told from a reply's bytes: give two or more")
        return self

    @property
    def literal(self) -> bytes | None:
        """The packet's bytes when it is ``text`` or ``hex`` (``None`` for a regex)."""
        if self.text is not None:
            return self.text.encode()
        if self.hex is not None:
            return _hex_bytes(self.hex)
        return None

    @cached_property
    def _at_start(self) -> re.Pattern[bytes]:
        literal = self.literal
        return re.compile(re.escape(literal) if literal is not None else (self.regex or "").encode())

    @cached_property
    def _at_end(self) -> re.Pattern[bytes]:
        return re.compile(b"(?:" + self._at_start.pattern + b")\\Z")

    def strip(self, chunk: bytes) -> tuple[bytes, int]:
        """``chunk`` without the heartbeats at its start and end, and how many there were."""
        count = 0
        while chunk and (m := self._at_start.match(chunk)) is not None and m.end() > 0:
            chunk, count = chunk[m.end() :], count + 1
        while chunk and (m := self._at_end.search(chunk)) is not None and m.start() < len(chunk):
            chunk, count = chunk[: m.start()], count + 1
        return chunk, count


class Reply(Packet):
    """What the edge sends back for each heartbeat: ``text`` or ``hex`` (never a regex)."""

    @model_validator(mode="after")
    def _literal(self) -> Reply:
        if self.regex is not None:
            raise ValueError("a heartbeat reply is text or hex, not a regex")
        return self


@dataclass(frozen=True, slots=True)
class Identified:
    """The registration named DTU ``id`` (one of the configured ones); ``rest`` arrived after it."""

    id: str
    rest: bytes = b""


@dataclass(frozen=True, slots=True)
class Refused:
    """The registration named no configured DTU: ``what`` it said (the id it named, or why none)."""

    what: str


#: Not enough bytes yet to tell: wait (within the registration timeout).
WAIT = None


class Registration(Model):
    """How a registration packet names its DTU (see the module's docstring)."""

    format: Literal["text", "hex", "regex"] = "text"
    pattern: str | None = Field(default=None, description="regex: what to search; group 'id' is the id")

    @model_validator(mode="after")
    def _pattern_is_regex(self) -> Registration:
        if (self.pattern is not None) != (self.format == "regex"):
            raise ValueError('give pattern with format = "regex" (and only then)')
        if self.pattern is not None:
            try:
                re.compile(self.pattern.encode())
            except re.error as exc:
                raise ValueError(f"pattern is not a regular expression: {exc}") from None
        return self

    def normal(self, dtu_id: str) -> str:
        """A configured id as registrations are compared with it (hex: upper case, no blanks)."""
        return _hex_bytes(dtu_id).hex().upper() if self.format == "hex" else dtu_id

    def identify(self, data: bytes, known: Collection[str]) -> Identified | Refused | None:
        """What ``data`` (every byte since the connection opened) says: a configured DTU, a refusal, or
        :data:`WAIT` for more bytes. ``known`` holds the configured ids, normalised (:meth:`normal`)."""
        if self.format == "regex":
            return self._by_regex(data, known)
        said = data.hex().upper() if self.format == "hex" else data.decode("latin-1").strip()
        if said in known:
            return Identified(said)
        if any(k.startswith(said) for k in known) and len(data) < MAX_REGISTRATION:
            return WAIT
        return Refused(said[:64] or "an empty registration")

    def _by_regex(self, data: bytes, known: Collection[str]) -> Identified | Refused | None:
        assert self.pattern is not None  # the validator guarantees it for format = "regex"
        found = re.search(self.pattern.encode(), data)
        if found is None:
            return WAIT if len(data) < MAX_REGISTRATION else Refused("no registration")
        if "id" in found.re.groupindex:
            raw = found.group("id")
        else:
            raw = found.group(1) if found.re.groups else found.group(0)
        said = (raw or b"").decode("latin-1")
        return Identified(said, data[found.end() :]) if said in known else Refused(said[:64])


class DtuListener(Model):
    """The edge's listener for DTUs that dial in (``[dtu]``); each device on a DTU names it by ``id``."""

    host: str = Field(default="0.0.0.0", description="address to listen on")  # noqa: S104 - DTUs dial in
    port: int = Field(ge=1, le=65535)
    registration: Registration = Registration()
    register_timeout: float = Field(default=10.0, gt=0, description="seconds for the registration packet")
    heartbeat: Packet | None = Field(default=None, description="what a DTU's heartbeat looks like")
    heartbeat_reply: Reply | None = Field(default=None, description="sent back for each heartbeat")
    idle_timeout: float | None = Field(
        default=300.0, gt=0, description="close a connection silent this long (no heartbeat, nothing)"
    )
    test_wait: float = Field(
        default=20.0, gt=0, description="seconds 'edge --test' waits for the DTUs to dial in"
    )

    @model_validator(mode="after")
    def _reply_needs_heartbeat(self) -> DtuListener:
        if self.heartbeat_reply is not None and self.heartbeat is None:
            raise ValueError("heartbeat_reply needs heartbeat (what to answer)")
        return self
