"""`ontochron lineage` and `ontochron compare`: the file contracts on planted SAE folders,
and bad input giving one message, exit code 2 and nothing written."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from ontochron.cli import main
from ontochron.lineage.build import build_lineage
from ontochron.lineage.files import read_lineage
from ontochron.lineage.match import unit_rows
from tests.lineage_planted import WRITERS, _drift, _unit, csv_rows, planted

LAYOUT_CYCLE = ["saelens", "sparsify", "dictionary_learning", "gemmascope"]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("run")
    p = planted(d=128, n0=120, steps=4, seed=11, n_split=3, n_merge=3, n_birth=4, n_death=4)
    for t, W in enumerate(p.decoders):
        WRITERS[LAYOUT_CYCLE[t]](root / f"checkpoint-{t * 500}", W.astype(np.float32))
    return root, p


def test_lineage_cli_file_contract(run_dir, tmp_path, capsys):
    root, p = run_dir
    out = tmp_path / "lin"
    assert main(["lineage", str(root), "--out", str(out), "--quiet"]) == 0
    assert capsys.readouterr().err == ""
    header, rows = csv_rows(out / "lineage.csv")
    assert header == ["step", "index", "feature"]
    assert len(rows) == sum(W.shape[0] for W in p.decoders)
    header, events = csv_rows(out / "lineage_events.csv")
    assert header == ["kind", "step", "source", "target"]
    kinds = {r[0] for r in events}
    assert kinds == {"birth", "death", "split", "merge"}
    for kind, step, src, tgt in events:
        assert (src == "") == (kind == "birth") and (tgt == "") == (kind == "death")
        assert step != "0"  # the first checkpoint's latents are initial, not births
    header, drift = csv_rows(out / "drift.csv")
    assert header == ["step", "feature", "index", "cos_prev", "cos_first", "turned"]
    summary = json.loads((out / "summary.json").read_text())
    assert set(summary["counts"]) == {"birth", "death", "split", "merge", "continue"}
    for kind in ("birth", "death", "split", "merge"):
        assert summary["counts"][kind] == sum(r[0] == kind for r in events)
    assert summary["initial"] == p.decoders[0].shape[0]
    assert summary["steps"] == [0, 500, 1000, 1500]
    assert summary["null"]["kind"] == "both" and 0 < summary["threshold"] < 1
    assert summary["split_events"] == 9 and summary["merge_events"] == 9  # 3 per step
    # the same lineage as the in-process build on the same directions
    lin = build_lineage((s, unit_rows(W)) for s, W in zip((0, 500, 1000, 1500), p.decoders,
                                                            strict=True))
    assert [f.tolist() for f in read_lineage(out).features] == [f.tolist() for f in lin.features]
    assert summary["lineages"] == lin.n_lineages


def test_lineage_cli_whole_process_and_progress(run_dir, tmp_path):
    root, _ = run_dir
    out = tmp_path / "lin2"
    res = subprocess.run([sys.executable, "-m", "ontochron", "lineage", str(root), "--out",
                          str(out), "--null", "random", "--null-alpha", "0.01"],
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    assert "lineages over 4 checkpoints" in res.stderr
    s = json.loads((out / "summary.json").read_text())
    assert s["null"]["kind"] == "random" and s["null"]["alpha"] == 0.01


def test_lineage_cli_bad_input_writes_nothing(tmp_path, capsys):
    root = tmp_path / "bad"
    W = unit_rows(np.random.default_rng(0).standard_normal((10, 8)))
    WRITERS["saelens"](root / "step_0", W)
    WRITERS["saelens"](root / "step_1", W, W_enc=np.zeros((3, 3)))
    out = tmp_path / "out"
    assert main(["lineage", str(root), "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "sae_weights.safetensors" in err and "'W_enc'" in err and "Traceback" not in err
    assert not out.exists() and not list(tmp_path.glob(".out.tmp-*"))
    good = tmp_path / "good"
    WRITERS["saelens"](good / "step_0", W)
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "mine.txt").write_text("keep")
    assert main(["lineage", str(good), "--out", str(foreign), "--quiet"]) == 2
    assert (foreign / "mine.txt").read_text() == "keep"
    assert main(["lineage", str(tmp_path / "nope"), "--out", str(out), "--quiet"]) == 2


def _pair(tmp_path):
    """B = A shuffled and drifted, with latent 0 split in two, latents 1 and 2 merged and
    five new latents; A's latents 3 and 4 have no partner."""
    rng = np.random.default_rng(2)
    A = unit_rows(rng.standard_normal((60, 128)))
    rows = [_drift(A[i], 0.9, rng) for i in range(5, 60)]
    rows += [_drift(A[0], 0.72, rng), _drift(A[0], 0.72, rng), _unit(A[1] + A[2])]
    rows += list(unit_rows(rng.standard_normal((5, 128))))
    perm = rng.permutation(len(rows))
    B = np.asarray(rows)[perm]
    pos = np.argsort(perm)
    WRITERS["saelens"](tmp_path / "sae_a", A.astype(np.float32))
    WRITERS["sparsify"](tmp_path / "sae_b", B.astype(np.float32))
    return pos


def test_compare_cli_contract(tmp_path):
    pos = _pair(tmp_path)
    out = tmp_path / "cmp"
    assert main(["compare", str(tmp_path / "sae_a"), str(tmp_path / "sae_b"), "--out",
                 str(out), "--quiet"]) == 0
    header, rows = csv_rows(out / "matches.csv")
    assert header == ["a", "b", "cosine", "kind"]
    got = {(int(a), int(b), k) for a, b, _, k in rows}
    expect = {(i, int(pos[i - 5]), "same") for i in range(5, 60)}
    expect |= {(0, int(pos[55]), "split"), (0, int(pos[56]), "split"),
               (1, int(pos[57]), "merge"), (2, int(pos[57]), "merge")}
    assert got == expect
    assert all(0 < float(c) <= 1 for _, _, c, _ in rows)
    s = json.loads((out / "summary.json").read_text())
    assert s["shared_fraction_a"] == pytest.approx(55 / 60)
    assert s["shared_fraction_b"] == pytest.approx(55 / 63)
    assert (s["orphans_a"], s["orphans_b"], s["splits"], s["merges"]) == (2, 5, 1, 1)
    assert 0 < s["threshold"] < 0.9


def test_compare_cli_bad_input(tmp_path, capsys):
    _pair(tmp_path)
    out = tmp_path / "cmp"
    args = ["compare", str(tmp_path / "sae_a"), str(tmp_path / "sae_b"), "--out", str(out)]
    assert main([*args, "--run-a", "x"]) == 2
    assert "--run-a and --run-b go together" in capsys.readouterr().err
    WRITERS["saelens"](tmp_path / "narrow", np.ones((4, 7), np.float32))
    assert main(["compare", str(tmp_path / "sae_a"), str(tmp_path / "narrow"), "--out",
                 str(out)]) == 2
    assert "d_in is 7, but 128" in capsys.readouterr().err
    assert not out.exists()


def _fixed_run(n_features: int, seed: int):
    """A small fixed-dictionary run with ``n_features`` columns (feature == index)."""
    from ontochron.ingest.snapshot import CodeStack, Snapshot

    rng = np.random.default_rng(seed)
    concepts = [f"c{i}" for i in range(12)]
    return CodeStack.from_snapshots([Snapshot.create(s, concepts, rng.random((12, n_features)) < 0.2)
                                     for s in (0, 10)])


def test_compare_writes_same_as_between_two_runs_in_the_store(graph_store, store_target,
                                                              tmp_path, monkeypatch):
    """`compare --run-a --run-b` writes one SAME_AS per `same` row of matches.csv, between
    the right Features, and a re-run changes nothing."""
    from ontochron.graph.ingest import ingest

    pos = _pair(tmp_path)
    ingest(_fixed_run(60, 0), run="A", store=graph_store, progress=False)
    ingest(_fixed_run(63, 1), run="B", store=graph_store, progress=False)
    monkeypatch.setenv("NEO4J_USERNAME", store_target.username or "")
    monkeypatch.setenv("NEO4J_PASSWORD", store_target.password or "")
    args = ["compare", str(tmp_path / "sae_a"), str(tmp_path / "sae_b"), "--out",
            str(tmp_path / "cmp"), "--quiet", "--run-a", "A", "--run-b", "B",
            "--store", store_target.uri]
    if store_target.database:
        args += ["--database", store_target.database]
    for _ in range(2):  # idempotent
        assert main(args) == 0
        rows = graph_store.run(
            "MATCH (a:Feature {run_id: 'A'})-[r:SAME_AS]->(b:Feature {run_id: 'B'}) "
            "RETURN a.index AS a, b.index AS b, r.kind AS kind")
        same = {(r["a"], r["b"]) for r in rows if r["kind"] == "same"}
        assert same == {(i, int(pos[i - 5])) for i in range(5, 60)}
