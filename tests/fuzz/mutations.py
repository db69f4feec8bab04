"""Hypothesis strategies that break valid input: byte edits, JSON document edits, nasty values, and a
small TOML writer so edited configuration documents can be written back as files."""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Callable
from datetime import date, datetime, time
from typing import Any, Protocol, TypeVar

from hypothesis import strategies as st

_T = TypeVar("_T")
_E = TypeVar("_E", bound=Exception)


class Draw(Protocol):
    """``st.DataObject.draw`` or a composite's ``draw``."""

    def __call__(self, strategy: st.SearchStrategy[_T], label: Any = None) -> _T: ...


#: Bytes that mean something to JSON, HJ 212 or TOML parsers: the usual suspects for a splice.
TOKENS = (
    b'"',
    b"{",
    b"}",
    b"[",
    b"]",
    b",",
    b":",
    b"null",
    b"NaN",
    b"Infinity",
    b"-0",
    b"1e999",
    b"9" * 400,
    b"\\u0000",
    b"\\ud800",
    b"\x00",
    b"\xff",
    b"\xc3",
    b"##",
    b"&&",
    b";",
    b"=",
    b"\r\n",
    b"\n",
)

#: Values that trip decoders: wrong types, out-of-range numbers, odd text and timestamps, deep nesting.
NASTY: tuple[Any, ...] = (
    None,
    True,
    0,
    -1,
    2**63,
    10**400,
    -(10**400),
    1e308,
    -1e308,
    5e-324,
    math.nan,
    math.inf,
    -math.inf,
    "",
    " ",
    "\x00",
    "\ud800",
    "😀" * 3,
    "x" * 5000,
    "a b,c=d\n",
    "1",
    "NaN",
    "0001-01-01T00:00:00+23:59",
    "9999-12-31T23:59:59-23:59",
    "2026-11-22T01:00:00",
    "2026-02-30T01:00:00Z",
    "2262-04-12T00:00:00Z",
    [],
    {},
    [[[[[]]]]],
    {"v": 1},
)


def attempt(call: Callable[[], _T], expected: type[_E]) -> _T | _E:
    """The result of ``call()``, or the ``expected`` error it raised; any other exception propagates."""
    try:
        return call()
    except expected as exc:
        return exc


def nasty_values() -> st.SearchStrategy[Any]:
    """One of ``NASTY``, a fresh copy each time (edits must never reach the shared table)."""
    return st.sampled_from(NASTY).map(copy.deepcopy)


def mutate_bytes(data: bytes, draw: Draw, max_edits: int = 6) -> bytes:
    """Apply 1..``max_edits`` random edits: flip, insert a token or random bytes, delete, duplicate, cut."""
    out = bytearray(data)
    for _ in range(draw(st.integers(1, max_edits))):
        at = draw(st.integers(0, len(out)))
        op = draw(st.sampled_from(["flip", "token", "random", "delete", "duplicate", "truncate"]))
        if op == "flip" and at < len(out):
            out[at] ^= 1 << draw(st.integers(0, 7))
        elif op == "token":
            out[at:at] = draw(st.sampled_from(TOKENS))
        elif op == "random":
            out[at:at] = draw(st.binary(min_size=1, max_size=8))
        elif op == "delete":
            del out[at : at + draw(st.integers(1, 16))]
        elif op == "duplicate":
            start = draw(st.integers(0, len(out)))
            out[at:at] = out[start : start + draw(st.integers(1, 64))]
        else:
            del out[at:]
    return bytes(out)


def _paths(doc: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a value inside nested dicts and lists (the root excluded)."""
    out: list[tuple[Any, ...]] = []
    items: list[tuple[Any, Any]] = []
    if isinstance(doc, dict):
        items = list(doc.items())
    elif isinstance(doc, list):
        items = list(enumerate(doc))
    for key, value in items:
        out.append((*prefix, key))
        out.extend(_paths(value, (*prefix, key)))
    return out


def _parent(doc: Any, path: tuple[Any, ...]) -> Any:
    for key in path[:-1]:
        doc = doc[key]
    return doc


def mutate_doc(doc: Any, draw: Draw, nasty: st.SearchStrategy[Any], max_edits: int = 3) -> Any:
    """Edit a JSON-like document in place (it must be a fresh copy): replace a value with a nasty one,
    delete a key or item, add an unknown key, or wrap a value in a list."""
    for _ in range(draw(st.integers(1, max_edits))):
        paths = _paths(doc)
        if not paths:
            return doc
        path = draw(st.sampled_from(paths))
        parent, key = _parent(doc, path), path[-1]
        op = draw(st.sampled_from(["replace", "replace", "delete", "add", "wrap"]))
        if op == "replace":
            parent[key] = draw(nasty)
        elif op == "delete":
            del parent[key]
        elif op == "add" and isinstance(parent, dict):
            parent[draw(st.sampled_from(["extra", "", "v", "ts", "值"]))] = draw(nasty)
        elif op == "wrap":
            parent[key] = [parent[key]]
    return doc


def json_values(max_leaves: int = 30) -> st.SearchStrategy[Any]:
    """Arbitrary JSON values, NaN and infinities included."""
    leaves = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
    return st.recursive(
        leaves,
        lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner, max_size=5),
        max_leaves=max_leaves,
    )


def nested(depth: int, opener: bytes = b"[", closer: bytes = b"]") -> bytes:
    """``depth`` nested containers, e.g. ``[[[…]]]`` or ``{"a":{"a":…}}``."""
    return opener * depth + closer * depth


# --- TOML ------------------------------------------------------------------------------------------


def _toml_key(key: str) -> str:
    return json.dumps(key, ensure_ascii=False)


def _toml_float(value: float) -> str:
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return repr(value)


def toml_value(value: Any) -> str:
    """One TOML value written inline (tables as inline tables), for any value ``tomllib`` can return
    plus NaN and infinities; ``None`` (not TOML) is written as an empty inline table."""
    if value is None:
        return "{}"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _toml_float(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_toml_key(k)} = {toml_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"no TOML for {type(value).__name__}")


def toml_document(doc: dict[str, Any]) -> str:
    """A whole document as ``key = inline value`` lines (valid TOML that ``tomllib`` reads back)."""
    return "".join(f"{_toml_key(key)} = {toml_value(value)}\n" for key, value in doc.items())
