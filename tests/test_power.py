"""Power reporting: the BH discovery bound against brute force, the margin bounds against
every test's exact extreme p-value, and the 10-concept x 32-bit case (as MNIST digit
classes) where native mode finds nothing and now says why, once, in the CLI and in
summary.json."""

from __future__ import annotations

import json

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.stats import hypergeom

from ontochron.cli import main
from ontochron.ingest.readers import save_npz
from ontochron.ontology import OntologyConfig, analyze
from ontochron.ontology.connections import ConnectionTracker
from ontochron.ontology.power import bh_power
from ontochron.ontology.structure import StructureConfig, detect_step
from tests.synthetic import planted_groups, stack_from_dense


def _brute_bh_power(levels, counts, m, alpha):
    bounds = np.repeat(levels, counts)
    feasible = [k for k in range(1, m + 1) if np.count_nonzero(bounds <= k * alpha / m) >= k]
    return (max(feasible) if feasible else 0), (min(feasible) if feasible else 0)


@pytest.mark.parametrize("seed", range(8))
def test_bh_power_equals_brute_force(seed):
    rng = np.random.default_rng(seed)
    u = int(rng.integers(1, 8))
    levels = 10.0 ** rng.uniform(-6, 0.2, u)
    counts = rng.integers(0, 30, u)
    m = int(counts.sum() + rng.integers(0, 200))
    alpha = float(rng.choice([0.01, 0.05, 0.2]))
    min_p, max_k, min_k = bh_power(levels, counts, m, alpha)
    assert (max_k, min_k) == _brute_bh_power(np.minimum(levels, 1.0), counts, m, alpha)
    live = (counts > 0) & (levels < 1)
    assert min_p == (levels[live].min() if live.any() else 1.0)


def _codes(seed, n=12, f=14, p=0.4):
    rng = np.random.default_rng(seed)
    return sp.csr_array(rng.random((n, f)) < p)


@pytest.mark.parametrize("seed", range(4))
def test_structure_bounds_are_below_every_tests_extreme_p(seed):
    """The margin bound of each family is at most the exact extreme p-value of each of its
    tests (computed with scipy for every pair), and equal to their minimum for duals and
    dependencies (their effect filters allow every margin pair here)."""
    codes = _codes(seed)
    cfg = StructureConfig(min_support=1, dual_max_phi=-0.01, dep_confidence=0.01)
    res = detect_step(codes, cfg)
    x = codes.toarray()
    n_total = x.shape[0]
    n = x.sum(0)
    t = np.flatnonzero((n >= 1) & (n < n_total))
    dual_min, dep_min = 1.0, 1.0
    for a in t:
        for b in t:
            if a == b:
                continue
            dep_min = min(dep_min, hypergeom.pmf(min(n[a], n[b]), n_total, n[b], n[a]))
            if a < b:
                low = max(0, n[a] + n[b] - n_total)
                dual_min = min(dual_min, hypergeom.cdf(low, n_total, n[a], n[b]))
    np.testing.assert_allclose(res.power["dual"].min_p, dual_min, rtol=1e-9)
    np.testing.assert_allclose(res.power["dependency"].min_p, dep_min, rtol=1e-9)
    assert res.power["dual"].tests == res.n_tests["dual"]


def test_found_tests_respect_the_bounds():
    """On planted structure, every reported p is >= the family's smallest attainable p and
    the discoveries are within [min_discoveries, max_discoveries]."""
    rng = np.random.default_rng(3)
    x = rng.random((300, 40)) < 0.1
    x[:, 1] = x[:, 0] | (rng.random(300) < 0.05)  # dependency 0 -> 1
    x[:, 3] = ~x[:, 2] & (rng.random(300) < 0.9)   # dual 2, 3
    res = detect_step(sp.csr_array(x), StructureConfig())
    for fam, table in (("dual", res.duals), ("dependency", res.dependencies)):
        pw = res.power[fam]
        assert pw.discoveries == table["p"].size > 0
        assert np.all(table["p"] >= pw.min_p * (1 - 1e-9))
        assert pw.min_discoveries <= pw.discoveries <= pw.max_discoveries


def test_connection_bounds_against_brute_force():
    codes, _ = planted_groups(2, 5, 30, core=6, noise=3, n_loners=4, seed=2)
    n = codes.shape[0]
    k = np.diff(codes.indptr)
    m = n * (n - 1) // 2
    live = int(np.count_nonzero(np.bincount(codes.indices, minlength=30)))  # population
    assert live < 30  # never-on features are left out of the hypergeometric population
    lv = [hypergeom.pmf(min(k[a], k[b]), live, k[a], k[b])
          for a in range(n) for b in range(a + 1, n)]
    for null in ("hypergeometric", "bicm", "fdsm"):
        tr = ConnectionTracker(n, 30, 0.05, 1, null=null, null_samples=200)
        step = tr.compute(codes, np.ones(n, dtype=bool), 0)
        pw = step.power
        assert pw.tests == m and pw.null == null and pw.discoveries == step.keys.size
        assert np.all(step.stats["p_value"] >= pw.min_p * (1 - 1e-9))
        assert pw.discoveries <= pw.max_discoveries
        if null == "hypergeometric":
            np.testing.assert_allclose(pw.min_p, min(lv), rtol=1e-9)
            assert pw.max_discoveries == _brute_bh_power(np.array(lv), np.ones(m, int),
                                                         m, 0.05)[0]
        if null == "fdsm":
            assert pw.min_p == pytest.approx(1 / 201)


def _digit_stack():
    """10 concepts x 32 bits x 6 checkpoints, dense codes drifting slowly."""
    rng = np.random.default_rng(0)
    base = rng.random((10, 32)) < 0.5
    return stack_from_dense([(100 * t, [f"digit{i}" for i in range(10)],
                              base ^ (rng.random((10, 32)) < 0.05)) for t in range(6)])


def test_ten_concepts_say_why_nothing_is_found():
    ont = analyze(_digit_stack(), progress=False)
    fams = ont.power.families
    assert set(fams) == {"connection", "dual", "dependency", "triad"}
    for name, fp in fams.items():
        assert int(fp.discoveries.sum()) == 0, name
        assert fp.no_power or fp.weak, name
        assert fp.steps.size == 6 and np.all(fp.tests > 0)
    # with 10 concepts the structure families cannot pass BH with a single test
    for name in ("dual", "dependency", "triad"):
        assert np.all(fams[name].min_p > 0.05 / fams[name].tests)
    assert fams["triad"].no_power
    notes = ont.power.notes
    assert len(notes) == 4
    assert all("Remedy" in n and "--compat reptimeline" in n for n in notes)
    summary = ont.summary["power"]
    assert summary["triad"]["no_power"] is True
    assert "--compat reptimeline" in summary["triad"]["remedy"]
    assert summary["connection"]["nulls"] == {"fdsm": 6}
    assert len(summary["dual"]["per_checkpoint"]["tests"]) == 6
    assert summary["notes"] == notes


def test_cli_prints_each_note_once_and_writes_them(tmp_path, capsys):
    src = tmp_path / "digits.npz"
    save_npz(_digit_stack(), src)
    out = tmp_path / "out"
    assert main(["analyze", str(src), "--out", str(out)]) == 0
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.startswith("note: ")]
    assert len(lines) == 4
    for label in ("connections:", "duals:", "dependencies:", "triads:"):
        assert sum(ln.startswith(f"note: {label}") for ln in lines) == 1
    summary = json.loads((out / "summary.json").read_text())
    assert [f"note: {n}" for n in summary["power"]["notes"]] == lines


def test_ingest_report_carries_the_notes(graph_store):
    from ontochron.graph.ingest import ingest

    report = ingest(_digit_stack(), run="digits", store=graph_store,
                    config=OntologyConfig(null_samples=200), progress=False)
    assert len(report.notes) == 4
    text = report.summary()
    assert text.count("note: ") == 4 and "triads: no test can pass" in text


def test_plenty_of_data_gives_no_note():
    codes, _ = planted_groups(3, 6, 80, core=10, noise=4, n_loners=60, seed=1)
    stack = stack_from_dense([(0, [f"c{i}" for i in range(codes.shape[0])],
                               codes.toarray())])
    ont = analyze(stack, OntologyConfig(structure=False), progress=False)
    assert ont.summary["connections"] > 0
    assert ont.power.notes == []
    # 78 concepts, dense codes: auto -> the size-conditioned BiCM (FDSM would cost more)
    assert ont.power.families["connection"].null == ["cbicm"]
