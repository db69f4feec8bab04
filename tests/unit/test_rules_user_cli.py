"""``stationpipe rules user …``: the users file as an operator manages it."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from stationpipe.cli import app
from stationpipe.rules.handling.accounts import Accounts

runner = CliRunner()


def user(path: Path, *args: str, password: str | None = None) -> tuple[int, str]:
    argv = ["rules", "user", *args, "--users", str(path)]
    if password is not None:
        argv.append("--password-stdin")
    result = runner.invoke(app, argv, input=None if password is None else f"{password}\n")
    return result.exit_code, result.output


def test_add_passwd_token_list_remove(tmp_path: Path) -> None:
    path = tmp_path / "users.json"
    assert user(path, "add", "li", password="li-secret-1") == (0, "added li (operator)\n")
    assert user(path, "add", "zhao", "--role", "viewer", password="zhao-secret")[0] == 0
    code, out = user(path, "add", "li", password="another-one")
    assert code == 2
    assert "exists" in out
    code, out = user(path, "add", "wu", password="short")
    assert code == 2
    assert "at least 8 characters" in out
    accounts = Accounts(path)
    assert accounts.login("li", "li-secret-1") is not None
    assert user(path, "passwd", "li", password="li-secret-2")[0] == 0
    assert Accounts(path).login("li", "li-secret-1") is None
    assert Accounts(path).login("li", "li-secret-2") is not None
    code, token = user(path, "token", "zhao")
    assert code == 0
    found = Accounts(path).by_token(token.strip())
    assert found is not None
    assert found.name == "zhao"
    assert token.strip() not in path.read_text(encoding="utf-8")  # kept as its hash only
    assert user(path, "list") == (0, "li\toperator\t0 tokens\nzhao\tviewer\t1 tokens\n")
    assert user(path, "remove", "zhao")[0] == 0
    assert user(path, "remove", "zhao")[0] == 2
    assert [u["name"] for u in json.loads(path.read_text(encoding="utf-8"))["users"]] == ["li"]
