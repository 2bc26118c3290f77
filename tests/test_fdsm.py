"""The FDSM connection null: curveball keeps both degree sequences exactly and samples the
uniform law (against exact enumeration on a tiny matrix), its p-values keep the FDR on
skewed-popularity null codes where the hypergeometric null does not, and it finds planted
groups on a small dense code where the BiCM finds little."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.stats import chisquare

from ontochron.ontology import OntologyConfig, analyze
from ontochron.ontology.connections import ConnectionTracker
from ontochron.ontology.fdsm import SWEEPS, curveball_sweeps, fdsm_exceedances
from tests.synthetic import stack_from_dense


def _tiny():
    return np.array([[1, 1, 0, 0], [1, 0, 1, 0], [0, 1, 1, 1], [1, 0, 0, 1]], dtype=bool)


def _same_margins(x):
    """Every 0/1 matrix with the row and column sums of x (brute force over 2^(n f))."""
    n, f = x.shape
    rows, cols = x.sum(1), x.sum(0)
    out = []
    for bits in itertools.product((0, 1), repeat=n * f):
        m = np.array(bits, dtype=bool).reshape(n, f)
        if np.array_equal(m.sum(1), rows) and np.array_equal(m.sum(0), cols):
            out.append(m)
    return out


def test_curveball_keeps_both_degree_sequences_exactly():
    rng = np.random.default_rng(0)
    x = rng.random((25, 40)) < rng.random(40)[None, :] * 0.6
    chains = np.repeat(x[None], 50, axis=0)
    curveball_sweeps(chains, 30, rng)
    assert np.all(chains.sum(axis=2) == x.sum(axis=1)[None, :])
    assert np.all(chains.sum(axis=1) == x.sum(axis=0)[None, :])
    assert np.mean(chains != x[None]) > 0.1  # it moved


def test_curveball_samples_the_uniform_law_and_its_co_occurrences():
    """From one start, chains after SWEEPS sweeps visit every matrix with the same margins
    about equally often, and the mean pair co-occurrences equal the exact FDSM means."""
    x = _tiny()
    space = _same_margins(x)
    assert len(space) > 10
    index = {m.tobytes(): i for i, m in enumerate(space)}
    n_chains = 20_000
    chains = curveball_sweeps(np.repeat(x[None], n_chains, axis=0), SWEEPS,
                              np.random.default_rng(1))
    freq = np.bincount([index[c.tobytes()] for c in chains], minlength=len(space))
    assert np.all(freq > 0)
    assert chisquare(freq).pvalue > 1e-3
    exact = np.mean([m.astype(int) @ m.T.astype(int) for m in space], axis=0)
    got = np.mean(chains.astype(int) @ chains.transpose(0, 2, 1).astype(int), axis=0)
    np.testing.assert_allclose(got, exact, atol=0.03)


def test_exceedances_match_exact_fdsm_tails():
    """Monte Carlo P(S >= s) per pair against the exact law over the enumerated space."""
    x = _tiny()
    space = np.array(_same_margins(x)).astype(int)
    s_all = space @ space.transpose(0, 2, 1)
    obs = x.astype(int) @ x.T.astype(int)
    exact = (s_all >= obs[None]).mean(axis=0)
    n_s = 20_000
    got = fdsm_exceedances(x, n_s, np.random.default_rng(2)) / n_s
    np.testing.assert_allclose(got, exact, atol=0.02)


def _skewed_null(rng, n=40, f=24):
    """Independent concepts, feature rates skewed (Pareto): given both margins such a code
    is a uniform draw from the FDSM, so every discovery is false."""
    rates = np.minimum(rng.pareto(1.2, f) * 0.08 + 0.03, 0.9)
    return rng.random((n, f)) < rates[None, :]


def _connections(x, null, samples=1000, alpha=0.05):
    n, f = x.shape
    tr = ConnectionTracker(n, f, alpha, 1, null=null, null_samples=samples)
    step = tr.compute(sp.csr_array(x), np.ones(n, dtype=bool), 0)
    return step


def test_fdsm_keeps_the_fdr_on_skewed_null_codes():
    alpha = 0.05
    any_fdsm, any_hyper = 0, 0
    reps = 20
    for rep in range(reps):
        x = _skewed_null(np.random.default_rng(300 + rep))
        any_fdsm += _connections(x, "fdsm", 500, alpha).keys.size > 0
        any_hyper += _connections(x, "hypergeometric", alpha=alpha).keys.size > 0
    # pure null: FDR = P(any discovery) <= alpha; 20 reps, allow the binomial spread
    assert any_fdsm <= 2
    assert any_hyper >= 4 * max(any_fdsm, 1)


def _planted(seed, n_groups=4, size=10, f=24, bg=0.1):
    rng = np.random.default_rng(seed)
    x = rng.random((n_groups * size, f)) < bg
    truth = set()
    core = f // n_groups
    for g in range(n_groups):
        m = np.arange(g * size, (g + 1) * size)
        x[np.ix_(m, np.arange(g * core, (g + 1) * core))] = True
        truth |= {(int(a), int(b)) for a in m for b in m if a < b}
    return x, truth


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_default_finds_planted_groups_on_a_small_dense_code(seed):
    """40 concepts x 24 features, 4 groups (180 within-group pairs): the default (auto ->
    FDSM) recovers >= 70 % of them with few false ones; the BiCM recovers far less."""
    x, truth = _planted(seed)
    stack = stack_from_dense([(0, [f"c{i}" for i in range(40)], x)])
    ont = analyze(stack, OntologyConfig(structure=False), progress=False)
    rel = ont.relations.of_kind("connection")
    found = set(zip(rel.a.tolist(), rel.b.tolist(), strict=True))
    assert len(found & truth) >= 0.7 * len(truth)
    assert len(found - truth) <= 0.05 * len(found) + 1
    assert ont.power.families["connection"].null == ["fdsm"]
    bicm = analyze(stack, OntologyConfig(structure=False, connection_null="bicm"),
                   progress=False)
    assert bicm.summary["connections"] < 0.5 * len(truth)


def test_fdsm_is_deterministic_given_the_seed_and_threads():
    x, _ = _planted(4)
    frames = [(t, [f"c{i}" for i in range(40)], x ^ (np.random.default_rng(t).random(x.shape)
                                                     < 0.03)) for t in range(3)]
    stack = stack_from_dense(frames)
    cfg = OntologyConfig(structure=False, null_samples=300)
    a = analyze(stack, cfg, progress=False, workers=1)
    b = analyze(stack, cfg, progress=False, workers=3)
    c = analyze(stack, OntologyConfig(structure=False, null_samples=300, seed=5),
                progress=False, workers=1)
    ra, rb = a.relations, b.relations
    assert np.array_equal(ra.a, rb.a) and np.array_equal(ra.b, rb.b)
    np.testing.assert_array_equal(ra.stats["p_value"], rb.stats["p_value"])
    pa = ra.stats["p_value"]
    pc = c.relations.stats["p_value"]
    assert pa.size and not (pa.size == pc.size and np.array_equal(pa, pc))
    assert np.all(pa >= 1 / 301)  # the Monte Carlo floor 1 / (N + 1)
