"""``ontochron verify --sae DIR --activations FILE.npz`` end to end through the CLI: a
SAELens-style folder whose features are causal for a known subset by construction (features
with a zero decoder row change nothing when ablated; one feature is on for every concept and
cannot be tested), the printed table and list, the JSON report, the merged summary.json, the
CausalTest nodes on a stored run, and clear exit-2 errors on bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import save_file

from ontochron.cli import main
from ontochron.graph.ingest import ingest
from ontochron.ingest.extractors import SAEExtractor
from ontochron.ingest.snapshot import CodeStack

D_IN, D_SAE, N_INPUTS = 8, 6, 6
# concept x feature ownership. Features 0-2 have a decoder row and differ across concepts:
# causal. Features 3, 4 have a zero decoder row (ablating them changes nothing): not causal.
# Feature 5 is on for every concept: untestable (no "other" concepts).
OWN = np.array([[1, 0, 0, 1, 0, 1],
                [1, 1, 0, 0, 1, 1],
                [0, 1, 0, 1, 1, 1],
                [0, 0, 1, 0, 0, 1],
                [0, 1, 1, 1, 0, 1],
                [0, 0, 0, 0, 1, 1]], dtype=bool)
CONCEPTS = [f"concept {c}" for c in range(len(OWN))]
CAUSAL = [0, 1, 2]


def write_sae(folder: Path) -> Path:
    """Standard (ReLU) SAE: latent f = relu(x_f - 0.5), decoder rows e_f for f < 3, else 0."""
    folder.mkdir()
    w_enc = np.zeros((D_IN, D_SAE), dtype=np.float32)
    w_enc[np.arange(D_SAE), np.arange(D_SAE)] = 1.0
    w_dec = np.zeros((D_SAE, D_IN), dtype=np.float32)
    w_dec[np.arange(3), np.arange(3)] = 1.0
    save_file({"W_enc": w_enc, "b_enc": np.full(D_SAE, -0.5, dtype=np.float32),
               "W_dec": w_dec, "b_dec": np.zeros(D_IN, dtype=np.float32)},
              str(folder / "sae_weights.safetensors"))
    (folder / "cfg.json").write_text(json.dumps({"d_in": D_IN, "d_sae": D_SAE,
                                                  "architecture": "standard"}))
    return folder


def write_activations(path: Path) -> Path:
    """Per concept, N_INPUTS inputs with x_f in [0.9, 1.1] where the concept owns f and in
    [-0.1, 0.1] elsewhere, so every input's code is exactly the concept's row of OWN."""
    rng = np.random.default_rng(0)
    clean = np.zeros((len(OWN), D_IN), dtype=np.float32)
    clean[:, :D_SAE] = OWN
    np.savez(path, **{name: clean[c] + rng.uniform(-0.1, 0.1, (N_INPUTS, D_IN))
                      .astype(np.float32) for c, name in enumerate(CONCEPTS)})
    return path


@pytest.fixture
def sae_case(tmp_path):
    return write_sae(tmp_path / "sae"), write_activations(tmp_path / "acts.npz")


def expected_effects(sae_dir: Path, acts_file: Path) -> dict[int, tuple[float, float]]:
    """Brute force: mean L2 change of the reconstruction on own / other inputs per feature
    (zero-ablation of latent f changes the reconstruction by z_f * W_dec[f])."""
    sae = SAEExtractor.from_saelens(sae_dir)
    with np.load(acts_file) as z:
        acts = {k: z[k] for k in z.files}
    out = {}
    for f in range(D_SAE):
        own, other = [], []
        for c, name in enumerate(CONCEPTS):
            _, lat = sae.encode(acts[name])
            change = [abs(float(v)) * float(np.linalg.norm(sae.W_dec[f])) for v in lat[:, f]]
            (own if OWN[c, f] else other).extend(change)
        out[f] = (float(np.mean(own)), float(np.mean(other)) if other else float("nan"))
    return out


def test_verify_sae_finds_the_planted_causal_features(sae_case, tmp_path, capsys):
    sae_dir, acts = sae_case
    summary = tmp_path / "summary.json"
    summary.write_text(json.dumps({"run": "keep me"}))
    out_json = tmp_path / "report.json"
    rc = main(["verify", "--sae", str(sae_dir), "--activations", str(acts), "--at", "700",
               "--n-resamples", "199", "--json", str(out_json), "--summary", str(summary)])
    assert rc == 0
    printed = capsys.readouterr().out
    assert f"3 of {D_SAE} features causal: {CAUSAL}" in printed
    assert "causal tests at step 700 (sae_zero_ablation" in printed
    report = json.loads(out_json.read_text())
    assert report["causal_features"] == CAUSAL and report["n_causal"] == 3
    assert report["step"] == 700 and report["method"] == "sae_zero_ablation"
    assert report["n_tested"] == D_SAE and report["n_resamples"] == 199
    tests = {t["feature"]: t for t in report["tests"]}
    want = expected_effects(sae_dir, acts)
    for f in range(5):
        own, other = want[f]
        assert tests[f]["n_own"] == N_INPUTS * OWN[:, f].sum()
        assert tests[f]["mean_own"] == pytest.approx(own, rel=1e-5, abs=1e-6)
        assert tests[f]["effect"] == pytest.approx(own - other, rel=1e-5, abs=1e-6)
    assert all(tests[f]["causal"] and tests[f]["q"] <= 0.05 for f in CAUSAL)
    assert all(tests[f]["effect"] == 0 and tests[f]["p"] == 1 for f in (3, 4))
    assert tests[5]["p"] is None and not tests[5]["causal"]  # on for every concept
    merged = json.loads(summary.read_text())
    assert merged["run"] == "keep me" and merged["causal"] == report


def test_verify_sae_subset_of_features_quiet(sae_case, tmp_path, capsys):
    sae_dir, acts = sae_case
    out_json = tmp_path / "r.json"
    assert main(["verify", "--sae", str(sae_dir), "--activations", str(acts), "--quiet",
                 "--features", "1-3", "--n-resamples", "99", "--json", str(out_json)]) == 0
    assert capsys.readouterr().out == ""
    report = json.loads(out_json.read_text())
    assert [t["feature"] for t in report["tests"]] == [1, 2, 3]
    assert report["causal_features"] == [1, 2] and report["step"] == 0


def test_verify_sae_writes_causal_tests_onto_a_stored_run(sae_case, graph_store, bolt_server,
                                                          monkeypatch, capsys):
    sae_dir, acts = sae_case
    with np.load(acts) as z:
        snap = SAEExtractor.from_saelens(sae_dir).snapshot(700, {k: z[k] for k in z.files})
    ingest(CodeStack.from_snapshots([snap]), run="sae run", store=graph_store, progress=False)
    monkeypatch.setenv("NEO4J_USERNAME", bolt_server.username)
    monkeypatch.setenv("NEO4J_PASSWORD", bolt_server.password)
    rc = main(["verify", "--sae", str(sae_dir), "--activations", str(acts), "--at", "700",
               "--n-resamples", "99", "--quiet", "--run", "sae run",
               "--store", bolt_server.bolt_uri, "--database", bolt_server.database])
    assert rc == 0
    got = graph_store.run("MATCH (t:CausalTest)-[:TESTS]->(f) WHERE t.run_id = $run "
                          "MATCH (t)-[:AT]->(k) "
                          "RETURN f.index AS f, t.causal AS causal, k.step AS step",
                          run="sae run")
    assert sorted(r["f"] for r in got) == list(range(D_SAE))
    assert sorted(r["f"] for r in got if r["causal"]) == CAUSAL
    assert {r["step"] for r in got} == {700}
    assert bolt_server.password not in capsys.readouterr().err


def _err(argv: list[str], capsys) -> str:
    rc = main(argv)
    err = capsys.readouterr().err
    assert rc == 2, err
    return err


def test_missing_activations_is_a_clear_error(sae_case, capsys):
    sae_dir, _ = sae_case
    err = _err(["verify", "--sae", str(sae_dir), "--quiet"], capsys)
    assert "ontochron verify: error:" in err and "--activations" in err
    assert "Traceback" not in err
    err = _err(["verify", "--demo-checkpoints", str(sae_dir), "--activations", "x.npz"],
               capsys)
    assert "--activations only applies with --sae" in err


@pytest.mark.parametrize("breakage,message", [
    ("missing", "SAE folder does not exist"),
    ("no cfg", "missing cfg.json"),
    ("bad json", "not valid JSON"),
    ("no weights", "expected sae_weights.safetensors"),
    ("wrong shape", "key 'd_in' is 9"),
])
def test_bad_sae_folder_is_a_clear_error(sae_case, tmp_path, capsys, breakage, message):
    sae_dir, acts = sae_case
    if breakage == "missing":
        sae_dir = tmp_path / "nowhere"
    elif breakage == "no cfg":
        (sae_dir / "cfg.json").unlink()
    elif breakage == "bad json":
        (sae_dir / "cfg.json").write_text("{not json")
    elif breakage == "no weights":
        (sae_dir / "sae_weights.safetensors").unlink()
    else:
        (sae_dir / "cfg.json").write_text(json.dumps({"d_in": D_IN + 1, "d_sae": D_SAE}))
    err = _err(["verify", "--sae", str(sae_dir), "--activations", str(acts), "--quiet"],
               capsys)
    assert message in err and str(sae_dir) in err and "Traceback" not in err


@pytest.mark.parametrize("content,message", [
    (None, "cannot read activations"),
    (b"not an npz file", "cannot read activations"),
    ("npy", "must be an .npz archive"),
    ("pickled", "cannot read activations"),
    ("strings", "expected numbers of shape (n_inputs, 8)"),
    ("empty", "no concept arrays"),
    ("wrong width", "concept 'a': expected numbers of shape (n_inputs, 8) or (8,)"),
    ("nan", "NaN"),
])
def test_bad_activations_file_is_a_clear_error(sae_case, tmp_path, capsys, content, message):
    sae_dir, _ = sae_case
    path = tmp_path / "bad.npz"
    if content == "npy":
        path = tmp_path / "bad.npy"
        np.save(path, np.zeros((3, D_IN)))
    elif content == "empty":
        np.savez(path)
    elif content == "pickled":
        np.savez(path, a=np.array([{"x": 1}], dtype=object))
    elif content == "strings":
        np.savez(path, a=np.array(["x"] * D_IN))
    elif content == "wrong width":
        np.savez(path, a=np.ones((4, D_IN + 2)), b=np.zeros((4, D_IN + 2)))
    elif content == "nan":
        np.savez(path, a=np.full((4, D_IN), np.nan), b=np.zeros((4, D_IN)))
    elif content is not None:
        path.write_bytes(content)
    err = _err(["verify", "--sae", str(sae_dir), "--activations", str(path), "--quiet"],
               capsys)
    assert message in err and str(path) in err and "Traceback" not in err
