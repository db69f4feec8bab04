"""Fuzzing the configuration loader (``stationpipe check`` and every service's start-up).

Whatever the file holds, ``check_file`` returns a model or raises ``ConfigError`` whose message starts
with a file name and says what is wrong; never another exception. Inputs: arbitrary bytes and text,
TOML-ish text built from the real keys, and each shipped example (edge, collector, rules, registry, sim,
hj212-server, profile) edited as a document (nasty values, missing and unknown keys, odd paths) or as
bytes. The examples are copied with the folders their relative paths point into.
"""

from __future__ import annotations

import itertools
import shutil
import tomllib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stationpipe.cli import check_file
from stationpipe.kernel.errors import ConfigError
from tests.fuzz.mutations import (
    attempt,
    json_values,
    mutate_bytes,
    mutate_doc,
    nasty_values,
    toml_document,
    toml_value,
)

pytestmark = pytest.mark.timeout(60)
ROOT = Path(__file__).resolve().parents[2]
FUZZ = settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
EXAMPLES = {
    "edge": "deploy/config/edge.example.toml",
    "collector": "deploy/config/collector.example.toml",
    "rules": "deploy/config/rules.example.toml",
    "registry": "deploy/config/registry.example.toml",
    "sim": "deploy/config/sim.example.toml",
    "hj212-server": "deploy/config/hj212-server.example.toml",
    "profile": "kernel/stationpipe/kernel/profiles/water_five.toml",
}
_names = itertools.count()


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of deploy/config and of the shipped profiles (the examples name profiles; these are files)."""
    root = tmp_path_factory.mktemp("configs")
    shutil.copytree(ROOT / "deploy/config", root / "deploy/config")
    shutil.copytree(ROOT / "kernel/stationpipe/kernel/profiles", root / "kernel/stationpipe/kernel/profiles")
    for kind, example in EXAMPLES.items():
        assert check_file(root / example).model_dump()["kind"] == kind
    return root


def _keys(doc: Any) -> set[str]:
    if isinstance(doc, dict):
        return set(doc) | {k for v in doc.values() for k in _keys(v)}
    if isinstance(doc, list):
        return {k for v in doc for k in _keys(v)}
    return set()


DOCS = {kind: tomllib.loads((ROOT / path).read_text(encoding="utf-8")) for kind, path in EXAMPLES.items()}
KEYS = sorted(set().union(*(_keys(doc) for doc in DOCS.values())))
PATH_VALUES = ("", ".", "/", "/nonexistent/x.toml", "../../../../../../etc/passwd", "\x00", "a\x00b", "~")
nasty = nasty_values() | st.sampled_from(PATH_VALUES) | json_values(6)
JUNK = ("[", "]]", "= 1", 'a = "', "a = [1,", "a = {b=", "a.=1", "#", "[a]\n[a]", "a = 1\na = 2")


def check(path: Path) -> None:
    """The property every config fuzzer asserts for one file."""
    model = attempt(lambda: check_file(path), ConfigError)
    if isinstance(model, ConfigError):
        assert model.file, model
        assert model.reason, model
        assert str(model).startswith(model.file)  # this file, or the profile or registry it refers to
    else:
        assert model.model_dump()["kind"] in EXAMPLES


def _write(folder: Path, data: bytes) -> Path:
    """A new file beside the examples, so their relative paths resolve from it too."""
    path = folder / f"fuzz-{next(_names)}.toml"
    path.write_bytes(data)
    return path


@FUZZ
@given(st.binary(max_size=500) | st.text(max_size=500).map(lambda t: t.encode("utf-8", "surrogatepass")))
def test_arbitrary_bytes_and_text(tree: Path, data: bytes) -> None:
    check(_write(tree / "deploy/config", data))


@st.composite
def tomlish(draw: st.DrawFn) -> str:
    """Lines of TOML-ish text: real keys (dotted too), tables, arrays of tables, values good and bad."""
    lines = []
    if draw(st.booleans()):
        lines.append(f"kind = {toml_value(draw(st.sampled_from(sorted(EXAMPLES)) | st.text(max_size=5)))}")
    key = st.sampled_from(KEYS) | st.text(max_size=8)
    for _ in range(draw(st.integers(0, 12))):
        form = draw(st.sampled_from(["pair", "pair", "dotted", "table", "array", "junk"]))
        if form == "pair":
            lines.append(f'"{draw(key)}" = {toml_value(draw(nasty))}')
        elif form == "dotted":
            dotted = f"{draw(st.sampled_from(KEYS))}.{draw(st.sampled_from(KEYS))}"
            lines.append(f"{dotted} = {toml_value(draw(nasty))}")
        elif form == "table":
            lines.append(f"[{draw(st.sampled_from(KEYS))}]")
        elif form == "array":
            lines.append(f"[[{draw(st.sampled_from(KEYS))}]]")
        else:
            lines.append(draw(st.sampled_from(JUNK)))
    return "\n".join(lines) + "\n"


@FUZZ
@given(tomlish())
def test_tomlish_text(tree: Path, text: str) -> None:
    check(_write(tree / "deploy/config", text.encode("utf-8", "surrogatepass")))


@FUZZ
@given(st.sampled_from(sorted(EXAMPLES)), st.data())
def test_mutated_documents_of_each_kind(tree: Path, kind: str, data: st.DataObject) -> None:
    doc = mutate_doc(tomllib.loads(toml_document(DOCS[kind])), data.draw, nasty)
    folder = (tree / EXAMPLES[kind]).parent
    check(_write(folder, toml_document(doc).encode("utf-8", "surrogatepass")))


@FUZZ
@given(st.sampled_from(sorted(EXAMPLES)), st.data())
def test_mutated_bytes_of_each_kind(tree: Path, kind: str, data: st.DataObject) -> None:
    original = (ROOT / EXAMPLES[kind]).read_bytes()
    check(_write((tree / EXAMPLES[kind]).parent, mutate_bytes(original, data.draw)))
