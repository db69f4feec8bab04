"""Record templates of instruments that print their own ASCII records (the edge's ``ascii_template``
protocol, and the simulator that stands in for such instruments).

A template is data (a ``kind = "ascii_template"`` TOML file): an optional ``request`` (poll mode; without
one the instrument pushes records by itself), the record ``terminator``, a regular expression whose
named groups hold the values (fixed-width fields are groups of fixed width, ``(?P<pm>.{6})``; delimited
fields are groups between delimiters), the ``fields`` that map groups to catalogue parameters (unit,
scale, offset, sentinels, range), an optional ``checksum`` (XOR, sum or a CRC, as hex, over a byte range
of the record, :mod:`stationpipe.kernel.checksums`), an optional ``status`` group whose text maps to
flags, an optional ``error`` pattern for refusals, and ``record``: how the simulator prints one.

Records are read as Latin-1 (one character per byte), so offsets count bytes and line noise never fails
decoding. Shipped templates live in ``stationpipe/kernel/ascii_templates/`` (package data); a device
names one by name, by path, or inlines one (:func:`resolve`).
"""

from __future__ import annotations

import math
import re
import string
from dataclasses import dataclass
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from stationpipe.kernel.checksums import KINDS, hex_checksum
from stationpipe.kernel.config import Model, load, validate
from stationpipe.kernel.errors import DeviceChecksumError, DeviceError, DeviceExceptionError
from stationpipe.kernel.reading import Flag
from stationpipe.kernel.registermap import Point

ENCODING = "latin-1"
_SLOT = "\x00checksum\x00"  # where the checksum goes while a record or request is rendered
_NAME = re.compile(r"^[a-z0-9][a-z0-9_.\-]{0,63}$")


class TemplateField(Model):
    """One value of the record: the regex group holding its text, and the parameter it is.

    ``value = float(text) * scale + offset`` in ``unit``; text in ``absent`` (empty, ``NA``), a number that
    is not finite, a raw value in ``missing``, or a matched ``invalid`` group make it "no value" (flag D);
    outside ``range`` it is T. Any other text that is not a number makes the record malformed.
    """

    group: str
    parameter: str
    unit: str
    scale: float = 1.0
    offset: float = 0.0
    missing: tuple[float, ...] = Field(default=(), description="raw values that mean 'no value'")
    range: tuple[float, float] | None = Field(default=None, description="measuring range, in unit")
    invalid: str | None = Field(default=None, description="a group whose presence marks the value invalid")
    absent: tuple[str, ...] = Field(default=("", "NA", "N/A"), description="texts that mean 'no value'")

    @cached_property
    def point(self) -> Point:
        """The field as a profile point (validated against the catalogue)."""
        return Point(
            parameter=self.parameter,
            address=0,
            unit=self.unit,
            scale=self.scale,
            offset=self.offset,
            sentinels=self.missing,
            range=self.range,
        )


class Checksum(Model):
    """The record's checksum: ``kind`` over the bytes from ``start`` (counted from the record's first byte)
    up to ``gap`` bytes before the checksum group, compared as hex (either case)."""

    kind: str
    group: str = "checksum"
    start: int = Field(default=0, ge=0, description="first byte covered")
    gap: int = Field(default=0, ge=0, description="bytes between the covered range and the checksum")

    @field_validator("kind")
    @classmethod
    def _known(cls, kind: str) -> str:
        if kind not in KINDS:
            raise ValueError(f"unknown checksum {kind!r}: xor, sum8, sum16, or a CRC such as crc16modbus")
        return kind

    def over(self, record: str, checksum_at: int) -> str:
        """The checksum of ``record`` (Latin-1 text) whose checksum field starts at ``checksum_at``."""
        return hex_checksum(self.kind, record[self.start : checksum_at - self.gap].encode(ENCODING))


class Status(Model):
    """The instrument's status field: its text -> flag (``N`` for good); other text is ``other``."""

    group: str = "status"
    flags: dict[str, Flag] = Field(min_length=1)
    other: Flag = Flag.D

    def flag(self, text: str) -> Flag:
        """The flag of a status text."""
        return self.flags.get(text.strip(), self.flags.get(text, self.other))

    def text(self, flag: Flag) -> str:
        """The text an instrument prints for ``flag`` (simulator): the first that maps to it; a flag the
        map lacks prints as the first that maps to ``other``-like trouble (D), else as good."""
        for wanted in (flag, Flag.D, Flag.N):
            found = next((text for text, f in self.flags.items() if f is wanted), None)
            if found is not None:
                return found
        return next(iter(self.flags))


class Template(Model):
    """The record format of one instrument model (see the module docstring)."""

    kind: Literal["ascii_template"] = "ascii_template"
    name: str
    description: str = ""
    source: str = Field(min_length=1, description="where the format is documented (manual, page, URL)")
    request: str | None = Field(default=None, description="poll mode: sent each time; {unit}, {checksum}")
    terminator: str = Field(default="\r\n", min_length=1)
    pattern: str = Field(description="regular expression of one record (without terminator), named groups")
    fields: tuple[TemplateField, ...] = Field(min_length=1)
    address: str | None = Field(default=None, description="group that must equal the device's unit")
    checksum: Checksum | None = None
    status: Status | None = None
    error: str | None = Field(default=None, description="pattern of a refusal; group 'code' is its number")
    record: str = Field(description="how the simulator prints a record: str.format of groups, status, unit")
    error_record: str | None = Field(default=None, description="how the simulator prints a refusal ({code})")
    no_value: str = Field(default="", description="what the simulator prints for a value it does not have")
    examples: tuple[str, ...] = Field(default=(), description="records from the source; each must parse")

    @field_validator("pattern", "error")
    @classmethod
    def _compiles(cls, pattern: str | None) -> str | None:
        if pattern is not None:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"not a regular expression: {exc}") from None
        return pattern

    @model_validator(mode="after")
    def _groups_exist(self) -> Template:
        groups = set(self.regex.groupindex)
        wanted = [f.group for f in self.fields] + [f.invalid for f in self.fields if f.invalid]
        wanted += [g.group for g in (self.checksum, self.status) if g is not None]
        wanted += [self.address] if self.address else []
        if missing := sorted(set(wanted) - groups):
            raise ValueError(f"pattern has no group {', '.join(missing)}")
        for field in self.fields:
            field.point  # noqa: B018 - validates parameter and unit against the catalogue now
        placeholders = {name for _, name, _, _ in string.Formatter().parse(self.record) if name}
        known = {f.group for f in self.fields} | {"unit", "status", "checksum"}
        if unknown := sorted(placeholders - known):
            raise ValueError(f"record names unknown fields: {', '.join(unknown)}")
        for example in self.examples:
            try:
                parse(self, example.encode(ENCODING), None)
            except DeviceError as exc:
                raise ValueError(f"example {example!r} does not parse: {exc}") from None
        return self

    @cached_property
    def regex(self) -> re.Pattern[str]:
        """The compiled record pattern."""
        return re.compile(self.pattern)

    @cached_property
    def error_regex(self) -> re.Pattern[str] | None:
        """The compiled refusal pattern."""
        return re.compile(self.error) if self.error else None

    @property
    def pushed(self) -> bool:
        """The instrument prints records by itself (no request)."""
        return self.request is None

    def request_bytes(self, unit: int) -> bytes:
        """The request for the instrument at ``unit`` (a ``{checksum}`` slot gets the template's rule)."""
        assert self.request is not None  # only polled templates are asked
        return self._with_checksum(self.request.format(unit=unit, checksum=_SLOT)).encode(ENCODING)

    def _with_checksum(self, text: str) -> str:
        at = text.find(_SLOT)
        if at < 0:
            return text
        if self.checksum is None:
            raise ValueError(f"template {self.name}: {{checksum}} without a checksum rule")
        return text.replace(_SLOT, self.checksum.over(text, at))

    def render(self, unit: int, raw: dict[str, float], status: str = "") -> bytes:
        """One record as the instrument prints it (simulator): ``raw`` values by group, in field units."""
        text = _Printer(self.no_value).format(self.record, unit=unit, status=status, checksum=_SLOT, **raw)
        return (self._with_checksum(text) + self.terminator).encode(ENCODING)

    def render_error(self, unit: int, code: int) -> bytes:
        """A refusal as the instrument prints it (simulator); empty when the template has none."""
        if self.error_record is None:
            return b""
        text = self.error_record.format(unit=unit, code=code, checksum=_SLOT)
        return (self._with_checksum(text) + self.terminator).encode(ENCODING)


class _Printer(string.Formatter):
    """``str.format`` that prints a NaN value as the template's ``no_value``."""

    def __init__(self, no_value: str) -> None:
        self.no_value = no_value

    def format_field(self, value: Any, format_spec: str) -> Any:
        if isinstance(value, float) and math.isnan(value):
            return self.no_value
        return super().format_field(value, format_spec)


@dataclass(frozen=True, slots=True)
class Record:
    """One parsed record: each field's raw value (NaN: no value) by group, and the status flag."""

    raw: dict[str, float]
    flag: Flag


def _number(template: Template, field: TemplateField, text: str | None) -> float:
    if text is None or text.strip() in field.absent:
        return math.nan
    try:
        value = float(text.strip())
    except ValueError:
        raise DeviceError(f"{template.name}: {field.group}: {text[:20]!r} is not a number") from None
    return value if math.isfinite(value) else math.nan


def records(template: Template, data: bytes) -> list[str]:
    """The complete records in ``data`` (terminators removed), as Latin-1 text."""
    chunks = data.decode(ENCODING).split(template.terminator)
    return [chunk for chunk in chunks[:-1] if chunk.strip()]


def has_record(template: Template, data: bytes) -> bool:
    """Whether ``data`` holds a whole record (or a refusal) of the template."""
    return any(
        template.regex.search(text) or (template.error_regex and template.error_regex.search(text))
        for text in records(template, data)
    )


def _refusal(template: Template, text: str) -> None:
    found = template.error_regex.search(text) if template.error_regex else None
    if found is None:
        return
    code = found.groupdict().get("code")
    if code is not None and code.isdigit():
        message = f"{template.name}: the instrument refused: exception {code}"
        raise DeviceExceptionError(message, code=int(code))
    raise DeviceError(f"{template.name}: the instrument refused: {text.strip()!r}")


def parse(template: Template, data: bytes, unit: int | None) -> Record:
    """The last record in ``data`` (a terminated record or a bare one); ``DeviceChecksumError`` for a bad
    checksum, ``DeviceExceptionError``/``DeviceError`` for a refusal, another address or no record."""
    texts = records(template, data) or [data.decode(ENCODING)]
    for text in reversed(texts):
        found = template.regex.search(text)
        if found is not None:
            return _read(template, found, unit)
    for text in reversed(texts):
        _refusal(template, text)
    raise DeviceError(f"{template.name}: not a record: {texts[-1].strip()[:80]!r}")


def _read(template: Template, found: re.Match[str], unit: int | None) -> Record:
    groups = found.groupdict()
    if template.checksum is not None:
        rule = template.checksum
        given = groups.get(rule.group) or ""
        at = found.start(rule.group) - found.start()
        if given.upper() != rule.over(found.group(0), at).upper():
            raise DeviceChecksumError(f"{template.name}: checksum mismatch in {found.group(0)[:80]!r}")
    if template.address and unit is not None:
        said = (groups.get(template.address) or "").strip()
        if not said.isdigit() or int(said) != unit:
            raise DeviceError(f"{template.name}: answer from another address: {said!r} (asked {unit})")
    raw = {}
    for field in template.fields:
        invalid = field.invalid is not None and groups.get(field.invalid) is not None
        raw[field.group] = math.nan if invalid else _number(template, field, groups.get(field.group))
    flag = template.status.flag(groups.get(template.status.group) or "") if template.status else Flag.N
    return Record(raw, flag)


def _shipped() -> Any:
    return resources.files("stationpipe.kernel") / "ascii_templates"


def shipped() -> dict[str, str]:
    """The shipped templates: name -> description (first line of the source)."""
    out = {}
    for entry in sorted(_shipped().iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".toml"):
            with resources.as_file(entry) as path:
                template = load(path, Template)
            out[template.name] = template.description
    return out


def _load_shipped(name: str) -> Template:
    entry = _shipped() / f"{name}.toml"
    if not entry.is_file():
        known = ", ".join(shipped())
        raise ValueError(f"no shipped ascii template {name!r} (shipped: {known}); or give a path")
    with resources.as_file(entry) as path:
        return load(path, Template)


def resolve(value: object, base_dir: Path | None) -> Template:
    """A device's ``template``: a shipped name, a path (relative to ``base_dir``), or an inline table."""
    if isinstance(value, Template):
        return value
    if isinstance(value, dict):
        return validate((base_dir or Path()) / "(inline template)", dict(value), Template)
    if not isinstance(value, str):
        raise ValueError("template is a shipped name, a path, or a table")  # noqa: TRY004 - for pydantic
    if _NAME.match(value) and not value.endswith(".toml"):
        return _load_shipped(value)
    path = Path(value)
    return load(path if path.is_absolute() or base_dir is None else base_dir / path, Template)
