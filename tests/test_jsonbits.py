"""ingest/jsonbits.py: the fast JSON path gives exactly what json.loads gives (bit lists under
"codes" as uint8 arrays with the same values), on documents built to trip it up."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ontochron.ingest.jsonbits import _leaf_lists, parse_json_bytes


def plain(x):
    """The tree with arrays as lists (what json.loads gives)."""
    if isinstance(x, np.ndarray):
        return x.tolist()
    if isinstance(x, dict):
        return {k: plain(v) for k, v in x.items()}
    if isinstance(x, list):
        return [plain(v) for v in x]
    return x


def same(got, want) -> None:
    assert plain(got) == want
    assert json.dumps(plain(got)) == json.dumps(want)  # key order and types too


DOCS = [
    # names with brackets, quotes, backslashes and digits inside strings
    {"snapshots": [{"step": 1, "codes": {"a[0, 1]": [0, 1, 1], 'b"]': [1, 0, 0],
                                         "c\\": [0, 0, 0], "[1]": [1, 1, 1]}}]},
    # bit lists outside "codes" stay Python lists; nested lists; empty lists; multi-digit
    {"codes": {"x": [1, 0], "y": []}, "metadata": {"layers": [0, 1], "grid": [[0, 1], [1]],
                                                   "n": [10, 1], "e": [], "f": [0.5, 1]}},
    # lists that look like bits but are not: floats, negatives, booleans, strings, 2s
    {"codes": {"a": [0.0, 1], "b": [-0, 1], "c": [True, False], "d": ["0", "1"],
               "e": [2, 0], "f": [0, 1]}},
    [[0], [1], [0, 1, 0], {"codes": {"z": [1]}}],
    {"s": "\\\\\"[0,1]\\\\", "codes": {"k": [0, 1]}},
]


@pytest.mark.parametrize("doc", DOCS)
@pytest.mark.parametrize("indent", [None, 2, "\t"])
def test_same_tree_as_json(doc, indent):
    text = json.dumps(doc, indent=indent).encode()
    same(parse_json_bytes(text), json.loads(text))


def test_bit_lists_under_codes_are_arrays_elsewhere_lists():
    got = parse_json_bytes(json.dumps(DOCS[1]).encode())
    assert isinstance(got["codes"]["x"], np.ndarray) and got["codes"]["x"].dtype == np.uint8
    assert got["codes"]["y"] == []
    assert isinstance(got["metadata"]["layers"], list)
    assert isinstance(got["metadata"]["layers"][0], int)


def test_odd_spacing_and_lists_that_are_not_bits():
    text = b'{"codes": {"a": [ 0 ,1,\n 1 ], "b": [0,,1], "c": [01], "d": [ ]}}'
    leaves = _leaf_lists(text)
    assert [d.tolist() if d is not None else None for _, _, d in leaves] == [[0, 1, 1], None]
    with pytest.raises(json.JSONDecodeError):  # "[0,,1]" is not JSON: json's own error
        parse_json_bytes(text)


@pytest.mark.parametrize("text", [
    b'{"codes": {"a": [0, 1], "a": [1, 1]}}',          # duplicate key: json's last value wins
    b'{"codes": {"a": [0, 1]}, "v": NaN}',              # orjson refuses NaN, json reads it
    b'{"codes": {"a": [0, 1]}, "big": 123456789012345678901234567890}',
    b'{"codes": {"a": [0, 1], "b": {"a": [1], "a": []}}}',
])
def test_what_orjson_refuses_or_drops_goes_through_json(text):
    same(parse_json_bytes(text), json.loads(text))


def test_errors_are_jsons():
    for bad in (b'{"codes": {"a": [0, 1]', b'{"a": "\xff"}'):
        with pytest.raises((json.JSONDecodeError, UnicodeDecodeError)):
            parse_json_bytes(bad)


def test_random_documents_round_trip():
    rng = np.random.default_rng(0)
    for _ in range(30):
        codes = {f"c{i} [{j}]": rng.integers(0, 2, rng.integers(1, 6)).tolist()
                 for i, j in enumerate(rng.integers(0, 9, rng.integers(1, 6)))}
        doc = {"snapshots": [{"step": int(rng.integers(0, 99)), "codes": codes,
                              "metadata": {"m": rng.integers(0, 2, 3).tolist()}}]}
        text = json.dumps(doc, indent=int(rng.integers(0, 3)) or None).encode()
        same(parse_json_bytes(text), json.loads(text))
