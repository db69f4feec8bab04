"""Accounts (scrypt, tokens), the append-only journal, and the collector's lines for the human side."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from stationpipe.collector.points import action_lines, warning_lines
from stationpipe.collector.records import TOPICS
from stationpipe.kernel.messages import AlertState, Handling, WarningAction, WarningEvent
from stationpipe.rules.handling.accounts import (
    Account,
    Accounts,
    Role,
    UsersFile,
    check_password,
    hash_password,
    token_digest,
    write,
)
from stationpipe.rules.state import Batch, State

T0 = datetime(2026, 5, 1, 8, tzinfo=UTC)


def test_passwords_are_salted_scrypt_and_checked() -> None:
    one, two = hash_password("correct horse"), hash_password("correct horse")
    assert one != two  # salted
    assert one.startswith("scrypt$16384$8$1$")
    assert check_password("correct horse", one)
    assert not check_password("correct horsE", one)
    assert not check_password("correct horse", "md5$x")
    assert not check_password("correct horse", "scrypt$bad")


def test_the_users_file_is_private_and_reread_when_changed(tmp_path: Path) -> None:
    path = tmp_path / "users.json"
    accounts = Accounts(path)
    assert accounts.login("li", "whatever") is None  # no file yet: nobody
    li = Account(name="li", role=Role.OPERATOR, password=hash_password("li-secret-1"))
    write(path, UsersFile(users=(li,)))
    assert path.stat().st_mode & 0o777 == 0o600
    assert accounts.login("li", "li-secret-1") == li
    assert accounts.login("li", "wrong") is None
    viewer = Account(
        name="zhao", role=Role.VIEWER, password=hash_password("x" * 8), tokens=(token_digest("t"),)
    )
    write(path, UsersFile(users=(li, viewer)))
    path.touch()  # a new modification time even within the file system's resolution
    assert accounts.by_token("t") == viewer
    assert accounts.by_token("u") is None
    assert accounts.operators() == frozenset({"li"})
    assert "li-secret-1" not in path.read_text(encoding="utf-8")


def test_the_journal_is_append_only(tmp_path: Path) -> None:
    state = State(tmp_path / "state.sqlite3")
    batch = Batch.empty()
    batch.journal.append(("w1/section.nh3n/1", {"kind": "action", "user": "li"}))
    state.commit(batch)
    assert state.journal("w1/section.nh3n/1") == [{"kind": "action", "user": "li"}]
    for sql in ("UPDATE journal SET body = '{}'", "DELETE FROM journal"):
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            state.db.execute(sql)
    state.close()


def test_the_collector_stores_actions_in_their_own_measurement() -> None:
    assert "warnings/actions/+/+" in TOPICS
    action = WarningAction(
        "w1", "section.nh3n", T0, "assign", "li", T0, Handling.VERIFIED, 3, "看 look", "wang"
    )
    (line,) = action_lines(action)
    assert line.startswith("warning_actions,action=assign,rule=section.nh3n,station=w1 ")
    for field in ('user="li"', 'handling="verified"', "level=3i", 'note="看 look"', 'assignee="wang"'):
        assert field in line


def test_the_warnings_measurement_carries_the_human_state_when_there_is_one() -> None:
    plain = WarningEvent("w1", "section.nh3n", 2, AlertState.FIRING, "m", T0, T0)
    assert "handling" not in warning_lines(plain)[0]
    human = WarningEvent(
        "w1",
        "section.nh3n",
        2,
        AlertState.FIRING,
        "m",
        T0,
        T0,
        handling=Handling.VERIFIED,
        acknowledged_by="li",
    )
    assert 'acknowledged_by="li",assignee="",handling="verified"' in warning_lines(human)[0]
