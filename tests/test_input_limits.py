"""Inputs that used to crash or silently pass (issue 20): a declared shape larger than the data
or the memory, JSON nested without bound, names that are not valid Unicode text, a key given
twice. Each is refused at read time: one line naming the file (and step and key), exit code 2,
nothing written; the Python API raises InputError with the same text."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from ontochron.errors import InputError
from ontochron.ingest.readers import load_stack
from ontochron.jsoninput import MAX_DEPTH, check_json_text, parse_json
from ontochron.outputs import read_summary
from ontochron.overlay.hypothesis import load_hypothesis
from ontochron.queries.library import parse_value
from tests.test_input_refusals import _refused


def _npy(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array)
    return buf.getvalue()


def test_sparse_shape_beyond_memory_refused_before_allocating(tmp_path, capsys):
    """Measured: codes_shape (3, 4, 10**12) with no data behind it was an _ArrayMemoryError
    traceback from the analysis."""
    p = tmp_path / "wide.npz"
    np.savez(p, steps=np.array([0, 1, 2]), concepts=np.array(["a", "b", "c", "d"]),
             codes_indptr=np.zeros(13, dtype=np.int64), codes_indices=np.zeros(0, np.int64),
             codes_shape=np.array([3, 4, 10**12]))
    err = _refused(capsys, p, tmp_path, "codes_shape (3, 4, 1000000000000)", "memory",
                   "available")
    assert "MemoryError" not in err


def test_npz_header_declaring_more_than_it_holds_refused(tmp_path, capsys):
    """A dense member whose header declares 10**15 values but holds 10 bytes: refused from the
    header, before numpy allocates the declared shape."""
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "|b1", "fortran_order": False, "shape": (10**6, 10**6, 10**3)})
    p = tmp_path / "lie.npz"
    with zipfile.ZipFile(p, "w") as z:
        z.writestr("codes.npy", header.getvalue() + b"\0" * 10)
        z.writestr("steps.npy", _npy(np.array([0])))
        z.writestr("concepts.npy", _npy(np.array(["a"])))
    _refused(capsys, p, tmp_path, "array 'codes'", "(1000000, 1000000, 1000)", "holds 10 bytes")


def test_json_nested_deep_refused(tmp_path, capsys):
    """Measured: 100,000 levels was a RecursionError traceback."""
    p = tmp_path / "deep.json"
    p.write_text("[" * 100_000 + "]" * 100_000)
    _refused(capsys, p, tmp_path, f"nested deeper than {MAX_DEPTH} levels", "line 1")
    ok = "[" * MAX_DEPTH + "]" * MAX_DEPTH
    check_json_text(ok)
    with pytest.raises(InputError, match="nested deeper"):
        parse_value("[" * 100_000)  # a CLI --param value


def test_lone_surrogate_in_a_name_refused_at_read_time(tmp_path, capsys):
    """Measured: a concept name with a lone surrogate failed with UnicodeEncodeError after
    6.5 s of work; now the reader refuses it (JSON escape, npz string array)."""
    p = tmp_path / "s.json"
    p.write_text('[{"step": 4, "codes": {"a\\ud800": [0, 1], "b": [1, 0]}}]')
    _refused(capsys, p, tmp_path, "lone surrogate", "line 1")
    q = tmp_path / "s.npz"
    np.savez(q, steps=np.array([0]), concepts=np.array(["ok", "b\udc80"]),
             codes=np.zeros((1, 2, 3)))
    _refused(capsys, q, tmp_path, "concept name", "not valid Unicode")
    # a surrogate pair is one valid character, and an escaped backslash is no escape at all
    p.write_text('[{"step": 4, "codes": {"a\\ud83d\\ude00": [0, 1], "b\\\\ud800": [1, 0]}}]')
    assert load_stack(p).concepts == ["a\U0001F600", "b\\ud800"]


@pytest.mark.parametrize(("doc", "match"), [
    ([{"step": 0, "codes": {"a": [0, 1]}}, '{"step": 5, "codes": {"a": [0, 1], "b": [1, 0], '
      '"a": [1, 1]}}'], ["step 5", "concept 'a'", "'codes'", "twice"]),
    ('{"snapshots": [{"step": 2, "codes": {"a": [0, 1]}, "continuous": {"a": [0.1, 0.2], '
     '"a": [0.3, 0.4]}}]}', ["step 2", "concept 'a'", "'continuous'"]),
    ('{"step": 3, "codes": {"a": [0, 1]}, "metadata": {"x": {"y": 1, "y": 2}}}',
     ["step 3", "key 'y'", "'metadata.x'"]),
    ('[{"step": 0, "step": 1, "codes": {"a": [0, 1]}}]', ["snapshot #0", "key 'step'"]),
])
def test_duplicate_keys_in_a_snapshot_refused_naming_step_and_key(tmp_path, capsys, doc, match):
    """Measured: the same concept twice was accepted, the last value silently winning."""
    p = tmp_path / "d.json"
    if isinstance(doc, list):
        doc = "[" + json.dumps(doc[0]) + ", " + doc[1] + "]"
    p.write_text(doc)
    _refused(capsys, p, tmp_path, *match)


@pytest.mark.parametrize(("text", "match"), [
    # orjson (the fast reptimeline reader) takes 600 levels and keeps the last duplicate
    ('[{"step": 1, "codes": {"a": [0, 1]}, "metadata": ' + "[" * 600 + "]" * 600 + "}]",
     [f"nested deeper than {MAX_DEPTH} levels", "line 1"]),
    ('[{"step": 7, "codes": {"a": [0, 1], "b": [1, 1]}, "metadata": {"lr": 1, "lr": 2}}]',
     ["step 7", "key 'lr'", "'metadata'", "twice"]),
    ('[{"step": 7, "codes": {"b": [1, 1], "b": [1, 1]}}]', ["step 7", "concept 'b'"]),
])
def test_fast_json_reader_keeps_the_limits(tmp_path, capsys, text, match):
    """The reptimeline reader parses with orjson on the bytes (ingest/jsonbits.py); what
    orjson would accept or drop silently is refused in the same one line as parse_json's."""
    p = tmp_path / "f.json"
    p.write_text(text)
    _refused(capsys, p, tmp_path, *match)


def test_other_json_inputs_have_the_same_limits(tmp_path):
    """summary.json and hypothesis files go through the same reader."""
    summary = tmp_path / "summary.json"
    summary.write_text('{"n_steps": 3, "n_steps": 4}')
    with pytest.raises(InputError, match="key 'n_steps' appears twice") as info:
        read_summary(summary)
    assert str(summary) in str(info.value)
    hyp = tmp_path / "h.json"
    hyp.write_text("[" * 5000 + "]" * 5000)
    with pytest.raises(InputError, match="nested deeper"):
        load_hypothesis(hyp)


def test_json_text_check_is_parser_agnostic():
    """check_json_text looks at the text only (so it can sit in front of any parser) and
    passes ordinary JSON, strings with brackets and escaped quotes included."""
    text = json.dumps({"a]": ["[[[", "\"{{"], "b": [[1, 2], {"c": "\\ud800 is text"}]})
    check_json_text(text)
    assert parse_json(text)["b"][1]["c"] == "\\ud800 is text"
    with pytest.raises(InputError, match="lone surrogate"):
        check_json_text('{"k": "x\\udfff"}')
    with pytest.raises(InputError, match="lone surrogate"):
        check_json_text('{"k": "\\ud83d then no pair"}')


def test_readers_still_accept_well_formed_inputs(tmp_path):
    p = tmp_path / "ok.json"
    p.write_text(json.dumps([{"step": s, "codes": {"a": [0, 1], "b": [1, 1]},
                              "metadata": {"loss": 0.5, "nested": {"x": [1, {"y": 2}]}}}
                             for s in (0, 10)]))
    assert load_stack(p).steps.tolist() == [0, 10]
    q = tmp_path / "ok.npz"
    np.savez(q, steps=np.array([0, 10]), concepts=np.array(["a", "b"]),
             codes=np.ones((2, 2, 3), dtype=bool))
    assert load_stack(q).n_features == 3
    assert Path(q).exists()


def test_fast_depth_scan_agrees_with_the_exact_scan(monkeypatch):
    """The vectorized depth check (quotes and brackets only) finds the same first too-deep
    bracket as a token-by-token scan, on random texts full of strings, escapes and brackets."""
    import random
    import re

    import ontochron.jsoninput as ji

    strings = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.S)

    def exact(text: str) -> int | None:
        depth = 0
        for m in ji._TOKENS.finditer(text):
            ch = text[m.start()]
            if ch in "[{":
                depth += 1
                if depth > ji.MAX_DEPTH:
                    return m.start()
            elif ch in "]}":
                depth -= 1
        return None

    rnd = random.Random(7)
    alphabet = ["[", "]", "{", "}", '"', "\\", "a", "1", ",", " ", "é", "\U0001F600"]
    compared = 0
    for _ in range(6000):
        monkeypatch.setattr(ji, "MAX_DEPTH", rnd.randint(1, 6))
        text = "".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 60)))
        rest = strings.sub("", text)
        if '"' in rest or "\\" in rest:  # not JSON's string structure: parsers refuse it
            continue
        compared += 1
        assert ji._too_deep_fast(text) == exact(text), text
    assert compared > 500


def test_other_npz_inputs_have_the_same_limits(tmp_path):
    """Embedding files (label --embeddings/--vocab) and verify's activations: the same header
    check before numpy allocates, and names that must be valid Unicode."""
    from ontochron.cli.verify import load_activations
    from ontochron.labels.embedding import load_vectors

    p = tmp_path / "emb.npz"
    np.savez(p, names=np.array(["ok", "bad\ud800"]), vectors=np.eye(2))
    with pytest.raises(InputError, match="not valid Unicode"):
        load_vectors(p)
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f4", "fortran_order": False, "shape": (10**7, 10**6)})
    for target, load in ((tmp_path / "v.npz", load_vectors),
                         (tmp_path / "a.npz", lambda q: load_activations(str(q), 4))):
        with zipfile.ZipFile(target, "w") as z:
            z.writestr("x.npy", header.getvalue() + b"\0" * 16)
        with pytest.raises(InputError, match="declares shape") as info:
            load(target)
        assert str(target) in str(info.value)
