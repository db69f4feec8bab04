"""An analyser that speaks HJ 212 to the station's data logger (the edge): the ``hj212`` table of a
``protocol = "hj212"`` device, and what one of its frames says in our vocabulary.

The analyser sends CN 2011 real-time data frames by itself (``mode = "push"``), or when the logger
asks for them with a CN 2011 request (``mode = "request"``); an HJ 212-2025 analyser also uploads its
automatic standard-sample checks (CN 2062), read as QC records. The device names the analyser's MN
(none: any), the edition it speaks (2017 or 2025, with the SM4 key when it encrypts), the factor codes
it expects (none: whatever comes) and how they map to catalogue parameters and units. Flags and factor
codes follow ``stationpipe.hj212.readings``, the rules the collector's HJ 212 server applies (docs/domain.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from stationpipe.hj212 import CODECS, Codec, Codec2025, CpArea, Deviations, FactorValue, KeyRing, Version
from stationpipe.hj212.keyring import parse_key
from stationpipe.hj212.qc import check_records
from stationpipe.hj212.readings import data_flag, factor_parameter
from stationpipe.kernel.catalogue import is_known
from stationpipe.kernel.catalogue import parameter as catalogue_row
from stationpipe.kernel.config import ConfigPath, Model, secret
from stationpipe.kernel.qc import QcRecord
from stationpipe.kernel.reading import Flag, Reading
from stationpipe.kernel.units import check_unit, to_canonical


class Hj212Analyser(Model):
    """The ``hj212`` table of a device: which analyser, which edition, which factor codes."""

    mn: str | None = Field(
        default=None, min_length=1, max_length=64, description="the analyser's MN; none: any MN on the link"
    )
    version: Literal["2017", "2025"] = Field(default="2017", description="the edition of HJ 212 it speaks")
    key_env: str | None = Field(
        default=None, description="HJ 212-2025: variable holding its SM4 key (32 hex)"
    )
    key_file: ConfigPath | None = Field(
        default=None, description="HJ 212-2025: file holding its SM4 key (32 hex, or 'MN=HEX' lines)"
    )
    mode: Literal["push", "request"] = Field(
        default="push", description="push: it sends 2011 by itself; request: the edge asks with CN 2011"
    )
    st: str = Field(default="21", pattern=r"^[0-9]{2}$", description="ST of the requests (mode = request)")
    password_env: str | None = Field(default=None, description="PW of the requests, from this variable")
    password_file: ConfigPath | None = Field(default=None, description="PW of the requests, from this file")
    expect: tuple[str, ...] = Field(
        default=(), description="factor codes it reports (B when missing); none: whatever comes"
    )
    factors: dict[str, str] = Field(
        default_factory=dict, description="HJ 212 factor code -> parameter code, over the catalogue's"
    )
    units: dict[str, str] = Field(default_factory=dict, description="parameter -> unit the analyser sends")
    max_age: float | None = Field(
        default=None, gt=0, description="push: seconds a value stays fresh (default: twice the interval)"
    )

    @field_validator("factors")
    @classmethod
    def _known_parameters(cls, factors: dict[str, str]) -> dict[str, str]:
        for code, param in factors.items():
            if not is_known(param):
                raise ValueError(f"{code} -> {param!r}: not a catalogue parameter code")
        return factors

    @model_validator(mode="after")
    def _consistent(self) -> Hj212Analyser:
        if (self.key_env or self.key_file) and self.version != "2025":
            raise ValueError('an SM4 key is HJ 212-2025: set version = "2025"')
        if self.key_env and self.key_file:
            raise ValueError("give key_env or key_file, not both")
        for code in self.expect:
            if self.parameter(code) is None:
                raise ValueError(f"factor code {code!r} is neither in the catalogue nor in factors")
        for param, unit in self.units.items():
            if not is_known(param):
                raise ValueError(f"units: {param!r} is not a catalogue parameter code")
            check_unit(param, unit)
        self.key()
        secret(self.password_env, self.password_file)
        return self

    def parameter(self, code: str) -> str | None:
        """Our parameter code for a factor code, or ``None`` when it is not mapped."""
        return factor_parameter(code, self.factors)

    def key(self) -> bytes | None:
        """Its SM4 key, read now, or ``None``; ``ValueError`` says where it looked, never the key."""
        if self.key_env is not None:
            text = secret(self.key_env, None)
            assert text is not None  # secret() returns a value or raises when a name is given
            return parse_key(text.get_secret_value(), f"environment variable {self.key_env}")
        if self.key_file is not None:
            return _key_from_file(self.key_file, self.mn)
        return None

    def password(self) -> str | None:
        """The PW of the requests (``None``: no PW field)."""
        pw = secret(self.password_env, self.password_file)
        return pw.get_secret_value() if pw else None

    def codec(self, deviations: Deviations) -> Codec:
        """The codec of its edition: HJ 212-2025 with its key (for its MN, or any MN), else 2017."""
        if self.version == "2017":
            return CODECS[Version.HJ212_2017]
        key = self.key()
        if key is None:
            return Codec2025(deviations=deviations)
        ring = KeyRing({self.mn: key}) if self.mn is not None else KeyRing(default=key)
        return Codec2025(ring, deviations=deviations)


def _key_from_file(path: Path, mn: str | None) -> bytes:
    try:
        ring = KeyRing.from_file(path)
    except OSError as exc:
        raise ValueError(f"cannot read key file {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ValueError(f"key file {path} is not UTF-8 text") from None
    key = ring.key_for(mn)
    if key is None:
        raise ValueError(f"key file {path} has no key for MN {mn} (nor a key for every MN)")
    return key


@dataclass(frozen=True, slots=True)
class Latest:
    """The last value of one factor code, and when it came (monotonic seconds)."""

    factor: FactorValue
    at: float


def reading(
    station: str, analyser: Hj212Analyser, code: str, latest: Latest | None, ts: datetime, *, fresh: bool
) -> Reading:
    """The reading of factor ``code`` at ``ts``: its latest value in the catalogue's unit, with the
    analyser's flag (a value-less N is D); B when nothing fresh came."""
    param = analyser.parameter(code)
    assert param is not None  # only mapped codes are read
    unit = catalogue_row(param).unit
    if latest is None or not fresh:
        return Reading(station, param, None, unit, ts, Flag.B)
    flag = data_flag(latest.factor)
    value = latest.factor.rtd
    if value is None:
        return Reading(station, param, None, unit, ts, Flag.D if flag is Flag.N else flag)
    value = to_canonical(param, value, analyser.units.get(param, unit))
    return Reading(station, param, value, unit, ts, flag)


def standard_check_records(
    station: str, device: str, analyser: Hj212Analyser, cp: CpArea
) -> tuple[list[QcRecord], list[str]]:
    """The standard-sample checks of a CN 2062 upload (HJ 212-2025) as QC records, by the rule the
    collector's server applies too (:func:`stationpipe.hj212.qc.check_records`), with this analyser's
    factor codes and units."""

    def unit_of(param: str) -> str:
        return analyser.units.get(param, catalogue_row(param).unit)

    return check_records(station, device, cp, analyser.parameter, unit_of)
