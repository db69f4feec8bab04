"""The composition root's table: each row answers exactly the words its service's app defines, and a
command line imports only the service it names."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest
import typer
from typer.main import get_command_name

from stationpipe.cli import MOUNTS, Mount, rows_for


def _top_words(app: typer.Typer) -> set[str]:
    return {c.name or get_command_name(c.callback.__name__) for c in app.registered_commands if c.callback}


@pytest.mark.parametrize("mount", [m for m in MOUNTS if m.name is None], ids=lambda m: m.module)
def test_a_top_level_row_lists_exactly_its_apps_verbs(mount: Mount) -> None:
    app = getattr(importlib.import_module(mount.module), mount.attr)
    assert _top_words(app) == set(mount.verbs)


def test_every_word_is_answered_by_one_row() -> None:
    words = [w for m in MOUNTS for w in m.words()]
    assert len(words) == len(set(words))
    assert {"sim", "edge", "collector", "hj212-server", "rules", "evaluate", "hj212"} <= set(words)


@pytest.mark.parametrize(
    ("argv", "modules"),
    [
        (["edge", "--config", "x.toml"], ["stationpipe.edge.cli"]),
        (["hj212-server", "-c", "x.toml"], ["stationpipe.collector.cli"]),
        (["rules", "test", "--rules", "r.toml"], ["stationpipe.rules.cli"]),
        (["--help"], [m.module for m in MOUNTS]),
        (["check", "a.toml"], [m.module for m in MOUNTS]),
        (["no-such-verb"], [m.module for m in MOUNTS]),
    ],
)
def test_rows_for_a_command_line(argv: list[str], modules: list[str]) -> None:
    assert [m.module for m in rows_for(argv)] == modules


def test_the_edge_command_imports_no_other_service() -> None:
    probe = (
        "import sys\n"
        "sys.argv = ['stationpipe', 'edge', '--help']\n"
        "import stationpipe.cli\n"
        "try:\n    stationpipe.cli.main()\nexcept SystemExit:\n    pass\n"
        "others = ('collector', 'rules', 'ops', 'simulators')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[:2][-1] in others))"
    )
    argv = [sys.executable, "-c", probe]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.strip().splitlines()[-1] == "[]"
    assert "--config" in done.stdout
