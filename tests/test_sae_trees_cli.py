"""The libraries' own trees on the command line: a checkpoint folder holding several SAEs
(dictionary_learning ``trainer_<i>/``) needs ``--sae``, and the error lists the candidates;
``lineage``, ``compare``, ``verify``, ``analyze`` and ``ingest`` read the picked SAE."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np

FIX = Path(__file__).parent / "fixtures" / "sae"


def _cli(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])}
    return subprocess.run([sys.executable, "-m", "ontochron", *args], capture_output=True,
                          text=True, env=env, timeout=300)


def test_lineage_and_compare_with_sae(tmp_path):
    run = tmp_path / "run"
    for step in (100, 200):
        shutil.copytree(FIX / "dictionary_learning" / "all", run / f"step_{step}")
    r = _cli("lineage", str(run), "--out", str(tmp_path / "lin"), "--quiet")
    assert r.returncode == 2 and "trainer_0, trainer_1" in r.stderr and "--sae" in r.stderr
    assert not (tmp_path / "lin").exists()
    r = _cli("lineage", str(run), "--out", str(tmp_path / "lin"), "--quiet", "--sae",
             "trainer_1")
    assert r.returncode == 0, r.stderr
    rows = (tmp_path / "lin" / "lineage.csv").read_text().splitlines()
    assert len(rows) == 1 + 2 * 32                 # both checkpoints' 32 TopK latents
    r = _cli("compare", str(run / "step_100"), str(run / "step_200"), "--out",
             str(tmp_path / "cmp"), "--quiet", "--sae", "trainer_*")
    assert r.returncode == 2 and "matches 6 SAE folders" in r.stderr
    r = _cli("compare", str(run / "step_100"), str(run / "step_200"), "--out",
             str(tmp_path / "cmp"), "--quiet", "--sae", "trainer_4")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "cmp" / "matches.csv").read_text().count(",same") == 32


def test_verify_reads_a_sparsify_tree(tmp_path):
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "acts.npz", **{f"c{i}": rng.standard_normal((6, 16)).astype(np.float32)
                                       + 0.3 for i in range(4)})
    r = _cli("verify", "--sae", str(FIX / "sparsify" / "topk"), "--activations",
             str(tmp_path / "acts.npz"), "--features", "0-3", "--n-resamples", "99",
             "--json", str(tmp_path / "v.json"), "--quiet")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "v.json").read_text().count('"feature"') == 4


def _tree_run_with_probes(root: Path) -> Path:
    """Two checkpoints, each the dictionary_learning tree of six trainers, plus the probe
    activations ``analyze``/``ingest`` encode with the picked SAE."""
    rng = np.random.default_rng(1)
    concepts = np.array([f"c{i}" for i in range(24)])
    acts = (rng.standard_normal((24, 16)) + 0.3).astype(np.float32)
    for step in (100, 200):
        shutil.copytree(FIX / "dictionary_learning" / "all", root / f"step_{step}")
        np.savez(root / f"step_{step}" / "probe_activations.npz", concepts=concepts,
                 activations=acts)
    return root


def test_analyze_and_ingest_with_sae(tmp_path, graph_store):
    import json

    from ontochron.cli import main as cli_main
    from ontochron.graph.ingest import ingest

    run = _tree_run_with_probes(tmp_path / "run")
    out = tmp_path / "analysis"
    r = _cli("analyze", str(run), "--out", str(out), "--quiet", "--no-structure")
    assert r.returncode == 2 and "trainer_0, trainer_1" in r.stderr and "--sae" in r.stderr
    assert not out.exists()
    assert cli_main(["analyze", str(run), "--out", str(out), "--quiet", "--no-structure",
                     "--sae", "trainer_1"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["n_concepts"] == 24 and summary["lineage"]["counts"]["continue"] > 0
    # the same SAE picked through the Python API's ingest writes the same lineages
    report = ingest(run, run="tree", store=graph_store, progress=False,
                    config={"structure": False}, lineage_options={"sae": "trainer_1"})
    assert report.changed > 0
    n = graph_store.run("MATCH (f:Feature) WHERE f.run_id = 'tree' RETURN count(f) AS n")[0]["n"]
    assert n == summary["lineage"]["lineages"]
