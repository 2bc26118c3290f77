"""Connections: exact statistics against scipy, the per-checkpoint test against a brute-force
BH over all pairs, planted groups, the false discovery rate on null data, and intervals."""

from __future__ import annotations

import json

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.stats import false_discovery_control, hypergeom

from ontochron.ontology import OntologyConfig, analyze
from ontochron.ontology import connections as C
from ontochron.ontology import lifecycle as L
from ontochron.ontology import overlap_null as N
from ontochron.ontology.connections import (
    _torch_blocks,
    connection_tests,
    dense_connection_tests,
    iter_pair_blocks,
    overlap_matrix,
    pair_overlaps,
)
from ontochron.ontology.intervals import OPEN
from ontochron.ontology.stats import (
    bh_qvalues,
    bh_qvalues_tied,
    hypergeom_critical,
    hypergeom_sf,
    min_attainable_p,
)
from tests.synthetic import null_stack, planted_groups, random_codes, stack_from_dense

# the mechanics tests pin the hypergeometric null (hand-checkable); tests/test_bicm.py
# covers the default BiCM null, and the statistical tests below run under both
ONLY_CONN = OntologyConfig(structure=False, connection_null="hypergeometric")
NULLS = ("hypergeometric", "bicm")


def test_hypergeom_sf_matches_scipy():
    rng = np.random.default_rng(0)
    n_pop = 300
    ka, kb = rng.integers(0, 120, 6000), rng.integers(0, 120, 6000)
    s = rng.integers(-2, 80, 6000)
    ref = hypergeom.sf(s - 1, n_pop, ka, kb)
    got = hypergeom_sf(s, n_pop, ka, kb)
    np.testing.assert_allclose(got, ref, rtol=1e-9, atol=1e-300)
    assert got.shape == s.shape


def test_min_attainable_and_critical_match_scipy():
    n_pop = 50
    ka, kb = np.meshgrid(np.arange(n_pop + 1), np.arange(n_pop + 1))
    ka, kb = ka.ravel(), kb.ravel()
    np.testing.assert_allclose(min_attainable_p(n_pop, ka, kb),
                               hypergeom.pmf(np.minimum(ka, kb), n_pop, ka, kb), rtol=1e-9)
    for alpha in (0.01, 0.05, 0.3, 0.7):
        crit = hypergeom_critical(alpha, n_pop, ka, kb)
        assert np.all(hypergeom.sf(crit - 1, n_pop, ka, kb) <= alpha + 1e-12)
        below = crit - 1
        lo = np.maximum(0, ka + kb - n_pop)
        assert np.all((below < lo) | (hypergeom.sf(below - 1, n_pop, ka, kb) > alpha - 1e-12))


def test_bh_with_untested_pairs_equals_padded_scipy():
    rng = np.random.default_rng(1)
    p = rng.random(40) ** 4
    q = bh_qvalues(p, 100)
    ref = false_discovery_control(np.concatenate([p, np.ones(60)]), method="bh")[:40]
    np.testing.assert_allclose(q, ref)
    np.testing.assert_allclose(bh_qvalues(p), false_discovery_control(p, method="bh"))


def test_pair_overlaps_against_dense_product():
    rng = np.random.default_rng(2)
    x = sp.csr_array(rng.random((40, 30)) < 0.2)
    rows = np.sort(rng.choice(40, 31, replace=False))
    a, b, s = pair_overlaps(x, rows)
    d = x.toarray().astype(int)
    ref = [(int(i), int(j), int(d[i] @ d[j])) for n, i in enumerate(rows) for j in rows[n + 1:]
           if d[i] @ d[j] > 0]
    assert list(zip(a.tolist(), b.tolist(), s.tolist(), strict=True)) == ref
    # the torch block path (here on the CPU) gives the same pairs
    xr = sp.csr_array(x[rows], dtype=np.int32)
    tb = [np.concatenate(p) for p in zip(*_torch_blocks(xr, rows, "cpu"), strict=True)]
    order = np.lexsort((tb[1], tb[0]))
    assert list(zip(tb[0][order].tolist(), tb[1][order].tolist(), tb[2][order].tolist(),
                    strict=True)) == ref


def _planted_with_absences(seed: int) -> tuple[sp.csr_array, np.ndarray, np.ndarray]:
    """Planted concept groups over 80 features with 6 random concepts absent: the codes, the
    present rows and every concept's code size."""
    codes, _ = planted_groups(4, 5, 80, core=6, noise=8, n_loners=25, seed=seed)
    rng = np.random.default_rng(seed)
    present = np.ones(codes.shape[0], dtype=bool)
    present[rng.choice(codes.shape[0], 6, replace=False)] = False
    return codes, np.flatnonzero(present), np.diff(codes.indptr).astype(np.int64)


@pytest.mark.parametrize(("alpha", "min_shared", "seed"),
                         [(0.05, 1, 0), (0.2, 1, 1), (0.6, 1, 2), (0.05, 5, 3)])
def test_connection_tests_against_brute_force_bh(alpha, min_shared, seed):
    codes, rows, k = _planted_with_absences(seed)
    res = connection_tests(iter_pair_blocks(codes, rows), k, 80, rows.size, alpha, min_shared)
    d = codes.toarray().astype(int)
    pairs = [(i, j) for n, i in enumerate(rows) for j in rows[n + 1:]]
    s = np.array([d[i] @ d[j] for i, j in pairs])
    ka, kb = k[[i for i, _ in pairs]], k[[j for _, j in pairs]]
    p = hypergeom.sf(s - 1, 80, ka, kb)
    if min_shared > 1:  # select the pairs sharing >= min_shared, then BH over them only
        sel = np.flatnonzero(s >= min_shared)
        pairs, s = [pairs[n] for n in sel], s[sel]
        p = p[sel] / hypergeom.sf(min_shared - 1, 80, ka[sel], kb[sel])
    q = false_discovery_control(p, method="bh")
    ok = q <= alpha
    ref = {pairs[n]: (s[n], p[n], q[n]) for n in np.flatnonzero(ok)}
    got = {(int(a), int(b)): (sh, pv, qv) for a, b, sh, pv, qv in
           zip(res["a"], res["b"], res["shared"], res["p_value"], res["q_value"], strict=True)}
    assert set(got) == set(ref) and len(ref) > 0
    for key, (sh, pv, qv) in got.items():
        assert sh == ref[key][0]
        np.testing.assert_allclose([pv, qv], ref[key][1:], rtol=1e-8)


@pytest.mark.parametrize("null", NULLS)
def test_planted_groups_are_recovered(null):
    codes, truth = planted_groups(5, 6, 400, core=15, noise=10, n_loners=40, seed=7)
    stack = stack_from_dense([(0, [f"c{i}" for i in range(codes.shape[0])], codes.toarray())])
    ont = analyze(stack, OntologyConfig(structure=False, connection_null=null), progress=False)
    rel = ont.relations.of_kind("connection")
    found = set(zip(rel.a.tolist(), rel.b.tolist(), strict=True))
    assert truth <= found and len(found - truth) <= 2  # chance overlaps among loners
    assert ont.summary["connections"] == len(found)
    assert np.all(rel.stats["q_value"] <= 0.05) and np.all(rel.valid_to == OPEN)


def test_false_discovery_rate_on_null_data_stays_near_alpha():
    """Planted groups among null concepts with random codes of matched sizes: the false
    discovery proportion averaged over repetitions stays at or below alpha (with slack for
    the sampling error of 40 repetitions)."""
    alpha = 0.1
    fdp, power = [], []
    for rep in range(40):
        rng = np.random.default_rng(100 + rep)
        n_true_groups, size, n_null, n_feat = 3, 4, 60, 200
        sizes = np.clip(rng.poisson(12, n_true_groups * size + n_null), 1, n_feat)
        codes = random_codes(rng, sizes, n_feat).toarray()
        truth = set()
        for g in range(n_true_groups):  # weak planted signal: 7 shared core features
            core = rng.choice(n_feat, 7, replace=False)
            members = np.arange(g * size, (g + 1) * size)
            codes[np.ix_(members, core)] = True
            truth |= {(int(a), int(b)) for a in members for b in members if a < b}
        x = sp.csr_array(codes)
        k = np.diff(x.indptr).astype(np.int64)
        res = connection_tests(iter_pair_blocks(x, np.arange(x.shape[0])), k, n_feat,
                               x.shape[0], alpha, 1)
        found = set(zip(res["a"].tolist(), res["b"].tolist(), strict=True))
        fdp.append(len(found - truth) / max(1, len(found)))
        power.append(len(found & truth) / len(truth))
    assert np.mean(fdp) <= alpha + 0.02
    assert np.mean(fdp) > 0.005  # some null pairs do get through: not trivially conservative
    assert np.mean(power) > 0.5


@pytest.mark.parametrize("null", NULLS)
def test_pure_null_rarely_connects(null):
    hits = 0
    for rep in range(20):
        stack = null_stack(50, 200, 1, mean_size=20, seed=rep)
        ont = analyze(stack, OntologyConfig(structure=False, connection_null=null),
                      progress=False)
        hits += ont.summary["connections"] > 0
    assert hits <= 3  # BH on a global null: P(any discovery) <= alpha = 0.05


def test_connection_intervals_and_events():
    """A and B share 8 of 40 features at steps 0 and 10, are disjoint at 20, share again at
    30; three loners with disjoint random-ish codes make up the rest."""
    n_f = 40
    shared = np.zeros(n_f, dtype=int)
    shared[:8] = 1
    other = np.zeros(n_f, dtype=int)
    other[8:16] = 1
    loners = np.zeros((3, n_f), dtype=int)
    loners[0, 20:23] = loners[1, 25:28] = loners[2, 30:33] = 1
    frames = []
    for step, b_code in ((0, shared), (10, shared), (20, other), (30, shared)):
        frames.append((step, ["A", "B", "L0", "L1", "L2"],
                       np.vstack([shared, b_code, loners])))
    ont = analyze(stack_from_dense(frames), ONLY_CONN, progress=False)
    rel = ont.relations.of_kind("connection")
    assert list(zip(rel.a.tolist(), rel.b.tolist(), rel.valid_from.tolist(),
                    rel.valid_to.tolist(), strict=True)) == [(0, 1, 0, 20), (0, 1, 30, OPEN)]
    np.testing.assert_allclose(rel.stats["shared"], [8, 8])
    np.testing.assert_allclose(rel.stats["jaccard"], [1.0, 1.0])
    ev = ont.events
    m = np.isin(ev.kind, ["connection_form", "connection_break"])
    got = [(k, int(s), ont.concepts[c], json.loads(d)) for k, s, c, d in
           zip(ev.kind[m], ev.step[m], ev.concept[m], ev.detail[m], strict=True)]
    assert got == [("connection_form", 0, "A", {"b": "B", "shared": 8}),
                   ("connection_break", 20, "A", {"b": "B", "shared": 0}),
                   ("connection_form", 30, "A", {"b": "B", "shared": 8})]
    assert ont.summary["connections"] == 2
    assert ont.summary["connections_last"] == 1


def test_absent_concept_breaks_connection():
    code = np.zeros(30, dtype=int)
    code[:6] = 1
    # the fillers cover features 10-29, so all 30 are in the population (never-on features
    # are not: under them A and B's 6 of 6 would not pass)
    filler = np.zeros((4, 30), dtype=int)
    for i in range(4):
        filler[i, 10 + 5 * i:15 + 5 * i] = 1
    frames = [(0, ["A", "B", "F0", "F1", "F2", "F3"], np.vstack([code, code, filler])),
              (5, ["A", "F0", "F1", "F2", "F3"], np.vstack([code, filler])),
              (9, ["A", "B", "F0", "F1", "F2", "F3"], np.vstack([code, code, filler]))]
    ont = analyze(stack_from_dense(frames), ONLY_CONN, progress=False)
    rel = ont.relations.of_kind("connection")
    assert list(zip(rel.valid_from.tolist(), rel.valid_to.tolist(), strict=True)) == \
        [(0, 5), (9, OPEN)]


def test_tied_bh_equals_bh_on_every_test():
    rng = np.random.default_rng(5)
    levels = np.round(rng.random(30) ** 3, 3)  # repeated values across levels too
    counts = rng.integers(1, 9, 30)
    for m in (int(counts.sum()), 500):
        q_lvl = bh_qvalues_tied(levels, counts, m)
        q_all = bh_qvalues(np.repeat(levels, counts), m)
        np.testing.assert_array_equal(np.repeat(q_lvl, counts), q_all)


def test_overlap_matrix_against_dense_product(monkeypatch):
    monkeypatch.setattr(C, "_TRI_BLOCK", 7)  # several blocks, partial last block
    rng = np.random.default_rng(3)
    x = sp.csr_array(rng.random((40, 30)) < 0.3)
    rows = np.sort(rng.choice(40, 33, replace=False))
    d = x.toarray().astype(np.int64)[rows]
    np.testing.assert_array_equal(overlap_matrix(x, rows), d @ d.T)
    upper = overlap_matrix(x, rows, symmetric=False)
    full = d @ d.T
    np.testing.assert_array_equal(np.triu(upper), np.triu(full))
    below = np.tril(np.ones_like(upper, dtype=bool), k=-1)
    assert np.all((upper[below] == 0) | (upper[below] == full[below]))


@pytest.mark.parametrize(("alpha", "min_shared", "seed", "max_sizes"),
                         [(0.05, 1, 0, 128), (0.2, 3, 1, 128), (0.6, 1, 2, 128),
                          (0.05, 1, 3, 2), (0.7, 1, 4, 2)])
def test_dense_connection_tests_equal_blockwise(monkeypatch, alpha, min_shared, seed,
                                                max_sizes):
    """Dense path (critical table, median cut or none; tied BH) = the blockwise path."""
    monkeypatch.setattr(N, "MAX_SIZES", max_sizes)
    monkeypatch.setattr(C, "_BLOCK", 16)
    codes, rows, k = _planted_with_absences(seed)
    ref = connection_tests(iter_pair_blocks(codes, rows), k, 80, rows.size, alpha, min_shared)
    order = np.lexsort((ref["b"], ref["a"]))
    got = dense_connection_tests(overlap_matrix(codes, rows), rows, k, 80, alpha, min_shared)
    assert got["a"].size > 0
    for name in ("a", "b", "shared"):
        np.testing.assert_array_equal(got[name], ref[name][order], err_msg=name)
    for name in ("jaccard", "p_value", "q_value"):
        np.testing.assert_allclose(got[name], ref[name][order], rtol=1e-12, err_msg=name)


@pytest.mark.parametrize("null", NULLS)
def test_tracker_dense_path_equals_blockwise(monkeypatch, null):
    """Intervals and form/break events of a drifting stack with absences, both paths."""
    rng = np.random.default_rng(11)
    frames, base = [], rng.random((40, 150)) < 0.06
    base[:8, :15] = True  # a connected group
    names = [f"c{i}" for i in range(40)]
    for t in range(6):
        base = base ^ (rng.random((40, 150)) < 0.02)
        keep = rng.random(40) < 0.85
        frames.append((10 * t, [n for n, k in zip(names, keep, strict=True) if k], base[keep]))
    stack = stack_from_dense(frames)
    cfg = OntologyConfig(structure=False, connection_null=null)
    fast = analyze(stack, cfg, progress=False)
    monkeypatch.setattr(C, "_DENSE_PAIRS_BYTES", 0)
    slow = analyze(stack, cfg, progress=False)
    for f in ("kind", "a", "b", "valid_from", "valid_to"):
        np.testing.assert_array_equal(getattr(fast.relations, f), getattr(slow.relations, f))
    for name, v in slow.relations.stats.items():
        np.testing.assert_allclose(fast.relations.stats[name], v, rtol=1e-12)
    for f in ("kind", "step", "concept", "feature", "detail"):
        np.testing.assert_array_equal(getattr(fast.events, f), getattr(slow.events, f))
    assert fast.events.count("connection_break") > 0 and fast.summary == slow.summary


def test_repeated_checkpoints_reuse_results(monkeypatch):
    """Checkpoints whose codes equal the previous one's reuse its connection and structure
    results; the output equals a run that recomputes every checkpoint."""
    from ontochron.ontology import structure as S

    rng = np.random.default_rng(4)
    a = rng.random((25, 40)) < 0.2
    a[:8, :6] = True
    b = a ^ (rng.random((25, 40)) < 0.1)
    names = [f"c{i}" for i in range(25)]
    frames = [(s, names, m) for s, m in zip(range(0, 60, 10), (a, a, b, b, b, a), strict=True)]
    frames.insert(3, (25, names[:-1], b[:-1]))  # same rows minus one concept: not reused
    stack = stack_from_dense(frames)
    calls = []
    real = S.detect_step
    monkeypatch.setattr(S, "detect_step", lambda *x, **kw: calls.append(1) or real(*x, **kw))
    cfg = OntologyConfig(connection_null="hypergeometric")  # this small run connects
    fast = analyze(stack, cfg, progress=False)
    assert len(calls) == 5  # steps 0, 20, 25, 30, 50 computed; 10 and 40 reused
    monkeypatch.setattr(L, "csr_equal", lambda *_: False)  # both reuse checks use it
    slow = analyze(stack, cfg, progress=False)
    assert len(calls) == 12
    for f in ("kind", "a", "b", "c", "valid_from", "valid_to"):
        np.testing.assert_array_equal(getattr(fast.relations, f), getattr(slow.relations, f))
    for name, v in slow.relations.stats.items():
        np.testing.assert_allclose(fast.relations.stats[name], v, rtol=1e-12)
    for f in ("kind", "step", "concept", "feature", "detail"):
        np.testing.assert_array_equal(getattr(fast.events, f), getattr(slow.events, f))
    assert fast.summary["connection_intervals"] > 0 and fast.summary == slow.summary


def test_dense_connection_tests_with_fewer_than_two_concepts():
    x = sp.csr_array(np.eye(3, 5, dtype=bool))
    k = np.diff(x.indptr).astype(np.int64)
    for rows in (np.zeros(0, dtype=np.int64), np.array([1])):
        res = dense_connection_tests(overlap_matrix(x, rows), rows, k, 5, 0.05, 1)
        assert all(v.size == 0 for v in res.values()) and "q_value" in res
