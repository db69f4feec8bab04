"""The users file: per-operator accounts with scrypt-hashed passwords, hashed API tokens and a role.

A JSON file, written only by ``stationpipe rules user …`` (atomically, mode 0600)::

    {"v": 1, "users": [{"name": "li", "role": "operator",
                        "password": "scrypt$16384$8$1$<salt b64>$<hash b64>",
                        "tokens": ["<sha256 hex of a token>", …]}]}

- passwords: ``hashlib.scrypt`` (RFC 7914; n = 2^14, r = 8, p = 1, 16-byte salt, 32-byte key), compared
  in constant time; an unknown name costs the same scrypt as a wrong password;
- tokens: 32 random bytes (URL-safe base64), shown once when made; the file keeps their SHA-256 only
  (a token has the entropy a password lacks, so a fast hash is enough);
- roles: ``operator`` (reads and acts) and ``viewer`` (reads only).

The engine reads the file again when its modification time changes, so a new user needs no restart.
A password is checked off the event loop (:meth:`Accounts.check`), at most two at a time, so a flood of
logins cannot stall the engine's evaluation.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from pydantic import Field, ValidationError

from stationpipe.kernel.config import Model
from stationpipe.kernel.errors import ConfigError

_N, _R, _P, _KEY = 2**14, 8, 1, 32
_NAME = r"^[A-Za-z0-9_.@\-]{1,64}$"


class Role(StrEnum):
    """What an account may do."""

    OPERATOR = "operator"  # read and act
    VIEWER = "viewer"  # read only


class Account(Model):
    """One user of the users file."""

    name: str = Field(pattern=_NAME)
    role: Role
    password: str
    tokens: tuple[str, ...] = ()


class UsersFile(Model):
    """The whole file."""

    v: int = 1
    users: tuple[Account, ...] = ()


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def hash_password(password: str) -> str:
    """``scrypt$n$r$p$salt$hash`` (base64) of ``password``."""
    salt = secrets.token_bytes(16)
    key = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=_KEY)
    return f"scrypt${_N}${_R}${_P}${_b64(salt)}${_b64(key)}"


def check_password(password: str, stored: str) -> bool:
    """True when ``password`` matches ``stored`` (constant-time comparison)."""
    try:
        scheme, n, r, p, salt, key = stored.split("$")
        if scheme != "scrypt":
            return False
        want = base64.b64decode(key)
        got = hashlib.scrypt(
            password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p), dklen=len(want)
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, want)


def token_digest(token: str) -> str:
    """The SHA-256 hex of a token: what the file keeps."""
    return hashlib.sha256(token.encode()).hexdigest()


_DUMMY = hash_password(secrets.token_urlsafe(16))  # an unknown name costs one scrypt too


def read(path: Path) -> UsersFile:
    """The users file (an empty one when it does not exist yet); ``ConfigError`` when it is broken."""
    if not path.exists():
        return UsersFile()
    try:
        return UsersFile.model_validate_json(path.read_bytes())
    except (ValidationError, OSError) as exc:
        raise ConfigError(str(path), "", f"not a users file: {exc}") from exc


def write(path: Path, users: UsersFile) -> None:
    """Replace the file atomically, readable by its owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(users.model_dump(mode="json"), fh, ensure_ascii=False, indent=1)
        fh.flush()
        os.fsync(fh.fileno())
    tmp.replace(path)


@dataclass
class Accounts:
    """The users file as the engine sees it: re-read when it changes."""

    path: Path
    _mtime: float = -1.0
    _users: UsersFile = field(default_factory=UsersFile)
    _checks: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(2))

    def users(self) -> UsersFile:
        """The current file."""
        try:
            mtime = self.path.stat().st_mtime
        except FileNotFoundError:
            mtime = 0.0
        if mtime != self._mtime:
            self._users, self._mtime = read(self.path), mtime
        return self._users

    def get(self, name: str) -> Account | None:
        """The account called ``name``."""
        return next((u for u in self.users().users if u.name == name), None)

    def login(self, name: str, password: str) -> Account | None:
        """The account when ``password`` is its password, else ``None``."""
        account = self.get(name)
        ok = check_password(password, account.password if account is not None else _DUMMY)
        return account if ok and account is not None else None

    async def check(self, name: str, password: str) -> Account | None:
        """:meth:`login` in a worker thread (scrypt costs tens of milliseconds of CPU)."""
        account = self.get(name)  # read the file here, on the loop's thread
        async with self._checks:
            ok = await asyncio.to_thread(
                check_password, password, account.password if account is not None else _DUMMY
            )
        return account if ok and account is not None else None

    def by_token(self, token: str) -> Account | None:
        """The account holding ``token``."""
        digest = token_digest(token)
        for account in self.users().users:
            if any(hmac.compare_digest(digest, t) for t in account.tokens):
                return account
        return None

    def operators(self) -> frozenset[str]:
        """Names of the accounts that may act (and be assigned)."""
        return frozenset(u.name for u in self.users().users if u.role is Role.OPERATOR)
