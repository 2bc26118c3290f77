"""The ``analyze`` CLI and ``write_outputs``: files and their columns, counts that match the
API, atomic writes, Parquet copies, exit codes, and one real subprocess run."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import ontochron.outputs as outputs
from ontochron.cli import main
from ontochron.ingest.readers import load_stack, save_npz
from ontochron.ontology import OntologyConfig, analyze
from ontochron.ontology.intervals import OPEN
from tests.synthetic import planted_groups, stack_from_csr

ROOT = Path(__file__).resolve().parents[1]


def _stack():
    """6 checkpoints: two planted groups that persist, codes drifting, one concept leaving."""
    rng = np.random.default_rng(5)
    codes, _ = planted_groups(2, 4, 60, core=8, noise=4, n_loners=6, seed=5)
    dense = codes.toarray()
    frames, present = [], np.ones((6, dense.shape[0]), dtype=bool)
    present[3:, -1] = False
    import scipy.sparse as sp
    for t in range(6):
        flip = rng.random(dense.shape) < 0.02
        dense = dense ^ flip
        frames.append(sp.csr_array(dense & present[t][:, None]))
    return stack_from_csr([0, 50, 100, 150, 200, 250], frames, present,
                          names=[f"concept,{i}" if i == 0 else f"k{i}"
                                 for i in range(dense.shape[0])])


@pytest.fixture(scope="module")
def run_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("in") / "run.npz"
    save_npz(_stack(), path)
    return path


def _read(path):
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_cli_writes_outputs_matching_the_api(run_file, tmp_path):
    out = tmp_path / "out"
    # this small run's groups are too small to beat the default BiCM null; the
    # hypergeometric one connects them (tests/test_bicm.py covers the BiCM)
    rc = main(["analyze", str(run_file), "--out", str(out), "--quiet", "--no-structure",
               "--alpha", "0.05", "--connection-null", "hypergeometric"])
    assert rc == 0
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["summary.json", "events.csv", "relations.csv", "activations.csv", "curves.csv",
         "features.csv"])
    ont = analyze(load_stack(run_file),
                  OntologyConfig(structure=False, connection_null="hypergeometric"),
                  progress=False)
    summary = json.loads((out / "summary.json").read_text())
    for key in ("births", "deaths", "connections", "phase_transitions", "duals",
                "dependencies", "triads", "n_steps", "n_concepts", "n_features"):
        assert summary[key] == ont.summary[key], key
    assert summary["connections"] > 0 and summary["deaths"] > 0
    events = _read(out / "events.csv")
    assert list(events[0]) == ["kind", "step", "concept", "feature", "detail"]
    assert sum(e["kind"] == "birth" for e in events) == summary["births"]
    birth = next(e for e in events if e["kind"] == "birth")
    assert birth["concept"] in ont.concepts and birth["feature"].isdigit()
    assert "concept,0" in {e["concept"] for e in events}  # names with commas survive
    conn = next(e for e in events if e["kind"] == "connection_form")
    assert json.loads(conn["detail"])["b"] in ont.concepts and conn["feature"] == ""
    rel = _read(out / "relations.csv")
    assert list(rel[0])[:6] == ["kind", "a", "b", "c", "valid_from", "valid_to"]
    assert {"shared", "jaccard", "p_value", "q_value"} <= set(rel[0])
    n_open = sum(r["valid_to"] == "" for r in rel if r["kind"] == "connection")
    assert n_open == int(np.count_nonzero(ont.relations.of_kind("connection").valid_to == OPEN))
    assert all(r["c"] == "" and r["a"] in ont.concepts for r in rel)
    acts = _read(out / "activations.csv")
    assert len(acts) == len(ont.activations)
    curves = _read(out / "curves.csv")
    assert [int(r["step"]) for r in curves] == [0, 50, 100, 150, 200, 250]
    np.testing.assert_allclose([float(r["churn"]) for r in curves], ont.curves["churn"])
    feats = _read(out / "features.csv")
    assert len(feats) == 60 and {"birth_step", "death_step", "stability"} <= set(feats[0])


def test_parquet_copies(run_file, tmp_path):
    import pyarrow.parquet as pq

    out = tmp_path / "pq"
    assert main(["analyze", str(run_file), "--out", str(out), "--quiet", "--no-structure",
                 "--parquet", "--connection-null", "hypergeometric"]) == 0
    for name in ("events", "relations", "activations", "curves", "features"):
        table = pq.read_table(out / f"{name}.parquet")
        assert table.num_rows == len(_read(out / f"{name}.csv"))
    ev = pq.read_table(out / "events.parquet").to_pydict()
    assert ev["feature"][ev["kind"].index("connection_form")] is None


def test_write_is_atomic(run_file, tmp_path, monkeypatch):
    ont = analyze(load_stack(run_file), OntologyConfig(structure=False), progress=False)
    out = tmp_path / "atomic"
    first = outputs.write_outputs(ont, out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    assert set(before) == {p.name for p in first.values()}
    calls = {"n": 0}
    real = outputs._write_csv

    def failing(path, cols):
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError("disk full")
        real(path, cols)

    monkeypatch.setattr(outputs, "_write_csv", failing)
    with pytest.raises(OSError, match="disk full"):
        outputs.write_outputs(ont, out)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # old outputs intact
    fresh = tmp_path / "fresh"
    calls["n"] = 0
    with pytest.raises(OSError):
        outputs.write_outputs(ont, fresh)
    assert not fresh.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["atomic"]  # no temp dirs left


def test_refuses_foreign_directory(run_file, tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    rc = main(["analyze", str(run_file), "--out", str(out), "--quiet", "--no-structure"])
    assert rc == 2 and (out / "notes.txt").read_text() == "keep me"


def test_bad_input_exit_codes(tmp_path, capsys):
    assert main(["analyze", str(tmp_path / "missing.npz"), "--out", str(tmp_path / "o"),
                 "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "missing.npz" in err and err.count("\n") == 1
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip")
    assert main(["analyze", str(bad), "--out", str(tmp_path / "o"), "--quiet"]) == 2
    assert "bad.npz" in capsys.readouterr().err
    assert main(["analyze", str(bad), "--out", str(tmp_path / "o"), "--alpha", "2"]) == 2
    assert "alpha" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_structure_and_summary_table(run_file, tmp_path, capsys):
    out = tmp_path / "s"
    assert main(["analyze", str(run_file), "--out", str(out), "--min-support", "2"]) == 0
    printed = capsys.readouterr().out
    assert "births" in printed and "connections" in printed
    summary = json.loads((out / "summary.json").read_text())
    assert summary["structure"] is True
    assert summary["thresholds"]["structure_config"]["min_support"] == 2
    rel = _read(out / "relations.csv")
    for kind, key in (("dual", "duals"), ("dependency", "dependencies"), ("triad", "triads")):
        assert summary[key] == sum(r["kind"] == kind and r["valid_to"] == "" for r in rel)
    assert "layer" in _read(out / "features.csv")[0]


def test_subprocess_run(run_file, tmp_path):
    out = tmp_path / "sub"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    ok = subprocess.run([sys.executable, "-m", "ontochron", "analyze", str(run_file), "--out",
                         str(out), "--quiet", "--no-structure"], capture_output=True, text=True,
                        env=env, cwd=tmp_path, timeout=120)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout == "" and ok.stderr == ""
    assert json.loads((out / "summary.json").read_text())["n_steps"] == 6


def test_compat_mode_delegates(run_file, tmp_path):
    out = tmp_path / "compat"
    assert main(["analyze", str(run_file), "--out", str(out), "--quiet", "--compat",
                 "reptimeline"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["mode"] == "reptimeline" and summary["n_steps"] == 6
    assert len(_read(out / "events.csv")) >= summary["births"] > 0


def test_connection_null_and_structure_at_flags(run_file, tmp_path):
    """Defaults (auto null: FDSM on these 14 concepts; structure at every checkpoint) and the
    two overrides reach the
    analysis and are recorded in summary.json (tests/test_structure.py checks what
    ``at="last"`` finds)."""
    base, last = tmp_path / "default", tmp_path / "last"
    assert main(["analyze", str(run_file), "--out", str(base), "--quiet"]) == 0
    assert main(["analyze", str(run_file), "--out", str(last), "--quiet",
                 "--structure-at", "last", "--connection-null", "hypergeometric"]) == 0
    s_base = json.loads((base / "summary.json").read_text())
    s_last = json.loads((last / "summary.json").read_text())
    assert s_base["thresholds"]["connection_null"] == "auto"
    assert s_base["power"]["connection"]["nulls"] == {"fdsm": 6}
    assert s_last["power"]["connection"]["nulls"] == {"hypergeometric": 6}
    assert s_last["thresholds"]["connection_null"] == "hypergeometric"
    assert s_base["thresholds"]["structure_config"]["at"] == "all"
    assert s_last["thresholds"]["structure_config"]["at"] == "last"
    # both find the planted pairs (2 groups of 4: 12); under the BiCM this small code has
    # less power (the finite-population effect the FDSM removes, docs/definitions.md)
    assert s_last["connections"] >= s_base["connections"] >= 12
    with pytest.raises(SystemExit) as exc:  # argparse: usage message, exit code 2
        main(["analyze", str(run_file), "--out", str(tmp_path / "bad"), "--quiet",
              "--structure-at", "first"])
    assert exc.value.code == 2 and not (tmp_path / "bad").exists()


def _cells(path):
    """CSV cells with numbers as floats (the two writers spell 8 as "8" or "8.0")."""
    def norm(v):
        try:
            return float(v)
        except ValueError:
            return v
    with open(path, newline="", encoding="utf-8") as fh:
        return [[norm(v) for v in row] for row in csv.reader(fh)]


@pytest.mark.parametrize("compat", [None, "reptimeline"])
def test_csv_fallback_without_pyarrow_writes_the_same_tables(run_file, tmp_path, monkeypatch,
                                                             compat):
    """Without pyarrow (an optional extra) the csv-module writer gives the same cells."""
    stack = load_stack(run_file)
    ont = analyze(stack, OntologyConfig(), compat=compat, progress=False)
    with_arrow = outputs.write_outputs(ont, tmp_path / "arrow")
    monkeypatch.setattr(outputs, "pa_csv", None)
    plain = outputs.write_outputs(ont, tmp_path / "plain")
    names = [n for n in with_arrow if n.endswith(".csv")]
    assert len(names) == 5
    for name in names:
        a, b = _cells(with_arrow[name]), _cells(plain[name])
        assert len(a) > 1 and a == b, name
