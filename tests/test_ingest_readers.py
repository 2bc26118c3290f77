"""Readers: round trips through every format, the present mask, reptimeline interop, and an
InputError naming the file for each kind of bad input."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import save_file

from ontochron.errors import InputError
from ontochron.ingest import (
    CodeStack,
    Snapshot,
    load_snapshots,
    load_stack,
    save_npz,
    save_reptimeline_json,
    save_safetensors,
)


def _as_dict(snaps: list[Snapshot]) -> dict[int, dict[str, tuple]]:
    """{step: {concept: (code tuple, activation tuple or None)}} in a concept-order-free form."""
    out = {}
    for s in snaps:
        dense = s.dense()
        out[s.step] = {
            c: (tuple(int(v) for v in dense[i]),
                None if s.activations is None else tuple(float(v) for v in s.activations[i]))
            for i, c in enumerate(s.concepts)}
    return out


@pytest.fixture
def run() -> list[Snapshot]:
    """Three steps; concept 'c' is born at step 20, 'a' dies after step 20."""
    rng = np.random.default_rng(0)
    s1 = Snapshot.create(10, ["a", "b"], [[1, 0, 1, 0], [0, 1, 0, 0]],
                         [[0.5, 0, 2, 0], [0, 3, 0, 0]], {"lr": 0.1})
    s2 = Snapshot.create(20, ["b", "a", "c"], [[1, 1, 0, 0], [1, 0, 0, 0], [0, 0, 0, 1]],
                         rng.random((3, 4)).astype(np.float32), {"lr": 0.05})
    s3 = Snapshot.create(30, ["b", "c"], [[0, 0, 0, 0], [1, 1, 1, 1]],
                         rng.random((2, 4)).astype(np.float32))
    return [s3, s1, s2]  # unsorted on purpose


@pytest.mark.parametrize("writer,ext,sparse", [
    (save_npz, "npz", False), (save_npz, "npz", True),
    (save_safetensors, "safetensors", False), (save_safetensors, "safetensors", True),
    (save_reptimeline_json, "json", None)])
def test_round_trip(tmp_path, run, writer, ext, sparse):
    path = tmp_path / f"run.{ext}"
    if sparse is None:
        writer(run, path)
    else:
        writer(run, path, sparse=sparse)
    loaded = load_snapshots(path)
    assert [s.step for s in loaded] == [10, 20, 30]
    assert _as_dict(loaded) == _as_dict(run)
    assert loaded[0].metadata == {"lr": 0.1}
    assert loaded[1].metadata == {"lr": 0.05}
    assert all(s.source == os.fspath(path) for s in loaded)


def test_present_mask_in_stack(tmp_path, run):
    save_npz(run, tmp_path / "run.npz")
    with np.load(tmp_path / "run.npz") as z:
        concepts = list(z["concepts"])
        present = z["present"]
    assert concepts == ["a", "b", "c"]  # order of first appearance
    assert present.tolist() == [[True, True, False], [True, True, True], [False, True, True]]
    stack = load_stack(tmp_path / "run.npz")
    assert stack.present.tolist() == present.tolist()
    assert stack.dense(2)[0].sum() == 0  # absent 'a' has an empty row
    assert stack.dense(2)[2].tolist() == [True] * 4


def test_whole_run_npz_written_by_hand(tmp_path):
    """Layout (a) with int codes and a present mask: absent concepts are dropped."""
    codes = np.zeros((2, 3, 2), dtype=np.int8)
    codes[0, 0, 1] = codes[1, 2, 0] = 1
    codes[1, 1, :] = 1  # 'y' is absent at step 5: its codes must be ignored
    np.savez(tmp_path / "r.npz", steps=np.array([0, 5]), concepts=np.array(["x", "y", "z"]),
             codes=codes, present=np.array([[1, 1, 0], [1, 0, 1]], dtype=bool))
    snaps = load_snapshots(tmp_path / "r.npz")
    assert [s.concepts for s in snaps] == [("x", "y"), ("x", "z")]
    assert snaps[0].dense().tolist() == [[False, True], [False, False]]
    assert snaps[1].dense().tolist() == [[False, False], [True, False]]
    assert snaps[0].activations is None


def test_per_checkpoint_npz_directory_and_glob(tmp_path):
    names = np.array(["cat", "dog"])
    np.savez(tmp_path / "model_step200.npz", concepts=names, codes=np.eye(2, 3))
    np.savez(tmp_path / "checkpoint-100.npz", concepts=names[:1], codes=np.ones((1, 3)))
    np.savez(tmp_path / "whatever.npz", concepts=names, codes=np.zeros((2, 3)),
             step=np.array(300))
    (tmp_path / "README.txt").write_text("not a snapshot")
    snaps = load_snapshots(tmp_path)
    assert [s.step for s in snaps] == [100, 200, 300]
    assert snaps[0].concepts == ("cat",)
    assert snaps[1].dense().astype(int).tolist() == [[1, 0, 0], [0, 1, 0]]
    stack = load_stack(str(tmp_path / "*step*.npz"))
    assert stack.steps.tolist() == [200]


def test_step_pattern_override_for_files(tmp_path):
    np.savez(tmp_path / "run-a-7.npz", concepts=np.array(["a"]), codes=np.ones((1, 2)))
    with pytest.raises(InputError, match="no step"):
        load_snapshots(tmp_path)
    snaps = load_snapshots(tmp_path, step_pattern=r"-(\d+)\.npz$")
    assert [s.step for s in snaps] == [7]


def test_per_checkpoint_safetensors_with_header(tmp_path):
    save_file({"codes": np.array([[1, 0], [1, 1]], dtype=np.uint8),
               "activations": np.array([[1.5, 0], [2, 3]], dtype=np.float32)},
              os.fspath(tmp_path / "a.safetensors"),
              metadata={"concepts": json.dumps(["p", "q"]), "step": "40"})
    save_file({"codes_indptr": np.array([0, 1, 1], dtype=np.int64),
               "codes_indices": np.array([1], dtype=np.int64),
               "codes_shape": np.array([2, 2], dtype=np.int64)},
              os.fspath(tmp_path / "b.safetensors"),
              metadata={"concepts": json.dumps(["p", "q"]), "step": "50"})
    snaps = load_snapshots(tmp_path)
    assert [s.step for s in snaps] == [40, 50]
    assert snaps[0].dense().astype(int).tolist() == [[1, 0], [1, 1]]
    assert snaps[0].activations.tolist() == [[1.5, 0], [2, 3]]
    assert snaps[1].dense().astype(int).tolist() == [[0, 1], [0, 0]]


def test_reptimeline_to_dict_loads(tmp_path):
    """JSON written by reptimeline's own ConceptSnapshot.to_dict (list and 'snapshots')."""
    from reptimeline.core import ConceptSnapshot

    a = ConceptSnapshot(step=100, codes={"king": [0, 1, 1], "queen": [1, 0, 1]},
                        continuous={"king": [0.1, 0.9, 0.8], "queen": [0.7, 0.2, 0.6]},
                        metadata={"epoch": 1})
    b = ConceptSnapshot(step=200, codes={"king": [0, 1, 0], "man": [1, 1, 1]})
    (tmp_path / "list.json").write_text(json.dumps([b.to_dict(), a.to_dict()]))
    (tmp_path / "obj.json").write_text(json.dumps({"snapshots": [a.to_dict(), b.to_dict()]}))
    for name in ("list.json", "obj.json"):
        snaps = load_snapshots(tmp_path / name)
        assert [s.step for s in snaps] == [100, 200]
        assert snaps[0].concepts == ("king", "queen")
        assert snaps[0].dense().astype(int).tolist() == [[0, 1, 1], [1, 0, 1]]
        np.testing.assert_allclose(snaps[0].activations, [[0.1, 0.9, 0.8], [0.7, 0.2, 0.6]],
                                   rtol=1e-6)
        assert snaps[0].metadata == {"epoch": 1}
        assert snaps[1].activations is None
        assert snaps[1].concepts == ("king", "man")


def test_reptimeline_reads_our_json(tmp_path, run):
    from reptimeline.cli import _load_snapshots

    save_reptimeline_json(CodeStack.from_snapshots(run), tmp_path / "out.json")
    theirs = _load_snapshots(os.fspath(tmp_path / "out.json"))
    assert [s.step for s in theirs] == [10, 20, 30]
    expect = _as_dict(run)
    for s in theirs:
        assert {c: tuple(v) for c, v in s.codes.items()} == {
            c: code for c, (code, _) in expect[s.step].items()}
        s.validate()


# ------------------------------------------------------------------------- bad input

def _bad(path: Path, match: str, **kw) -> InputError:
    with pytest.raises(InputError, match=match) as info:
        load_snapshots(path, **kw)
    assert info.value.path is not None
    return info.value


def _write_json(path: Path, data) -> Path:
    path.write_text(json.dumps(data))
    return path


def test_ragged_codes_named(tmp_path):
    p = _write_json(tmp_path / "r.json", [{"step": 3, "codes": {"a": [0, 1], "b": [1]}}])
    err = _bad(p, "ragged")
    assert err.path == os.fspath(p) and "'b'" in err.message and "step 3" in err.message


def test_non_binary_codes(tmp_path):
    p = _write_json(tmp_path / "nb.json", [{"step": 1, "codes": {"a": [0, 2]}}])
    err = _bad(p, "binary")
    assert err.path == os.fspath(p) and "'a'" in err.message
    np.savez(tmp_path / "nb.npz", steps=[1, 2], concepts=np.array(["a", "b"]),
             codes=np.array([[[0, 1], [1, 0]], [[0, 1], [0.5, 0]]]))
    err = _bad(tmp_path / "nb.npz", "binary")
    assert "step 2" in err.message and "'b'" in err.message
    p = _write_json(tmp_path / "str.json", [{"step": 1, "codes": {"a": ["x", "y"]}}])
    _bad(p, "0/1")


def test_nan_activations(tmp_path):
    act = np.zeros((1, 2, 3), dtype=np.float32)
    act[0, 1, 2] = np.nan
    np.savez(tmp_path / "n.npz", steps=[4], concepts=np.array(["a", "b"]),
             codes=np.zeros((1, 2, 3), dtype=bool), activations=act)
    err = _bad(tmp_path / "n.npz", "NaN or inf")
    assert err.path == os.fspath(tmp_path / "n.npz") and "'b'" in err.message
    p = tmp_path / "n.json"
    p.write_text('[{"step": 1, "codes": {"a": [0, 1]}, "continuous": {"a": [Infinity, 0]}}]')
    _bad(p, "NaN or inf")


def test_duplicate_steps_name_both_files(tmp_path):
    np.savez(tmp_path / "step_5.npz", concepts=np.array(["a"]), codes=np.ones((1, 2)))
    np.savez(tmp_path / "other.npz", concepts=np.array(["a"]), codes=np.ones((1, 2)), step=5)
    err = _bad(tmp_path, "duplicate step 5")
    assert "step_5.npz" in err.message and "other.npz" in err.message
    p = _write_json(tmp_path / "d.json", [{"step": 1, "codes": {"a": [1]}},
                                          {"step": 1, "codes": {"a": [0]}}])
    _bad(p, "duplicate step 1")


def test_non_integer_steps(tmp_path):
    p = _write_json(tmp_path / "s.json", [{"step": 1.5, "codes": {"a": [1]}}])
    assert _bad(p, "integer").path == os.fspath(p)
    _bad(_write_json(tmp_path / "s2.json", [{"step": "ten", "codes": {"a": [1]}}]), "integer")
    np.savez(tmp_path / "s.npz", steps=np.array([1.0, 2.5]), concepts=np.array(["a"]),
             codes=np.zeros((2, 1, 1)))
    _bad(tmp_path / "s.npz", "non-integer steps")


def test_feature_count_change(tmp_path):
    np.savez(tmp_path / "step1.npz", concepts=np.array(["a"]), codes=np.ones((1, 2)))
    np.savez(tmp_path / "step2.npz", concepts=np.array(["a"]), codes=np.ones((1, 3)))
    err = _bad(tmp_path, "feature count changed")
    assert err.path == os.fspath(tmp_path / "step2.npz")
    p = _write_json(tmp_path / "f.json", [{"step": 1, "codes": {"a": [1]}},
                                          {"step": 2, "codes": {"a": [1, 0]}}])
    _bad(p, "feature count changed")


def test_empty_inputs(tmp_path):
    _bad(_write_json(tmp_path / "e1.json", []), "no snapshots")
    _bad(_write_json(tmp_path / "e2.json", {"snapshots": []}), "no snapshots")
    _bad(_write_json(tmp_path / "e3.json", [{"step": 1, "codes": {}}]), "no concepts")
    np.savez(tmp_path / "e.npz", steps=np.array([], dtype=int), concepts=np.array(["a"]),
             codes=np.zeros((0, 1, 2)))
    _bad(tmp_path / "e.npz", "no snapshots")
    np.savez(tmp_path / "e2.npz", step=1, concepts=np.array([], dtype=str),
             codes=np.zeros((0, 2)))
    _bad(tmp_path / "e2.npz", "no concepts")
    (tmp_path / "empty").mkdir()
    _bad(tmp_path / "empty", "unknown format")
    _bad(tmp_path / "nothing-*.npz", "matches no files")


def test_corrupt_and_truncated_files(tmp_path):
    p = tmp_path / "t.json"
    p.write_text('[{"step": 1, "codes": {"a": [0, 1')
    assert _bad(p, "truncated JSON").path == os.fspath(p)
    (tmp_path / "bin.json").write_bytes(b"\xff\xfe\x00garbage")
    _bad(tmp_path / "bin.json", "UTF-8|JSON")
    np.savez(tmp_path / "good.npz", steps=[1], concepts=np.array(["a"]),
             codes=np.ones((1, 1, 4)))
    data = (tmp_path / "good.npz").read_bytes()
    (tmp_path / "trunc.npz").write_bytes(data[: len(data) // 2])
    assert _bad(tmp_path / "trunc.npz", "npz").path == os.fspath(tmp_path / "trunc.npz")
    (tmp_path / "junk.npz").write_bytes(b"this is not a zip archive at all")
    _bad(tmp_path / "junk.npz", "npz")
    np.save(tmp_path / "single.npy", np.ones(3))
    os.replace(tmp_path / "single.npy", tmp_path / "single.npz")
    _bad(tmp_path / "single.npz", "single array")
    (tmp_path / "bad.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json")
    _bad(tmp_path / "bad.safetensors", "safetensors")
    save_file({"codes": np.ones((1, 2), dtype=np.uint8)},
              os.fspath(tmp_path / "nohdr.safetensors"))
    _bad(tmp_path / "nohdr.safetensors", "'concepts'")


def test_os_errors_become_input_errors(tmp_path):
    """A path that cannot be opened as a file (here a directory) -> InputError naming it."""
    from ontochron.ingest.readers import read_npz, read_reptimeline, read_safetensors

    for reader, match in ((read_reptimeline, "cannot read"), (read_npz, "cannot read"),
                          (read_safetensors, "safetensors")):
        with pytest.raises(InputError, match=match) as info:
            reader(tmp_path)
        assert info.value.path == os.fspath(tmp_path)


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0,
                    reason="root can read files without read permission")
def test_unreadable_file(tmp_path):
    p = _write_json(tmp_path / "locked.json", [{"step": 1, "codes": {"a": [1]}}])
    p.chmod(0)
    try:
        _bad(p, "cannot read")
    finally:
        p.chmod(0o644)


def test_unknown_format_and_missing_keys(tmp_path):
    (tmp_path / "x.txt").write_text("hello")
    _bad(tmp_path / "x.txt", "unknown format")
    with pytest.raises(InputError, match="unknown format"):
        load_snapshots(tmp_path / "x.txt", format="parquet")
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    _write_json(mixed / "a.json", [])
    np.savez(mixed / "b.npz", x=np.ones(1))
    _bad(mixed, "mixed formats")
    _bad(_write_json(tmp_path / "k.json", [{"step": 1}]), "missing required key 'codes'")
    _bad(_write_json(tmp_path / "k2.json", [{"codes": {"a": [1]}}]), "'step'")
    _bad(_write_json(tmp_path / "k3.json", {"steps": []}), "'snapshots'")
    np.savez(tmp_path / "k.npz", steps=[1], concepts=np.array(["a"]))
    _bad(tmp_path / "k.npz", "missing required key 'codes'")
    np.savez(tmp_path / "k2.npz", steps=[1], codes=np.ones((1, 1, 1)))
    _bad(tmp_path / "k2.npz", "'concepts'")
    np.savez(tmp_path / "k3.npz", steps=[1], concepts=np.array(["a", "b"]),
             codes=np.ones((1, 3, 2)))
    _bad(tmp_path / "k3.npz", "shape")
    np.savez(tmp_path / "k4.npz", steps=[1], concepts=np.array(["a"]),
             codes_indptr=np.array([0, 1]), codes_indices=np.array([5]),
             codes_shape=np.array([1, 1, 2]))
    _bad(tmp_path / "k4.npz", "inconsistent")
