"""The BiCM connection null: the fitted model keeps every degree, the overlap law equals a
brute-force per-feature convolution, critical overlaps and p-values follow from it, the
connection test is BH over every pair with those p-values, and on data whose features
differ in popularity it keeps the false discovery rate where the hypergeometric null
does not."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.stats import false_discovery_control

from ontochron.ontology import OntologyConfig, analyze
from ontochron.ontology import overlap_null as N
from ontochron.ontology.bicm import fit_bicm, overlap_pmf, upper_tails
from ontochron.ontology.connections import (
    connection_tests,
    dense_connection_tests,
    iter_pair_blocks,
    overlap_matrix,
)
from ontochron.ontology.overlap_null import BicmNull, make_null
from tests.synthetic import planted_groups, stack_from_dense


def _popular_codes(rng: np.random.Generator, n: int, f: int, base: float = 0.03,
                   popular: int = 4, rate: float = 0.85) -> np.ndarray:
    """Independent concepts: rare features at rate ``base``, ``popular`` features on in
    about ``rate`` of concepts (dense SAE features, a bias unit)."""
    x = rng.random((n, f)) < base
    x[:, :popular] = rng.random((n, popular)) < rate
    return x


def _brute_pmf(q: np.ndarray) -> np.ndarray:
    """Poisson-binomial pmf by convolving one Bernoulli at a time (reference)."""
    pmf = np.ones(1)
    for p in q:
        pmf = np.convolve(pmf, [1.0 - p, p])
    return pmf


def _feature_probs(fit, size: int) -> np.ndarray:
    """Per-feature probabilities of a concept of ``size`` (features repeated per group)."""
    row = fit.prob[np.searchsorted(fit.k_values, size)]
    return np.repeat(row, fit.d_counts)


def test_fit_keeps_every_degree_with_empty_and_full_rows_and_columns():
    rng = np.random.default_rng(0)
    x = rng.random((70, 50)) < rng.random(50) * 0.6
    x[3, :] = False          # an empty concept
    x[9, :] = True           # a concept with every feature
    x[:, 7] = True           # a feature every concept has (except the empty one: set below)
    x[3, 7] = False
    x[:, 11] = False         # a feature nobody has
    k, d = x.sum(axis=1), x.sum(axis=0)
    fit = fit_bicm(k, d)
    assert fit.converged
    np.testing.assert_allclose(fit.expected_sizes(), fit.k_values, atol=1e-7)
    np.testing.assert_allclose(fit.expected_popularity(), fit.d_values, atol=1e-7)
    assert np.all((fit.prob >= 0) & (fit.prob <= 1))
    assert np.all(fit.prob[fit.k_values == 0] == 0)
    assert np.all(fit.prob[fit.k_values == 50 - 1] == 1)  # 49 features are on somewhere
    assert fit.d_counts.sum() == 49  # feature 11 (on nowhere) is left out
    # more popular features and larger concepts get larger probabilities
    free = fit.prob[(fit.k_values > 0) & (fit.k_values < 49)][:, fit.d_values < 69]
    assert np.all(np.diff(free, axis=0) > 0) and np.all(np.diff(free, axis=1) > 0)


def test_warm_start_gives_the_same_fit():
    rng = np.random.default_rng(1)
    a = rng.random((80, 40)) < rng.random(40) * 0.5
    b = a ^ (rng.random(a.shape) < 0.05)
    first = fit_bicm(a.sum(1), a.sum(0))
    cold = fit_bicm(b.sum(1), b.sum(0))
    warm = fit_bicm(b.sum(1), b.sum(0), init=first)
    np.testing.assert_allclose(warm.prob, cold.prob, atol=1e-8)


def test_overlap_law_equals_brute_force_convolution():
    rng = np.random.default_rng(2)
    x = rng.random((60, 45)) < rng.random(45) * 0.7
    x[:, 0] = True  # certain for every pair of non-empty concepts: a shift
    fit = fit_bicm(x.sum(1), x.sum(0))
    u = fit.k_values.size
    ia, ib = np.triu_indices(u)
    length = 30
    shift, pmf = overlap_pmf(fit.prob[ia], fit.prob[ib], fit.d_counts, length)
    sf = upper_tails(pmf)
    for c in range(ia.size):
        ref = _brute_pmf(_feature_probs(fit, fit.k_values[ia[c]])
                         * _feature_probs(fit, fit.k_values[ib[c]]))
        lead = np.flatnonzero(ref > 0)[0]
        assert shift[c] == (np.count_nonzero(ref[:lead + 1]) and lead)  # mass starts at shift
        body = ref[shift[c]:shift[c] + length]
        np.testing.assert_allclose(pmf[c, :body.size], body, rtol=1e-9, atol=1e-300)
        tail = np.cumsum(ref[::-1])[::-1][shift[c]:shift[c] + length]
        got = sf[c, :tail.size]
        np.testing.assert_allclose(got, tail, rtol=1e-9, atol=1e-14)  # to the table's end
        head = slice(0, max(0, length - 20))  # tails read off well inside the table
        np.testing.assert_allclose(got[head], tail[head], rtol=1e-9, atol=1e-250)


@pytest.mark.parametrize("alpha", [0.05, 0.3])
def test_critical_overlaps_and_p_values(alpha):
    rng = np.random.default_rng(3)
    x = _popular_codes(rng, 90, 60, base=0.08)
    null = BicmNull(x.sum(1), x.sum(0), alpha)
    assert null.table is not None
    u = null.values.size
    for a in range(u):
        for b in range(a, u):
            q = (_feature_probs(null.fit, null.values[a])
                 * _feature_probs(null.fit, null.values[b]))
            ref_sf = np.cumsum(_brute_pmf(q)[::-1])[::-1]  # ref_sf[s] = P(S >= s)
            crit = int(null.table[a, b])
            assert ref_sf[crit] <= alpha < ref_sf[crit - 1]
            s = np.arange(crit, min(crit + 12, ref_sf.size))
            got = null.sf(s, np.full(s.size, a), np.full(s.size, b))
            np.testing.assert_allclose(got, ref_sf[s], rtol=1e-8, atol=1e-300)


def test_far_tail_p_values_are_relative_exact():
    """Overlaps far beyond the critical table are retabulated: tiny p-values keep their
    relative accuracy (no 1 - cdf cancellation)."""
    rng = np.random.default_rng(4)
    x = rng.random((50, 200)) < 0.1
    null = BicmNull(x.sum(1), x.sum(0), 0.05)
    a = b = int(np.argmax(null.values))
    q = _feature_probs(null.fit, null.values[a]) ** 2
    ref = np.cumsum(_brute_pmf(q)[::-1])[::-1]
    s = np.array([15, 25, 35])
    got = null.sf(s, np.full(3, a), np.full(3, b))
    assert ref[35] < 1e-20
    np.testing.assert_allclose(got, ref[s], rtol=1e-7)


def test_connection_test_is_bh_over_every_pair_with_bicm_p_values():
    codes, truth = planted_groups(4, 5, 200, core=12, noise=8, n_loners=60, seed=5)
    x = codes.toarray().astype(np.int64)
    rows = np.arange(x.shape[0])
    k = x.sum(1).astype(np.int64)
    null = make_null("bicm", k, x.sum(0), 200, 0.05)
    res = connection_tests(iter_pair_blocks(codes, rows), k, 200, rows.size, 0.05, 1, null)
    pairs = [(i, j) for i in rows for j in rows if i < j]
    s = np.array([int(x[i] @ x[j]) for i, j in pairs])
    tails: dict[tuple[int, int], np.ndarray] = {}  # reference law per size pair
    p = np.empty(len(pairs))
    for n, (i, j) in enumerate(pairs):
        key = (min(k[i], k[j]), max(k[i], k[j]))
        if key not in tails:
            q = _feature_probs(null.fit, key[0]) * _feature_probs(null.fit, key[1])
            tails[key] = np.cumsum(_brute_pmf(q)[::-1])[::-1]
        p[n] = tails[key][s[n]]
    q = false_discovery_control(np.minimum(p, 1.0), method="bh")
    want = {pairs[n] for n in np.flatnonzero(q <= 0.05)}
    got = set(zip(res["a"].tolist(), res["b"].tolist(), strict=True))
    assert got == want and truth <= got
    order = {pr: n for n, pr in enumerate(pairs)}
    idx = [order[pr] for pr in zip(res["a"].tolist(), res["b"].tolist(), strict=True)]
    np.testing.assert_allclose(res["p_value"], p[idx], rtol=1e-8)
    np.testing.assert_allclose(res["q_value"], q[idx], rtol=1e-8)


@pytest.mark.parametrize("max_sizes", [128, 2])
def test_dense_path_equals_blockwise_path(monkeypatch, max_sizes):
    """Critical table or above-the-mean cut, dense matrix or pair blocks: same result."""
    monkeypatch.setattr(N, "MAX_SIZES", max_sizes)
    rng = np.random.default_rng(6)
    x = _popular_codes(rng, 120, 200, base=0.06)
    x[:6, 40:55] = True  # one planted group
    codes = sp.csr_array(x)
    rows = np.flatnonzero(rng.random(120) < 0.9)
    k = x.sum(1).astype(np.int64)
    pop = x[rows].sum(0)
    ref = connection_tests(iter_pair_blocks(codes, rows), k, 200, rows.size, 0.05, 1,
                           make_null("bicm", k[rows], pop, 200, 0.05))
    order = np.lexsort((ref["b"], ref["a"]))
    got = dense_connection_tests(overlap_matrix(codes, rows), rows, k, 200, 0.05, 1,
                                 make_null("bicm", k[rows], pop, 200, 0.05))
    assert got["a"].size > 0
    for name in ("a", "b", "shared"):
        np.testing.assert_array_equal(got[name], ref[name][order], err_msg=name)
    for name in ("jaccard", "p_value", "q_value"):
        np.testing.assert_allclose(got[name], ref[name][order], rtol=1e-10, err_msg=name)


def test_popular_features_do_not_connect_everything():
    """Independent concepts that all share a few very popular features: the hypergeometric
    null calls most pairs connected, the BiCM almost none (there is nothing to find)."""
    rng = np.random.default_rng(7)
    x = _popular_codes(rng, 150, 300, base=0.03, popular=4, rate=0.9)
    stack = stack_from_dense([(0, [f"c{i}" for i in range(150)], x)])
    hyper = analyze(stack, OntologyConfig(structure=False, connection_null="hypergeometric"),
                    progress=False).summary["connections"]
    bicm = analyze(stack, OntologyConfig(structure=False), progress=False)
    assert hyper > 0.5 * 150 * 149 / 2
    assert bicm.summary["connections"] <= 3
    # the default null is "auto", which picks the BiCM at 150 concepts and says so
    assert bicm.summary["thresholds"]["connection_null"] == "auto"
    assert bicm.summary["power"]["connection"]["nulls"] == {"bicm": 1}


def test_fdr_with_popularity_differences_and_planted_groups():
    """Concepts independent given heterogeneous feature popularity, plus planted groups
    sharing a private core: the BiCM keeps the false discovery proportion near alpha and
    finds the groups; the hypergeometric null's false discoveries swamp it."""
    alpha = 0.1
    fdp_b, fdp_h, power = [], [], []
    for rep in range(12):
        rng = np.random.default_rng(200 + rep)
        n, f = 120, 240
        rates = np.minimum(rng.pareto(1.5, f) * 0.02 + 0.005, 0.8)  # skewed popularity
        x = rng.random((n, f)) < rates[None, :]
        truth = set()
        for g in range(3):
            members = np.arange(g * 5, g * 5 + 5)
            core = rng.choice(f, 14, replace=False)
            x[np.ix_(members, core)] = True
            truth |= {(int(a), int(b)) for a in members for b in members if a < b}
        codes = sp.csr_array(x)
        rows = np.arange(n)
        k = x.sum(1).astype(np.int64)
        for kind, sink in (("bicm", fdp_b), ("hypergeometric", fdp_h)):
            null = make_null(kind, k, x.sum(0), f, alpha)
            res = dense_connection_tests(overlap_matrix(codes, rows), rows, k, f, alpha, 1,
                                         null)
            found = set(zip(res["a"].tolist(), res["b"].tolist(), strict=True))
            sink.append(len(found - truth) / max(1, len(found)))
            if kind == "bicm":
                power.append(len(found & truth) / len(truth))
    assert np.mean(fdp_b) <= alpha + 0.03
    assert np.mean(fdp_h) > 5 * alpha  # nearly every discovery is a popular-feature pair
    assert np.mean(power) > 0.6


def test_unknown_null_is_rejected():
    with pytest.raises(ValueError, match="connection null"):
        make_null("poisson", np.array([1, 2]), np.array([1, 2]), 2, 0.05)
    from ontochron.errors import InputError

    with pytest.raises(InputError, match="connection_null"):
        OntologyConfig(connection_null="poisson")


@pytest.mark.parametrize("codes", [
    np.zeros((1, 5), dtype=bool),                      # one concept
    np.ones((4, 6), dtype=bool),                       # every feature in every concept
    np.zeros((4, 6), dtype=bool),                      # nothing on anywhere
    np.eye(5, dtype=bool),                             # disjoint singletons
    np.array([[1, 1, 0], [1, 1, 0], [0, 0, 0]], dtype=bool),  # nested, an empty concept
])
def test_degenerate_checkpoints_give_no_connections_and_no_errors(codes):
    names = [f"c{i}" for i in range(codes.shape[0])]
    ont = analyze(stack_from_dense([(0, names, codes), (1, names, codes)]),
                  OntologyConfig(structure=False), progress=False)
    assert ont.summary["connections"] == 0
    fit = fit_bicm(codes.sum(1), codes.sum(0))
    np.testing.assert_allclose(fit.expected_sizes(), fit.k_values, atol=1e-9)
    np.testing.assert_allclose(fit.expected_popularity(), fit.d_values, atol=1e-9)
