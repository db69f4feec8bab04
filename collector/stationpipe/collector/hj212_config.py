"""Configuration of the HJ 212 server (``kind = "hj212-server"``): where it listens, which loggers it
knows (MN, password, station, the edition of HJ 212 it speaks and its SM4 key), how their factor codes and
units map, and the broker it publishes to.

Keys (HJ 212-2025) come from a logger's ``key_env``/``key_file`` (32 hex digits) or from the server's
``keys_file`` (``MN=32 hex digits`` lines, see ``stationpipe.hj212.keyring``); they are read at start-up
and never written to a log or an error message."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from stationpipe.hj212 import KeyRing, Version
from stationpipe.hj212.keyring import parse_key
from stationpipe.hj212.readings import factor_parameter
from stationpipe.kernel.catalogue import is_known
from stationpipe.kernel.config import ConfigPath, Model, secret
from stationpipe.kernel.mqtt import MqttSettings
from stationpipe.kernel.registry import load_registry


class Logger(Model):
    """One data logger (数采仪): its MN, its password, the station it reports for."""

    mn: str = Field(min_length=1, max_length=64)
    station: str = Field(pattern=r"^[A-Za-z0-9_.\-]{1,128}$")
    password_env: str | None = None
    password_file: ConfigPath | None = None
    version: Literal["2017", "2025"] = Field(default="2017", description="the edition of HJ 212 it speaks")
    key_env: str | None = Field(
        default=None, description="HJ 212-2025: variable holding its SM4 key (32 hex)"
    )
    key_file: ConfigPath | None = Field(default=None, description="HJ 212-2025: file holding its SM4 key")
    factors: dict[str, str] = Field(
        default_factory=dict, description="HJ 212 code -> parameter code overrides"
    )
    units: dict[str, str] = Field(default_factory=dict, description="parameter -> unit the logger reports in")

    @field_validator("factors")
    @classmethod
    def _known_parameters(cls, factors: dict[str, str]) -> dict[str, str]:
        for code, param in factors.items():
            if not is_known(param):
                raise ValueError(f"{code} -> {param!r}: not a catalogue parameter code")
        return factors

    @model_validator(mode="after")
    def _secret_readable(self) -> Logger:
        secret(self.password_env, self.password_file)
        if (self.key_env or self.key_file) and self.version != "2025":
            raise ValueError(f'MN {self.mn}: an SM4 key is HJ 212-2025; set version = "2025"')
        self.key()
        return self

    @property
    def edition(self) -> Version:
        """The HJ 212 edition this logger speaks."""
        return Version.HJ212_2025 if self.version == "2025" else Version.HJ212_2017

    def key(self) -> bytes | None:
        """Its own SM4 key (``key_env``/``key_file``), or ``None``; errors never show the key."""
        text = secret(self.key_env, self.key_file)
        return None if text is None else parse_key(text.get_secret_value(), f"key of MN {self.mn}")

    def password(self) -> SecretStr | None:
        """The PW this logger must send (``None``: any)."""
        return secret(self.password_env, self.password_file)

    def parameter(self, code: str) -> str | None:
        """Our parameter code for an HJ 212 factor code, or ``None`` when it is not mapped."""
        return factor_parameter(code, self.factors)


class Hj212ServerConfig(Model):
    """A ``kind = "hj212-server"`` file."""

    kind: Literal["hj212-server"] = "hj212-server"
    host: str = "127.0.0.1"
    port: int = Field(default=8212, ge=0, le=65535)
    idle_timeout: float = Field(default=300.0, gt=0, description="seconds without a byte before we hang up")
    max_frame: int = Field(default=10_011, ge=64, le=10_011, description="bytes; larger frames are discarded")
    max_connections: int = Field(default=1000, ge=1)
    publish_timeout: float = Field(default=10.0, gt=0, description="seconds to get a PUBACK before no 9014")
    registry: ConfigPath | None = Field(default=None, description="stations whose hj212_mn is set are known")
    keys_file: ConfigPath | None = Field(
        default=None, description="HJ 212-2025 SM4 keys, one 'MN=32 hex digits' a line (a logger's own wins)"
    )
    rotated_keys: ConfigPath | None = Field(
        default=None, description="file where keys set by CN 1014 are kept across restarts (written 0600)"
    )
    key_grace: float = Field(
        default=3600.0, ge=0, description="seconds a logger's old key is still accepted after CN 1014"
    )
    mqtt: MqttSettings
    loggers: tuple[Logger, ...] = Field(default=(), description="per-MN password, factor and unit settings")

    @field_validator("loggers")
    @classmethod
    def _unique_mn(cls, loggers: tuple[Logger, ...]) -> tuple[Logger, ...]:
        mns = [lg.mn for lg in loggers]
        if len(mns) != len(set(mns)):
            raise ValueError("each MN may appear once")
        return loggers

    @model_validator(mode="after")
    def _someone_to_serve(self) -> Hj212ServerConfig:
        if not self.loggers and self.registry is None:
            raise ValueError("give a registry (stations with hj212_mn) or [[loggers]]")
        self.key_ring()
        return self

    def key_ring(self) -> KeyRing:
        """The keys of ``keys_file`` (empty without one); ``ValueError`` naming the line, never the key."""
        if self.keys_file is None:
            return KeyRing()
        try:
            return KeyRing.from_file(self.keys_file)
        except OSError as exc:
            raise ValueError(f"cannot read keys_file {self.keys_file}: {exc.strerror}") from None

    def by_mn(self) -> dict[str, Logger]:
        """Every known logger by MN: the registry's stations with an MN, refined by ``[[loggers]]``."""
        known: dict[str, Logger] = {}
        if self.registry is not None:
            for st in load_registry(self.registry).stations:
                if st.hj212_mn:
                    known[st.hj212_mn] = Logger(mn=st.hj212_mn, station=st.id)
        known.update({lg.mn: lg for lg in self.loggers})
        return known
