"""Every tracked file refers only to paths inside the repository, and the contract it cites is there.

A clone holds the repository and nothing around it: a citation of a folder beside it, of the design or
domain notes as they were kept outside, or a relative path that climbs above the root works on one
machine and is a dead end on every other. The contract lives in docs/design.md and docs/domain.md; a
citation ``docs/design.md#<anchor>`` must name one of its headings.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from functools import cache
from pathlib import Path, PurePosixPath

import pytest

ROOT = Path(__file__).resolve().parents[2]
CONTRACT = ("docs/design.md", "docs/domain.md")

#: Names of places outside the repository (written with escapes, so this file does not name them itself).
OUTSIDE = re.compile(r"\.\./shared\b|\bshared/(?:DESIGN|DOMAIN)\.md|\b(?:DESIGN|DOMAIN)\.md\b")
#: A relative path that starts by climbing: ``..`` segments not preceded by a path, a name or a variable.
CLIMB = re.compile(r"(?<![\w./$}~-])\.\.(?:/\.\.)*(?=/|[\s`'\")\]]|$)", re.MULTILINE)
#: The rest of a path-like token: up to a space, a quote or a bracket.
TOKEN = re.compile(r"[^\s`'\")\]]*")
#: A citation of the contract with an anchor: its path (or bare name, from docs/), ``#``, the anchor.
ANCHORED = re.compile(r"(?<![\w-])(?:docs/)?(design|domain)\.md#([\w-]+)")
#: Deliberate references outside, each with the reason it must stay.
ALLOWED = {
    # a fuzzing input: a config path that must be refused, which only works if it points outside
    ("tests/fuzz/test_fuzz_config.py", "/".join([".."] * 6) + "/etc/passwd"),
}


def tracked() -> list[str]:
    """Every file git tracks, as repository-relative POSIX paths."""
    out = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, check=True, capture_output=True, timeout=30
    ).stdout.decode()
    return [name for name in out.split("\0") if name]


@cache
def texts() -> dict[str, str]:
    """The tracked regular files that are text, by path (binary files and symlinks left out)."""
    out: dict[str, str] = {}
    for name in tracked():
        path = ROOT / name
        if path.is_symlink() or not path.is_file():
            continue
        data = path.read_bytes()
        if b"\0" in data[:8192]:
            continue
        try:
            out[name] = data.decode("utf-8")
        except UnicodeDecodeError:
            continue
    return out


def matches(pattern: re.Pattern[str], *hints: str) -> Iterator[tuple[str, int, re.Match[str]]]:
    """(file, line number, match) of every match in every tracked text file. Only files that contain one
    of ``hints`` (plain substrings every match contains) are scanned: the regular expressions are slow."""
    for name, text in texts().items():
        if not any(hint in text for hint in hints):
            continue
        for match in pattern.finditer(text):
            yield name, text.count("\n", 0, match.start()) + 1, match


def leaves_root(name: str, climb: str) -> bool:
    """True when ``climb`` (``..``, ``../..``, …) taken from the folder of ``name`` ends above the root."""
    depth = len(PurePosixPath(name).parent.parts)
    return climb.count("..") > depth


def path_token(text: str, start: int) -> str:
    """The whole path-like token that starts at ``start`` (up to a space, quote or bracket)."""
    match = TOKEN.match(text, start)
    assert match is not None  # the pattern matches the empty string too
    return match.group(0)


def slug(heading: str) -> str:
    """The anchor GitHub gives a Markdown heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(doc: str) -> set[str]:
    """The anchors of the headings of one contract file."""
    text = (ROOT / doc).read_text(encoding="utf-8")
    return {slug(m.group(1)) for m in re.finditer(r"^#{1,6}\s+(.+?)\s*#*$", text, re.MULTILINE)}


@pytest.mark.parametrize("doc", CONTRACT)
def test_the_contract_is_in_the_repository(doc: str) -> None:
    assert doc in tracked(), f"{doc} is not tracked"
    assert (ROOT / doc).read_text(encoding="utf-8").strip()


def test_no_file_names_a_place_outside_the_repository() -> None:
    hits = matches(OUTSIDE, "shared", "DESIGN", "DOMAIN")
    found = [f"{name}:{number}: {m.group(0)}" for name, number, m in hits]
    assert not found, "cite docs/design.md or docs/domain.md instead:\n" + "\n".join(found)


def test_no_relative_path_climbs_above_the_root() -> None:
    found = []
    for name, number, match in matches(CLIMB, ".."):
        token = path_token(texts()[name], match.start())
        if leaves_root(name, match.group(0)) and (name, token) not in ALLOWED:
            found.append(f"{name}:{number}: {token}")
    assert not found, "relative paths leaving the repository:\n" + "\n".join(found)


def test_symlinks_stay_inside_the_repository() -> None:
    outside = []
    for name in tracked():
        path = ROOT / name
        if path.is_symlink():
            link = path.readlink()
            if not (path.parent / link).resolve().is_relative_to(ROOT):
                outside.append(f"{name} -> {link}")
    assert not outside, "symlinks leaving the repository:\n" + "\n".join(outside)


def test_cited_anchors_exist() -> None:
    known = {kind: anchors(f"docs/{kind}.md") for kind in ("design", "domain")}
    missing = [
        f"{name}:{number}: {m.group(0)}"
        for name, number, m in matches(ANCHORED, ".md#")
        if m.group(2) not in known[m.group(1)]
    ]
    assert not missing, "no such heading in the contract:\n" + "\n".join(missing)


@pytest.mark.parametrize(
    ("name", "climb", "leaves"),
    [
        ("README.md", "..", True),
        ("deploy/README.md", "..", False),
        ("deploy/README.md", "../..", True),
        ("deploy/systemd/install-edge.sh", "../..", False),
        ("tests/fuzz/test_fuzz_config.py", "/".join([".."] * 6), True),
    ],
)
def test_leaves_root(name: str, climb: str, *, leaves: bool) -> None:
    assert leaves_root(name, climb) is leaves


@pytest.mark.parametrize(
    ("line", "climbs"),
    [
        ("see [the docs](../docs/broker_restart.md).", ["../docs/broker_restart.md"]),
        ("The contract is `../../notes/x.md`.", ["../../notes/x.md"]),
        ('SOURCE=$(cd -- "$HERE/../.." && pwd)', []),
        ("a/../b and x..y and ...", []),
        ("cd ..", [".."]),
    ],
)
def test_climb_pattern(line: str, climbs: list[str]) -> None:
    assert [path_token(line, m.start()) for m in CLIMB.finditer(line)] == climbs


@pytest.mark.parametrize(
    ("heading", "anchor"),
    [
        ("Surface water (GB 3838-2002)", "surface-water-gb-3838-2002"),
        ("Warning levels (policy)", "warning-levels-policy"),
        ("IAQI breakpoints, HJ 633-2012", "iaqi-breakpoints-hj-633-2012"),
        ("Where does a new X go", "where-does-a-new-x-go"),
    ],
)
def test_slug(heading: str, anchor: str) -> None:
    assert slug(heading) == anchor
