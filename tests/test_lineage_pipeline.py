"""Codes in lineage space: per-checkpoint SAEs with probe activations, encoded with each
checkpoint's own SAE and re-indexed into lineage ids, through load_aligned, analyze and
ingest into the embedded store."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ontochron.cli import main
from ontochron.errors import InputError
from ontochron.graph.ingest import ingest
from ontochron.lineage.files import read_lineage
from ontochron.lineage.pipeline import load_aligned
from tests.lineage_planted import WRITERS, _drift, _unit

D, N, C = 128, 40, 12


def write_probe_run(root, seed=0, steps=(0, 100, 200), probe_shape="3d"):
    """N latents drifting slowly, rows shuffled per checkpoint; concept c is the direction of
    true latent c (plus noise); each SAE encodes with W_enc = W_dec.T, b_enc = -0.5. Returns
    the true-latent -> row permutation of each checkpoint."""
    rng = np.random.default_rng(seed)
    cur = np.stack([_unit(rng.standard_normal(D)) for _ in range(N)])
    concepts = np.array([f"concept_{c}" for c in range(C)])
    rows_of = []
    for t, step in enumerate(steps):
        if t:
            cur = np.stack([_drift(v, 0.97, rng) for v in cur])
        perm = rng.permutation(N)  # row r holds true latent perm[r]
        W = cur[perm].astype(np.float32)
        folder = root / f"step_{step}"
        WRITERS["saelens"](folder, W, b_enc=np.full(N, -0.5))
        noise = 0.02 * rng.standard_normal((C, 3, D))
        acts = cur[:C][:, None, :] + noise
        if probe_shape == "2d":
            acts = acts[:, 0]
        np.savez(folder / "probe_activations.npz", concepts=concepts,
                 activations=acts.astype(np.float32))
        rows_of.append(np.argsort(perm))
    return rows_of


def test_load_aligned_reindexes_codes_into_lineages(tmp_path):
    rows_of = write_probe_run(tmp_path)
    stack, lin, src = load_aligned(tmp_path)
    assert lin is not None and stack.n_features == lin.n_lineages == N
    assert src == str(tmp_path.absolute())
    for t in range(3):
        codes = stack.dense(t)
        for c in range(C):
            # concept c fires exactly the lineage of true latent c, at the same id every step
            assert np.nonzero(codes[c])[0].tolist() == [int(lin.features[0][rows_of[0][c]])]
            assert lin.features[t][rows_of[t][c]] == lin.features[0][rows_of[0][c]]
    # without alignment the raw indices change from step to step
    assert any(rows_of[1][c] != rows_of[0][c] for c in range(C))


def test_load_aligned_2d_probes_and_other_sources(tmp_path):
    write_probe_run(tmp_path / "run", probe_shape="2d")
    stack, lin, _ = load_aligned(tmp_path / "run")
    assert lin is not None and stack.n_concepts == C
    with pytest.raises(InputError, match="probe_activations.npz"):
        (tmp_path / "run" / "step_100" / "probe_activations.npz").unlink()
        load_aligned(tmp_path / "run")
    bad = tmp_path / "bad"
    write_probe_run(bad)
    np.savez(bad / "step_0" / "probe_activations.npz", concepts=np.array(["a"]),
             activations=np.zeros((1, D + 1), np.float32))
    with pytest.raises(InputError, match=r"'activations' must be floats") as exc:
        load_aligned(bad)
    assert exc.value.path.endswith("probe_activations.npz")


def test_analyze_writes_lineage_files(tmp_path):
    write_probe_run(tmp_path / "run")
    out = tmp_path / "analysis"
    assert main(["analyze", str(tmp_path / "run"), "--out", str(out), "--quiet",
                 "--no-structure"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["lineage"]["lineages"] == N and summary["n_features"] == N
    assert summary["lineage"]["counts"]["continue"] == 2 * N
    lin = read_lineage(out)
    assert lin.n_lineages == N and lin.steps.tolist() == [0, 100, 200]
    for name in ("lineage.csv", "lineage_events.csv", "drift.csv", "events.csv"):
        assert (out / name).is_file()
    # aligned codes: no feature is born or dies after the first checkpoint
    import csv
    with open(out / "events.csv", newline="") as fh:
        ev = [r for r in csv.DictReader(fh) if r["kind"] in ("birth", "death")]
    assert ev and all(r["step"] == "0" for r in ev)


def test_ingest_dictionary_run(tmp_path, graph_store):
    write_probe_run(tmp_path / "run")
    report = ingest(tmp_path / "run", run="sae_run", store=graph_store, progress=False,
                    config={"structure": False})
    assert report.changed > 0
    run = graph_store.run("MATCH (r:Run {run_id: 'sae_run'}) RETURN r.n_features AS n, r.steps AS s")[0]
    assert run["n"] == N and run["s"] == [0, 100, 200]


def test_probe_names_must_be_valid_unicode(tmp_path, capsys):
    """A probe concept name with a lone surrogate is refused when the probe file is read
    (one line naming the file, exit 2, nothing written), not by an encoder much later."""
    write_probe_run(tmp_path / "run")
    bad = tmp_path / "run" / "step_100" / "probe_activations.npz"
    with np.load(bad) as z:
        concepts, acts = z["concepts"].copy(), z["activations"]
    concepts = concepts.astype(object)
    concepts[1] = "concept_\udc80"
    np.savez(bad, concepts=concepts.astype(str), activations=acts)
    out = tmp_path / "analysis"
    assert main(["analyze", str(tmp_path / "run"), "--out", str(out), "--quiet",
                 "--no-structure"]) == 2
    err = capsys.readouterr().err
    assert "probe_activations.npz" in err and "not valid Unicode" in err
    assert len(err.strip().splitlines()) == 1
    assert not out.exists()
