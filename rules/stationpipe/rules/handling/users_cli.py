"""``stationpipe rules user …``: manage the users file of the operators' API and page.

``add NAME --role operator|viewer``, ``passwd NAME``, ``token NAME`` (prints a new API token once),
``remove NAME``, ``list``. Passwords are asked for twice on the terminal, or read from standard input
with ``--password-stdin`` (one line). Every verb takes ``--users FILE``.
"""

from __future__ import annotations

import secrets
import sys
from pathlib import Path
from typing import Annotated

import typer

from stationpipe.kernel.errors import ConfigError
from stationpipe.rules.handling.accounts import (
    Account,
    Role,
    UsersFile,
    hash_password,
    read,
    token_digest,
    write,
)

user_app = typer.Typer(help="Accounts of the operators' API and page (the [api] users file).")
UsersOpt = Annotated[Path, typer.Option("--users", help="the users file ([api] users of the rules config)")]
StdinOpt = Annotated[bool, typer.Option("--password-stdin", help="read the password from standard input")]


def _load(path: Path) -> UsersFile:
    try:
        return read(path)
    except ConfigError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


def _password(stdin: bool) -> str:  # noqa: FBT001 - a CLI flag
    if stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    if len(password) < 8:
        typer.echo("error: a password needs at least 8 characters", err=True)
        raise typer.Exit(2)
    return password


def _replace(users: UsersFile, account: Account) -> UsersFile:
    rest = tuple(u for u in users.users if u.name != account.name)
    return users.model_copy(update={"users": (*rest, account)})


def _existing(users: UsersFile, name: str) -> Account:
    account = next((u for u in users.users if u.name == name), None)
    if account is None:
        typer.echo(f"error: no user {name!r}", err=True)
        raise typer.Exit(2)
    return account


@user_app.command("add")
def add(
    name: str,
    users: UsersOpt,
    role: Annotated[Role, typer.Option("--role")] = Role.OPERATOR,
    *,
    password_stdin: StdinOpt = False,
) -> None:
    """Add a user (asks for the password)."""
    current = _load(users)
    if any(u.name == name for u in current.users):
        typer.echo(f"error: user {name!r} exists (passwd changes the password)", err=True)
        raise typer.Exit(2)
    try:
        account = Account(name=name, role=role, password=hash_password(_password(password_stdin)))
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    write(users, _replace(current, account))
    typer.echo(f"added {name} ({role.value})")


@user_app.command("passwd")
def passwd(name: str, users: UsersOpt, *, password_stdin: StdinOpt = False) -> None:
    """Set a user's password."""
    current = _load(users)
    account = _existing(current, name)
    new = account.model_copy(update={"password": hash_password(_password(password_stdin))})
    write(users, _replace(current, new))
    typer.echo(f"password of {name} changed")


@user_app.command("token")
def token(name: str, users: UsersOpt) -> None:
    """Make an API token for a user and print it (only now: the file keeps its hash)."""
    current = _load(users)
    account = _existing(current, name)
    value = secrets.token_urlsafe(32)
    write(
        users,
        _replace(current, account.model_copy(update={"tokens": (*account.tokens, token_digest(value))})),
    )
    typer.echo(value)


@user_app.command("remove")
def remove(name: str, users: UsersOpt) -> None:
    """Remove a user (and its tokens)."""
    current = _load(users)
    _existing(current, name)
    write(users, current.model_copy(update={"users": tuple(u for u in current.users if u.name != name)}))
    typer.echo(f"removed {name}")


@user_app.command("list")
def list_users(users: UsersOpt) -> None:
    """The users, their roles and how many tokens each holds."""
    for account in _load(users).users:
        typer.echo(f"{account.name}\t{account.role.value}\t{len(account.tokens)} tokens")
