"""ingest/jsonbits.py: the fast JSON path gives exactly what json.loads gives (bit lists under
"codes" as uint8 arrays with the same values), on documents built to trip it up, and refuses
what jsoninput refuses (duplicate keys, depth, lone surrogates) with the same words."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ontochron.errors import InputError
from ontochron.ingest import jsonbits
from ontochron.ingest.jsonbits import _leaf_lists, parse_json_bytes
from ontochron.jsoninput import MAX_DEPTH, parse_json


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
    with pytest.raises(InputError, match="invalid or truncated JSON: Expecting value"):
        parse_json_bytes(text)  # "[0,,1]" is not JSON: parse_json's own words


@pytest.mark.parametrize("text", [
    b'{"codes": {"a": [0, 1]}, "v": NaN}',              # orjson refuses NaN, json reads it
    b'{"codes": {"a": [0, 1]}, "big": 123456789012345678901234567890}',
])
def test_what_orjson_refuses_goes_through_json(text):
    same(parse_json_bytes(text), json.loads(text))


def test_errors_are_parse_jsons():
    for bad, words in ((b'{"codes": {"a": [0, 1]', "invalid or truncated JSON"),
                       (b'{"a": "\xff"}', "not UTF-8 text: invalid start byte")):
        with pytest.raises(InputError, match=words) as info:
            parse_json_bytes(bad, "f.json")
        assert str(info.value).startswith("f.json: ")
        if words.startswith("invalid"):
            with pytest.raises(InputError) as exact:
                parse_json(bad.decode(), "f.json")
            assert str(exact.value) == str(info.value)


@pytest.mark.parametrize(("text", "key"), [
    # a bit list dropped: the leaves no longer line up
    (b'{"codes": {"a": [0, 1], "a": [1, 1]}}', "a"),
    (b'{"codes": {"a": [0, 1], "b": {"a": [1], "a": []}}}', "a"),
    # nothing but scalars: only the count of keys (colons outside strings) can tell
    (b'{"codes": {"a": [0, 1]}, "m": {"y": 1, "y": 2}}', "y"),
    (b'{"codes": {"a": [0, 1]}, "m": {"y:": "a:b", "y:": "\\":"}}', "y:"),
    (b'[{"step": 0, "step": 1, "codes": {"a": [0, 1]}}]', "step"),
])
def test_duplicate_keys_refused_naming_the_key(text, key):
    """orjson keeps the last of a duplicate silently; the fast path must refuse it as
    parse_json does, with its words."""
    assert orjson_loads_quietly(text)
    with pytest.raises(InputError, match=f"key '{key}' appears twice") as info:
        parse_json_bytes(text, "d.json")
    with pytest.raises(InputError) as exact:
        parse_json(text.decode(), "d.json")
    assert str(info.value) == str(exact.value)


def orjson_loads_quietly(text: bytes) -> bool:
    import orjson

    return orjson.loads(text) is not None


def test_colons_and_brackets_inside_strings_are_not_keys_or_depth(monkeypatch):
    """Keys counted and depth measured outside strings only, so such documents stay on the
    fast path (which _exact being unreachable proves) and read as json reads them."""
    monkeypatch.setattr(jsonbits, "_exact", lambda *a: pytest.fail("left the fast path"))
    doc = {"k": "[" * (MAX_DEPTH + 5) + ":{:", "x\\\":": ["::", "]]"],
           "codes": {"a:[0,1]": [0, 1, 1]}}
    text = json.dumps(doc).encode()
    same(parse_json_bytes(text), json.loads(text))
    deep = "[" * (MAX_DEPTH - 1) + "[0, 1]" + "]" * (MAX_DEPTH - 1)
    same(parse_json_bytes(deep.encode()), json.loads(deep))


@pytest.mark.parametrize("text", [
    "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1),
    '{"codes": {"a": ' + "[" * MAX_DEPTH + "0, 1" + "]" * MAX_DEPTH + "}}",
    '{"a": ' * (MAX_DEPTH + 1) + "1" + "}" * (MAX_DEPTH + 1),
    "[" * 600 + "]" * 600,  # within orjson's own limit (1024)
])
def test_depth_bounded_as_parse_json_bounds_it(text):
    with pytest.raises(InputError, match=f"nested deeper than {MAX_DEPTH} levels") as info:
        parse_json_bytes(text.encode(), "deep.json")
    with pytest.raises(InputError) as exact:
        parse_json(text, "deep.json")
    assert str(info.value) == str(exact.value)


def test_lone_surrogates_refused_pairs_and_escaped_backslashes_read(monkeypatch):
    monkeypatch.setattr(jsonbits, "_exact", lambda *a: pytest.fail("left the fast path"))
    bad = b'{"codes": {"a\\ud800": [0, 1], "b": [1, 0]}}'
    with pytest.raises(InputError, match="lone surrogate"):
        parse_json_bytes(bad, "s.json")
    ok = b'{"codes": {"a\\ud83d\\ude00": [0, 1], "b\\\\ud800": [1, 0]}}'
    got = parse_json_bytes(ok)
    assert list(got["codes"]) == ["a\U0001F600", "b\\ud800"]
    assert got["codes"]["b\\ud800"].tolist() == [1, 0]


def test_random_documents_round_trip():
    rng = np.random.default_rng(0)
    for _ in range(30):
        codes = {f"c{i} [{j}]": rng.integers(0, 2, rng.integers(1, 6)).tolist()
                 for i, j in enumerate(rng.integers(0, 9, rng.integers(1, 6)))}
        doc = {"snapshots": [{"step": int(rng.integers(0, 99)), "codes": codes,
                              "metadata": {"m": rng.integers(0, 2, 3).tolist()}}]}
        text = json.dumps(doc, indent=int(rng.integers(0, 3)) or None).encode()
        same(parse_json_bytes(text), json.loads(text))
