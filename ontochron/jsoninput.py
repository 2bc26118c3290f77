"""Read JSON that comes from a user's file: nesting depth bounded, text that is not valid
Unicode (a lone surrogate such as ``"\\ud800"``) and duplicate object keys refused, each as one
InputError naming the file, before any work is done with the data.

``check_json_text`` looks only at the text, so it serves any parser (the standard library's or
orjson). Duplicate keys need the parser's help: ``parse_json`` uses the standard library's
``object_pairs_hook``; a parser without such a hook (orjson keeps one of the values) cannot
tell them apart afterwards."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from typing import Any

import numpy as np

from ontochron.errors import InputError

#: Deepest nesting of arrays/objects accepted (snapshot files need about 5 levels).
MAX_DEPTH = 100

# A string literal or a bracket (the exact scan, used when the fast one cannot decide).
_TOKENS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]', re.S)
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")

Location = tuple[str | int, ...]


def _where(text: str, pos: int) -> str:
    line = text.count("\n", 0, pos) + 1
    return f"line {line} column {pos - (text.rfind(chr(10), 0, pos) + 1) + 1}"


def check_json_text(text: str, path: str | os.PathLike[str] | None = None) -> None:
    """Raise InputError when JSON ``text`` nests deeper than MAX_DEPTH or a string in it is
    not valid Unicode text (a lone surrogate escape). Linear in the text; parser-agnostic."""
    if _SURROGATE_ESCAPE.search(text) is None:  # the usual case: only the depth to check
        too_deep = _too_deep_fast(text)
        if too_deep is None:
            return
        raise InputError(f"JSON nested deeper than {MAX_DEPTH} levels (at "
                         f"{_where(text, too_deep)})", path)
    depth = 0
    for m in _TOKENS.finditer(text):
        ch = text[m.start()]
        if ch == '"':
            token = m.group()
            if _SURROGATE_ESCAPE.search(token) and not _valid_unicode(token):
                raise InputError(f"the string {token[:40]} at {_where(text, m.start())} holds "
                                 "a lone surrogate: names and text must be valid Unicode",
                                 path)
        elif ch in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                raise InputError(f"JSON nested deeper than {MAX_DEPTH} levels (at "
                                 f"{_where(text, m.start())})", path)
        else:
            depth -= 1


def _too_deep_fast(text: str) -> int | None:
    """Offset of the first bracket nested deeper than MAX_DEPTH, or None; brackets inside
    strings do not count. Vectorized: a bracket is inside a string when an odd number of
    unescaped quotes precede it, so only the (few) quotes and brackets are looked at, not every
    digit of a code list as a regex scan would (that cost half of what json.loads takes)."""
    data = text.encode("utf-8", "surrogatepass")  # brackets, quotes, \\ are single bytes
    a = np.frombuffer(data, dtype=np.uint8)
    quotes = np.flatnonzero(a == 34)
    after_backslash = quotes[quotes > 0]
    after_backslash = after_backslash[a[after_backslash - 1] == 92]
    escaped = []
    for q in after_backslash.tolist():  # rare: escaped unless the backslashes pair up
        i = q - 1
        while i >= 0 and a[i] == 92:
            i -= 1
        if (q - 1 - i) % 2:
            escaped.append(q)
    if escaped:
        quotes = np.setdiff1d(quotes, np.array(escaped, dtype=quotes.dtype))
    brackets = np.flatnonzero(_BRACKETS[a])
    brackets = brackets[np.searchsorted(quotes, brackets) % 2 == 0]
    level = np.cumsum(np.where(_OPENERS[a[brackets]], 1, -1))
    over = np.flatnonzero(level > MAX_DEPTH)
    if not over.size:
        return None
    return len(data[:int(brackets[over[0]])].decode("utf-8", "surrogatepass"))


def _byte_table(chars: str) -> np.ndarray:
    table = np.zeros(256, dtype=bool)
    table[[ord(c) for c in chars]] = True
    return table


_BRACKETS = _byte_table("[]{}")
_OPENERS = _byte_table("[{")


def _valid_unicode(token: str) -> bool:
    try:
        json.loads(token).encode("utf-8")
    except (UnicodeEncodeError, ValueError):
        return False
    return True


def check_text(values: list[str], path: str | os.PathLike[str] | None, what: str) -> None:
    """Raise InputError naming the first of ``values`` that is not valid Unicode text (a lone
    surrogate cannot be written to a file or sent to the graph)."""
    for v in values:
        try:
            v.encode("utf-8")
        except UnicodeEncodeError:
            raise InputError(f"{what} {v!r} is not valid Unicode text (it holds a lone "
                             "surrogate)", path) from None


class _DuplicateKeys(dict):  # type: ignore[type-arg]
    """An object in which ``duplicate`` appeared more than once (the parser kept the last)."""

    duplicate: str = ""


def _pairs(seen: list[bool]) -> Callable[[list[tuple[str, Any]]], dict[str, Any]]:
    def hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        obj = dict(pairs)
        if len(obj) == len(pairs):
            return obj
        keys: set[str] = set()
        out = _DuplicateKeys(obj)
        for key, _ in pairs:
            if key in keys:
                out.duplicate = key
                break
            keys.add(key)
        seen.append(True)
        return out
    return hook


def first_duplicate(data: Any) -> tuple[Location, str] | None:
    """(where, key) of the first object holding a key twice, in document order; None if none.
    Only objects parsed by ``parse_json`` know; walked without recursion."""
    stack: list[tuple[Location, Any]] = [((), data)]
    while stack:
        loc, obj = stack.pop()
        if isinstance(obj, _DuplicateKeys):
            return loc, obj.duplicate
        if isinstance(obj, dict):
            stack.extend((loc + (k,), v) for k, v in reversed(obj.items())
                         if isinstance(v, (dict, list)))
        elif isinstance(obj, list):
            stack.extend((loc + (i,), v) for i, v in reversed(list(enumerate(obj)))
                         if isinstance(v, (dict, list)))
    return None


def describe(loc: Location) -> str:
    """``("snapshots", 3, "codes")`` -> ``snapshots[3].codes``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "the top level"


def parse_json(text: str, path: str | os.PathLike[str] | None = None, *,
               duplicate: Callable[[Any, Location, str], str] | None = None,
               invalid: str = "invalid or truncated JSON") -> Any:
    """Parse untrusted JSON ``text`` (see the module docstring): InputError on bad JSON
    (worded ``invalid: reason at line L column C``), depth over MAX_DEPTH, a lone surrogate or
    a duplicate key. ``duplicate(data, where, key)`` may word the duplicate-key message (e.g.
    naming a snapshot's step)."""
    check_json_text(text, path)
    seen: list[bool] = []
    try:
        data = json.loads(text, object_pairs_hook=_pairs(seen))
    except json.JSONDecodeError as exc:
        raise InputError(f"{invalid}: {exc.msg} at line {exc.lineno} column {exc.colno}",
                         path) from None
    except RecursionError:  # pragma: no cover - check_json_text bounds the depth first
        raise InputError(f"JSON nested deeper than {MAX_DEPTH} levels", path) from None
    if seen:
        found = first_duplicate(data)
        if found is not None:
            where, key = found
            msg = (duplicate(data, where, key) if duplicate is not None else
                   f"key {key!r} appears twice in {describe(where)} (refused: one of the "
                   "values would be lost)")
            raise InputError(msg, path)
    return data


def load_json(path: str | os.PathLike[str], *, invalid: str = "not valid JSON") -> Any:
    """``parse_json`` of a UTF-8 file; InputError when it cannot be read (FileNotFoundError
    is left to the caller, who knows what a missing file means)."""
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", path) from None
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text: {exc.reason}", path) from None
    return parse_json(text, path, invalid=invalid)
