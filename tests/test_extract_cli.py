"""``ontochron extract``: probe activations encoded by each checkpoint's SAE (the libraries'
own trees, found as lineage finds them) into the whole-run npz that analyze/ingest read."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ontochron.errors import InputError
from ontochron.ingest.extract import extract
from ontochron.ingest.readers import load_stack
from ontochron.sae import load_sae

FIX = Path(__file__).parent / "fixtures" / "sae"


def _cli(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])}
    return subprocess.run([sys.executable, "-m", "ontochron", "extract", *args],
                          capture_output=True, text=True, env=env, timeout=300)


def _probes(path: Path, d: int, n: int | None = None, seed: int = 0) -> tuple[list, np.ndarray]:
    rng = np.random.default_rng(seed)
    names = [f"c{i}" for i in range(12)]
    shape = (12, d) if n is None else (12, n, d)
    acts = (rng.standard_normal(shape) + 0.3).astype(np.float32)
    np.savez(path, concepts=np.array(names), activations=acts)
    return names, acts


def test_run_of_library_trees_matches_each_encode(tmp_path):
    run = FIX / "warm" / "saelens"           # step_<n>/final_<m>/ as SAELens writes them
    names, acts = _probes(tmp_path / "p.npz", 32)
    out = tmp_path / "codes.npz"
    r = _cli(str(run), "--probes", str(tmp_path / "p.npz"), "--out", str(out))
    assert r.returncode == 0, r.stderr
    with np.load(out) as z:
        assert z["steps"].tolist() == [1000, 2000, 3000, 4000]
        assert z["concepts"].tolist() == names
        assert z["codes"].shape == z["activations"].shape == (4, 12, 64)
        assert z["activations"].dtype == np.float32
        for t, step in enumerate(z["steps"]):
            sae = load_sae(run / f"step_{step}")
            np.testing.assert_array_equal(z["activations"][t], sae.encode(acts))
        np.testing.assert_array_equal(z["codes"], z["activations"] > 0)
    stack = load_stack(out)                  # what analyze and ingest read
    assert stack.n_steps == 4 and stack.n_features == 64


def test_single_folder_with_sae_and_step_from_name(tmp_path):
    ckpt = tmp_path / "step_700"
    shutil.copytree(FIX / "dictionary_learning" / "all", ckpt)
    names, acts = _probes(tmp_path / "p.npz", 16)
    out = tmp_path / "c.npz"
    r = _cli(str(ckpt), "--probes", str(tmp_path / "p.npz"), "--out", str(out))
    assert r.returncode == 2 and "trainer_0" in r.stderr and "--sae" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and not out.exists()
    r = _cli(str(ckpt), "--probes", str(tmp_path / "p.npz"), "--out", str(out),
             "--sae", "trainer_2", "--quiet")
    assert r.returncode == 0, r.stderr
    with np.load(out) as z:
        assert z["steps"].tolist() == [700] and z["codes"].shape == (1, 12, 32)
        ref = load_sae(ckpt, sae="trainer_2").encode(acts)
        np.testing.assert_array_equal(z["activations"][0], ref)


def test_one_folder_without_step_is_step_0(tmp_path):
    _probes(tmp_path / "p.npz", 16)
    arrays = extract(FIX / "sparsify" / "groupmax", tmp_path / "p.npz")
    assert arrays["steps"].tolist() == [0] and arrays["codes"].shape == (1, 12, 32)


def test_several_inputs_per_concept_aggregate_as_analyze(tmp_path):
    """(C, n, d_in): majority of the n inputs for codes, their mean for activations."""
    names, acts = _probes(tmp_path / "p.npz", 16, n=5)
    arrays = extract(FIX / "saelens" / "checkpoint_topk", tmp_path / "p.npz")
    sae = load_sae(FIX / "saelens" / "checkpoint_topk")
    f = sae.encode(acts.reshape(-1, 16)).reshape(12, 5, -1)
    np.testing.assert_allclose(arrays["activations"][0], f.mean(axis=1), atol=1e-6)
    np.testing.assert_array_equal(arrays["codes"][0], (f > 0).mean(axis=1) > 0.5)
    assert 0 < arrays["codes"].sum() < arrays["codes"].size


@pytest.mark.parametrize("bad, message", [
    ({"concepts": np.array(["a", "b"])}, "missing key 'activations'"),
    ({"concepts": np.array(["a", "a"]), "activations": np.zeros((2, 16))}, "duplicate"),
    ({"concepts": np.array(["a", "b"]), "activations": np.zeros((3, 16))}, "'activations'"),
    ({"concepts": np.array(["a", "b"]), "activations": np.zeros((2, 7))}, "d_in=7"),
    ({"concepts": np.array(["a", "b"]), "activations": np.full((2, 16), np.nan)}, "NaN"),
])
def test_bad_probes_exit_2_one_line(tmp_path, bad, message):
    np.savez(tmp_path / "p.npz", **bad)
    out = tmp_path / "c.npz"
    r = _cli(str(FIX / "saelens" / "topk"), "--probes", str(tmp_path / "p.npz"),
             "--out", str(out))
    assert r.returncode == 2 and message in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and not out.exists()
    assert not list(tmp_path.glob(".c.npz*"))


def test_not_an_sae_source(tmp_path):
    (tmp_path / "empty").mkdir()
    _probes(tmp_path / "p.npz", 16)
    with pytest.raises(InputError, match="no SAE found"):
        extract(tmp_path / "empty", tmp_path / "p.npz")


def test_extract_then_analyze(tmp_path):
    """The file extract writes is a codes source analyze reads without options."""
    _probes(tmp_path / "p.npz", 32)
    extract(FIX / "warm" / "sparsify", tmp_path / "p.npz", tmp_path / "codes.npz")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])}
    r = subprocess.run([sys.executable, "-m", "ontochron", "analyze", str(tmp_path / "codes.npz"),
                        "--out", str(tmp_path / "an"), "--quiet"], capture_output=True,
                       text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr
    summary = json.loads((tmp_path / "an" / "summary.json").read_text())
    assert json.dumps(summary).count("1000") >= 1   # the run's steps reached the analysis
