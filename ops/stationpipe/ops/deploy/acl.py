"""``stationpipe deploy acl``: write Mosquitto's password and ACL files from the station registry.

Passwords live in ``<out>/secrets/<user>.secret`` (mode 0600; kept when they exist, so re-running after
adding a station changes nobody else's password). Edge agents read theirs through ``password_file``.
Hashing uses ``mosquitto_passwd -U`` when installed, otherwise the same PBKDF2-SHA512 in Python.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from stationpipe.kernel.errors import ConfigError, FatalError
from stationpipe.kernel.registry import load_registry
from stationpipe.ops.deploy.mosquitto_auth import (
    SERVICE_ACLS,
    acl_text,
    hash_password,
    new_password,
    passwd_text,
)

err = Console(stderr=True, highlight=False, soft_wrap=True)
deploy_app = typer.Typer(help="Deployment files: Mosquitto users and ACLs.", no_args_is_help=True)


class Hasher(StrEnum):
    """How the password file is hashed."""

    AUTO = "auto"
    MOSQUITTO_PASSWD = "mosquitto_passwd"  # noqa: S105 - a program's name, not a password
    PYTHON = "python"


class AclError(FatalError):
    """The files could not be written (the message names the file)."""


@deploy_app.callback()
def _group() -> None:
    """Deployment files: Mosquitto users and ACLs."""


def _private_write(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` readable by its owner only (created 0600, never world-readable)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    path.chmod(0o600)


def passwords(users: list[str], secrets_dir: Path) -> dict[str, str]:
    """Each user's password: read from its secret file, or made and saved there."""
    secrets_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    out = {}
    for user in users:
        path = secrets_dir / f"{user}.secret"
        if path.exists():
            out[user] = path.read_text(encoding="utf-8").strip()
        else:
            out[user] = new_password()
            _private_write(path, out[user] + "\n")
    return out


def write_passwd(path: Path, creds: dict[str, str], hasher: Hasher) -> Hasher:
    """Write the hashed password file; returns the hasher actually used."""
    binary = shutil.which("mosquitto_passwd")
    if hasher is Hasher.MOSQUITTO_PASSWD and binary is None:
        raise AclError(
            "mosquitto_passwd not found: install the Debian package 'mosquitto' or use --hasher python"
        )
    if hasher is Hasher.PYTHON or binary is None:
        _private_write(path, passwd_text({u: hash_password(p) for u, p in creds.items()}))
        return Hasher.PYTHON
    _private_write(path, "".join(f"{u}:{p}\n" for u, p in creds.items()))  # hashed in place just below
    try:
        subprocess.run([binary, "-U", str(path)], check=True, capture_output=True, timeout=60)  # noqa: S603
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        path.unlink(missing_ok=True)  # never leave clear-text passwords behind
        raise AclError(f"mosquitto_passwd -U {path} failed: {exc}") from exc
    return Hasher.MOSQUITTO_PASSWD


def generate(registry: Path, out: Path, services: list[str], hasher: Hasher = Hasher.AUTO) -> Hasher:
    """Write ``out/passwd``, ``out/acl`` and ``out/secrets/*.secret`` for every station and service."""
    stations = [s.id for s in load_registry(registry).stations]
    unknown = set(services) - set(SERVICE_ACLS)
    if unknown:
        raise AclError(f"unknown service user(s) {sorted(unknown)}; known: {sorted(SERVICE_ACLS)}")
    clash = set(services) & set(stations)
    if clash:
        raise AclError(f"station ids {sorted(clash)} collide with service user names")
    reserved = sorted(s for s in stations if s.startswith("_"))
    if reserved:
        raise AclError(f"station ids {reserved} start with '_', which marks pipeline components' topics")
    out.mkdir(parents=True, exist_ok=True)
    creds = passwords([*services, *stations], out / "secrets")
    used = write_passwd(out / "passwd", creds, hasher)
    (out / "acl").write_text(acl_text(stations, services), encoding="utf-8")
    return used


@deploy_app.command("acl")
def acl_command(
    registry: Annotated[Path, typer.Option("--registry", "-r", help='kind = "registry" TOML file')],
    out: Annotated[Path, typer.Option(help="folder for passwd, acl and secrets/")] = Path(
        "deploy/mosquitto/auth"
    ),
    service: Annotated[list[str] | None, typer.Option(help="service users (repeat)")] = None,
    hasher: Annotated[Hasher, typer.Option(help="how to hash the password file")] = Hasher.AUTO,
) -> None:
    """Write Mosquitto's password file and per-station ACLs from the registry."""
    services = service or list(SERVICE_ACLS)
    try:
        used = generate(registry, out, services, hasher)
    except (ConfigError, AclError, OSError) as exc:
        err.print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(2) from None
    err.print(f"[green]wrote[/] {out}/passwd ({used.value}), {out}/acl and {out}/secrets/ (0600)")
