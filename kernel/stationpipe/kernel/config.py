"""TOML configuration loaded once at start-up into frozen, typed models.

Every problem stops start-up with a ``ConfigError`` that names the file, the key path
(``devices[2].points[5].type``) and the reason. Relative paths inside a file are resolved against the
directory of that file, so a config can be moved together with its profiles.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, SecretStr, ValidationError, ValidationInfo

from stationpipe.kernel.errors import ConfigError


class Model(BaseModel):
    """Base of every configuration model: unknown keys are errors, instances are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


_M = TypeVar("_M", bound=BaseModel)


def _resolve(value: Path, info: ValidationInfo) -> Path:
    base = (info.context or {}).get("base_dir")
    if value.is_absolute() or base is None:
        return value
    return Path(base) / value


#: A path in a config file; relative ones are taken from the config file's directory.
ConfigPath = Annotated[Path, AfterValidator(_resolve)]


def _secret_from_env(name: str) -> str:
    try:
        return os.environ[name]
    except KeyError:
        raise ValueError(f"environment variable {name} is not set") from None


def secret(env: str | None, file: Path | None) -> SecretStr | None:
    """Read a secret from an environment variable or a file (first line); ``None`` when neither is given."""
    if env is not None:
        return SecretStr(_secret_from_env(env))
    if file is not None:
        try:
            return SecretStr(file.read_text(encoding="utf-8").splitlines()[0].strip())
        except (OSError, IndexError) as exc:
            raise ValueError(f"cannot read secret file {file}: {exc}") from None
    return None


def format_loc(loc: tuple[int | str, ...]) -> str:
    """``('devices', 2, 'points', 5, 'type')`` -> ``devices[2].points[5].type``.

    Union tags written as ``key=value`` (see stationpipe.edge.connection.Link) are not keys and are left out.
    """
    out = ""
    for part in loc:
        if isinstance(part, str) and "=" in part:
            continue
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _reason(err: Any) -> str:
    if err["type"] == "extra_forbidden":
        return "unknown key (check the spelling; see deploy/config/*.example.toml)"
    if err["type"] == "missing":
        return "required key is missing"
    reason = str(err["msg"]).removeprefix("Value error, ")
    if "input" in err and not isinstance(err["input"], dict | list):
        reason += f" (got {err['input']!r})"
    return reason


def _root_causes(errors: list[Any]) -> list[Any]:
    """Drop "too short" errors of a list whose items failed: the item's own error says it all."""
    locs = [tuple(e["loc"]) for e in errors]
    return [
        e
        for e in errors
        if not (
            e["type"] == "too_short"
            and any(loc[: len(e["loc"])] == tuple(e["loc"]) and loc != tuple(e["loc"]) for loc in locs)
        )
    ]


def read_toml(path: Path) -> dict[str, Any]:
    """Parse a TOML file; syntax errors become ``ConfigError`` with the line and column."""
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(str(path), "", "file not found") from None
    except OSError as exc:
        raise ConfigError(str(path), "", f"cannot read: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), "", f"not valid TOML: {exc}") from None
    except UnicodeDecodeError as exc:  # tomllib reads bytes and decodes them itself
        raise ConfigError(str(path), "", f"not UTF-8 text: {exc.reason} at byte {exc.start}") from None
    except ValueError as exc:  # a path no file can have, e.g. with an embedded NUL byte
        raise ConfigError(str(path), "", f"cannot read: {exc}") from None


def validate(path: Path, data: dict[str, Any], model: type[_M]) -> _M:
    """Validate parsed TOML against ``model``; all problems are listed, the first one names the key."""
    try:
        return model.model_validate(data, context={"base_dir": path.parent})
    except ValidationError as exc:
        errors = _root_causes(exc.errors(include_url=False))
        first = errors[0]
        reason = _reason(first)
        for extra in errors[1:]:
            reason += f"\n  {path}: {format_loc(extra['loc'])}: {_reason(extra)}"
        raise ConfigError(str(path), format_loc(first["loc"]), reason) from None
    except OverflowError as exc:  # a validator's arithmetic (a timedelta of 1e19 s) is not a ValueError
        raise ConfigError(str(path), "", f"a number is too large: {exc}") from None


def load(path: Path | str, model: type[_M]) -> _M:
    """Read and validate one configuration file into ``model``."""
    path = Path(path)
    return validate(path, read_toml(path), model)
