"""JSON at the speed of the file for documents made mostly of 0/1 lists (reptimeline codes),
with the guarantees of :mod:`ontochron.jsoninput` (depth bounded, lone surrogates and duplicate
keys refused, one InputError naming the file).

Parsing a 74 MB reptimeline file with ``json`` builds 25 million Python ints and then
converts them to arrays, most of the read time. Here the lists whose every item is a single
digit 0 or 1 are found on the raw bytes (outside strings), their digits are read with numpy,
and their items are cut out before orjson parses the rest (the structure, the names, the
metadata, any float lists). Those lists come back empty and are refilled
in document order: as uint8 arrays where asked (the values of a ``codes`` object), else as
the same Python lists ``json`` gives. The values are exactly those of the text, so every
result computed from them is unchanged.

The checks ride on the same scan: the nesting depth is counted over the brackets and braces
outside strings; a ``\\uD800``-``\\uDFFF`` escape anywhere has jsoninput's exact scan look at
the strings (a pair is one character, a lone one is refused); the colons outside strings
(one per key of the text) are compared with the keys orjson kept (it keeps the last of a
duplicate without a word). Anything unusual (a document orjson refuses, such as NaN or bad
UTF-8; a duplicate key; too deep; a number of 19 digits or more, which orjson would read as
a float) goes to :func:`ontochron.jsoninput.parse_json` on the decoded text, so results,
refusals and their wording are exactly those of the standard reader.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from typing import Any

import numpy as np

from ontochron.errors import InputError
from ontochron.jsoninput import MAX_DEPTH, Location, check_json_text, parse_json

_QUOTE, _BACKSLASH, _OPEN, _CLOSE = 34, 92, 91, 93
_SPACE_CHARS = b" \n\r\t"
_LONG_NUMBER = re.compile(rb"\d{19}")
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


class _Mismatch(Exception):
    """The parsed tree does not line up with the lists found on the bytes."""


# byte classes: 0 a digit 0 or 1, 1 a comma, 2 anything else, 3 "[", 4 "]", 5 '"', 6 "\\",
# 7 "{", 8 "}", 9 ":"
(_DIGIT, _COMMA, _OTHER, _OPEN_C, _CLOSE_C, _QUOTE_C, _BACKSLASH_C, _BRACE_OPEN_C,
 _BRACE_CLOSE_C, _COLON_C) = range(10)
_CLASS = np.full(256, _OTHER, dtype=np.uint8)
_CLASS[[48, 49]] = _DIGIT
_CLASS[44] = _COMMA
_CLASS[_OPEN], _CLASS[_CLOSE] = _OPEN_C, _CLOSE_C
_CLASS[_QUOTE], _CLASS[_BACKSLASH] = _QUOTE_C, _BACKSLASH_C
_CLASS[123], _CLASS[125], _CLASS[58] = _BRACE_OPEN_C, _BRACE_CLOSE_C, _COLON_C
_CLASS_TABLE = _CLASS.tobytes()  # for bytes.translate: one C pass, no index arrays


def _classes(data: bytes) -> np.ndarray:
    return np.frombuffer(data.translate(_CLASS_TABLE), dtype=np.uint8)


def _string_quotes(buf: np.ndarray, quotes: np.ndarray) -> np.ndarray:
    """The ``quotes`` (positions of '"' in ``buf``) that open or close strings."""
    if quotes.size == 0:
        return quotes
    after_bs = quotes[(quotes > 0) & (buf[np.maximum(quotes - 1, 0)] == _BACKSLASH)]
    if after_bs.size == 0:
        return quotes
    escaped = []
    for q in after_bs.tolist():  # rare: count the backslashes right before the quote
        n = 0
        while q - 1 - n >= 0 and buf[q - 1 - n] == _BACKSLASH:
            n += 1
        if n % 2:
            escaped.append(q)
    return np.setdiff1d(quotes, np.asarray(escaped, dtype=quotes.dtype), assume_unique=True)


def _outside(quotes: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """The ``positions`` that are not inside a string (an even number of string quotes
    before them)."""
    return positions[(np.searchsorted(quotes, positions, side="right") % 2) == 0]


def _leaf_brackets(buf: np.ndarray, quotes: np.ndarray, brackets: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray]:
    """(opening, closing) positions of every list with no list inside it, outside strings,
    in document order; ``quotes``: the string quotes of ``buf``, ``brackets``: positions of
    at least every "[" and "]" in it."""
    brackets = _outside(quotes, brackets)
    is_open = buf[brackets] == _OPEN
    leaf = np.flatnonzero(is_open[:-1] & ~is_open[1:])
    return brackets[leaf], brackets[leaf + 1]


def _count_in(positions: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """How many of the sorted ``positions`` fall in each ``[lo, hi)``."""
    return (np.searchsorted(positions, hi, side="left")
            - np.searchsorted(positions, np.minimum(lo, hi), side="left"))


class _Scan:
    """What one look at the raw bytes finds: the leaf lists (:func:`_leaf_lists`), whether
    the nesting goes deeper than MAX_DEPTH, and how many keys the text holds (colons outside
    strings: one per key of a valid document)."""

    def __init__(self, data: bytes) -> None:
        buf = np.frombuffer(data, dtype=np.uint8)
        cls = _classes(data)
        special = np.flatnonzero(cls >= _OPEN_C)
        kinds = cls[special]
        del cls
        quotes = _string_quotes(buf, special[kinds == _QUOTE_C])
        self.s0, self.e0 = _leaf_brackets(buf, quotes,
                                          special[(kinds == _OPEN_C) | (kinds == _CLOSE_C)])
        nest = _outside(quotes, special[(kinds == _OPEN_C) | (kinds == _CLOSE_C)
                                        | (kinds == _BRACE_OPEN_C) | (kinds == _BRACE_CLOSE_C)])
        opens = (buf[nest] == _OPEN) | (buf[nest] == 123)
        self.too_deep = bool(nest.size) and int(
            np.cumsum(np.where(opens, 1, -1).astype(np.int64)).max()) > MAX_DEPTH
        self.n_keys = int(_outside(quotes, special[kinds == _COLON_C]).size)


def _leaf_lists(data: bytes, scan: _Scan | None = None
                ) -> list[tuple[int, int, np.ndarray | None]]:
    """(start, end, digits or None) of every list with no list inside it, outside strings,
    in document order: digits (uint8 0/1) when each item is a single digit 0 or 1, None for
    an empty list; lists of anything else are left out (orjson reads them).

    The items are checked on the document without whitespace (same lists, same order):
    a bit list's body there is ``d,d,...,d`` with each d a 0 or 1. Every test is a pass of
    numpy over the bytes or a binary search among the few bytes that are not 0, 1 or ","."""
    scan = scan if scan is not None else _Scan(data)
    s0, e0 = scan.s0, scan.e0
    squeezed = data.translate(None, _SPACE_CHARS)
    compact = np.frombuffer(squeezed, dtype=np.uint8)
    cls = _classes(squeezed)
    special = np.flatnonzero(cls >= _OTHER)  # neither a 0/1 digit nor a comma
    kinds = cls[special]
    quotes = _string_quotes(compact, special[kinds == _QUOTE_C])
    s1, e1 = _leaf_brackets(compact, quotes,
                            special[(kinds == _OPEN_C) | (kinds == _CLOSE_C)])
    if s1.size != s0.size:
        raise _Mismatch
    lo, hi = s1 + 1, e1
    n = hi - lo
    # two digits or two commas in a row ("10", ",,"); equal classes elsewhere do not matter
    # (a body holding any other byte is out already)
    twice = np.flatnonzero(cls[:-1] == cls[1:])
    first_digit = cls[np.minimum(lo, compact.size - 1)] == _DIGIT
    bits = ((n % 2 == 1) & first_digit & (_count_in(special, lo, hi) == 0)
            & (_count_in(twice, lo, hi - 1) == 0))
    out: list[tuple[int, int, np.ndarray | None]] = []
    for k in np.flatnonzero(bits | (n == 0)).tolist():
        digits = compact[lo[k]:hi[k]:2] - 48 if n[k] else None
        out.append((int(s0[k]), int(e0[k]), digits))
    return out


def _refill(node: Any, leaves: list[tuple[int, int, np.ndarray | None]], pos: list[int],
            arrays_under: str | None, parent_key: str | None, as_array: bool) -> Any:
    """``node`` with its empty lists replaced, in document order, by the leaves' values;
    ``pos[1]`` counts the keys of the objects met."""
    if isinstance(node, dict):
        pos[1] += len(node)
        return {k: _refill(v, leaves, pos, arrays_under, k,
                           arrays_under is not None and parent_key == arrays_under)
                for k, v in node.items()}
    if isinstance(node, list):
        if node:
            return [_refill(v, leaves, pos, arrays_under, None, False) for v in node]
        if pos[0] >= len(leaves):
            raise _Mismatch
        digits = leaves[pos[0]][2]
        pos[0] += 1
        if digits is None:
            return []
        return digits if as_array else digits.tolist()
    return node


def parse_json_bytes(data: bytes, path: str | os.PathLike[str] | None = None, *,
                     arrays_under: str | None = "codes",
                     duplicate: Callable[[Any, Location, str], str] | None = None,
                     invalid: str = "invalid or truncated JSON") -> Any:
    """The JSON document ``data`` as :func:`ontochron.jsoninput.parse_json` gives it, except
    that bit lists that are values of an object under the key ``arrays_under`` come back as
    uint8 numpy arrays.

    Raises InputError naming ``path`` (bad JSON, not UTF-8, nested deeper than MAX_DEPTH, a
    lone surrogate, a key twice; ``duplicate`` and ``invalid`` word them as in parse_json):
    any document the fast path cannot take is read by parse_json itself.
    """
    try:
        import orjson
    except ImportError:  # pragma: no cover - orjson is a dependency
        return _exact(data, path, duplicate, invalid)
    try:
        if _SURROGATE_ESCAPE.search(data):  # rare: the exact scan tells a pair from a lone
            check_json_text(_decoded(data, path), path)  # surrogate (InputError)
        scan = _Scan(data)
        if scan.too_deep:
            raise _Mismatch  # refused there, with the line and column
        leaves = _leaf_lists(data, scan)
        pieces, prev = [], 0
        for s, e, d in leaves:  # the document without the bit lists' items
            if d is not None:
                pieces.append(data[prev:s + 1])
                prev = e
        pieces.append(data[prev:])
        rest = b"".join(pieces)
        del pieces
        if _LONG_NUMBER.search(rest):
            raise _Mismatch  # orjson reads integers past 64 bits as floats; json does not
        tree = orjson.loads(rest)
        del rest
        pos = [0, 0]
        out = _refill(tree, leaves, pos, arrays_under, None, False)
        if pos[0] != len(leaves) or pos[1] != scan.n_keys:
            raise _Mismatch  # a key orjson dropped: parse_json names it
        return out
    except (orjson.JSONDecodeError, _Mismatch, RecursionError):
        return _exact(data, path, duplicate, invalid)


def _exact(data: bytes, path: str | os.PathLike[str] | None,
           duplicate: Callable[[Any, Location, str], str] | None, invalid: str) -> Any:
    """parse_json of the decoded text (its results and refusals)."""
    return parse_json(_decoded(data, path), path, duplicate=duplicate, invalid=invalid)


def _decoded(data: bytes, path: str | os.PathLike[str] | None) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text: {exc.reason}", path) from None
