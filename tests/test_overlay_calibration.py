"""The overlay's own tests keep concept activity as the analysis' structure tests do
(docs/overlay.md, issue 19): on null codes whose concepts differ in activity (lognormal, no
feature-feature mechanism) neither its native test nor its contradiction test finds anything
in more than alpha plus three standard errors of runs, where the plain Fisher test
(``activity_strata=1``) does; planted duals, dependencies and contradictions are still
found; one stratum reproduces the plain test exactly; the per-stratum tables and the
activity are the analysis' own. Few replicates by default (fixed seeds);
ONTOCHRON_CALIBRATION_REPS=50 for the figures of docs/overlay.md."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.stats import hypergeom

from ontochron.ontology.stats import hypergeom_sf
from ontochron.ontology.strata import activity_strata
from ontochron.overlay.strata import lower_tail, step_strata, upper_tail
from tests import calibration as cal
from tests.structure_sim import NULL_REGIMES, activity, null_codes, planted_hetero

REPS = max(cal.REPS, 20)


def allowed(reps: int) -> int:
    """Most runs with a false finding a calibrated test may show: alpha + 3 SE."""
    return math.floor(reps * (cal.ALPHA + 3 * math.sqrt(cal.ALPHA * (1 - cal.ALPHA) / reps)))


def activity_driven(seed: int, n: int = 600, f: int = 20, sigma: float = 1.5) -> np.ndarray:
    """Null codes: lognormal concept activity x frequency (half the features common, half
    rare), features independent given them. Rare features fire on active concepts, where
    the common ones are (nearly) always on: activity alone looks like dependency."""
    rng = np.random.default_rng([seed, 19])
    freq = np.r_[rng.uniform(0.6, 0.9, f // 2), rng.uniform(0.03, 0.12, f - f // 2)]
    act = activity(rng, n, sigma)
    return rng.random((n, f)) < np.clip(act[:, None] * freq[None, :], 0.0, 1.0)


def every_relation(f: int) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """A hypothesis stating f / 2 duals and every dependency of a total order (acyclic)."""
    return [(2 * m, 2 * m + 1) for m in range(f // 2)], [(i, j) for i in range(f)
                                                         for j in range(i)]


def contradicted(kind: str, st: dict) -> bool:
    return st["q_contra"] <= cal.ALPHA and (kind == "dependency" or (st["phi"] or 0) > 0)


def false_runs(make, reps: int, strata: int | None, f: int | None = None
               ) -> tuple[int, int]:
    """(runs with a native finding, runs with a contradiction) on null codes, stating
    relations between the first ``f`` features (default all)."""
    nat = con = 0
    for seed in range(reps):
        x = make(seed)
        duals, deps = every_relation(f or x.shape[1])
        ov, tests = cal.overlay_tests(x, duals, deps, activity_strata=strata)
        nat += any(ov.native_found(k[0], s) for k, s in tests.items())
        con += any(contradicted(k[0], s) for k, s in tests.items())
    return nat, con


def test_null_with_lognormal_activity_is_calibrated_and_the_plain_test_is_not():
    new = false_runs(activity_driven, REPS, None)          # the analysis' setting: 16
    old = false_runs(activity_driven, REPS, 1)
    bound = allowed(REPS)
    assert new[0] <= bound and new[1] <= bound, (new, bound)
    # the check can fail: the plain Fisher test calls activity a relation
    assert old[0] > bound and old[1] > bound, (old, bound)


@pytest.mark.parametrize("reg", [r for r in NULL_REGIMES if r.name != "sparse"],
                         ids=lambda r: r.name)
def test_null_regimes_of_the_structure_suite(reg):
    reps = cal.REPS
    nat, con = false_runs(lambda seed: null_codes(reg, seed), reps, None, reg.f)
    assert nat <= allowed(reps) and con <= allowed(reps), (nat, con)


@pytest.mark.parametrize("n", [150, 600])
def test_planted_relations_are_still_found_under_heterogeneous_activity(n):
    """planted_hetero: dual (0, 1), dependencies 3 -> 2 -> ... and 4 -> 3; stated wrongly:
    (2, 3) as a dual (3 only fires with 2: positively associated) and 1 -> 0 as a
    dependency (1 fires only without 0): both contradicted."""
    for seed in range(3):
        x = planted_hetero(seed, n=n)
        ov, t = cal.overlay_tests(x, [(0, 1), (2, 3)], [(3, 2), (4, 3), (1, 0)])
        for key in (("dual", "f0", "f1"), ("dependency", "f3", "f2"),
                    ("dependency", "f4", "f3")):
            assert ov.native_found(key[0], t[key]), (seed, key, t[key])
            assert not contradicted(key[0], t[key])
        for key in (("dual", "f2", "f3"), ("dependency", "f1", "f0")):
            assert contradicted(key[0], t[key]), (seed, key, t[key])
            assert not ov.native_found(key[0], t[key])


def _plain(n, na, nb, nab):
    """The one-stratum tails as the overlay computed them before strata."""
    up = float(hypergeom_sf(np.array([nab]), n, np.array([na]), np.array([nb]))[0])
    low = float(hypergeom_sf(np.array([nb - nab]), n, np.array([n - na]), np.array([nb]))[0])
    return up, low


def test_one_stratum_reproduces_the_plain_fisher_test_exactly():
    x = activity_driven(3, n=300)
    duals, deps = every_relation(x.shape[1])
    ov, t = cal.overlay_tests(x, duals, deps, activity_strata=1)
    _, t16 = cal.overlay_tests(x, duals, deps)
    differs = 0
    for key, st in t.items():
        up, low = _plain(st["n"], st["n_a"], st["n_b"], st["n_ab"])
        assert (st["p_upper"], st["p_lower"]) == (up, low)
        # and the plain tails are the hypergeometric law's (scipy)
        h = hypergeom(st["n"], st["n_a"], st["n_b"])
        assert up == pytest.approx(h.sf(st["n_ab"] - 1), rel=1e-9, abs=1e-300)
        assert low == pytest.approx(h.cdf(st["n_ab"]), rel=1e-9, abs=1e-300)
        if st["p_native"] is not None:
            n, na, nb, nab = st["n"], st["n_a"], st["n_b"], st["n_ab"]
            if key[0] == "dependency":
                cut = max(3, math.ceil(0.9 * na - 1e-9))
                ref = hypergeom_sf(np.array([nab, cut]), n, np.array([na] * 2),
                                   np.array([nb] * 2))
                assert st["p_native"] == min(ref[0] / ref[1], 1.0)
        differs += t16[key]["p_upper"] != st["p_upper"]
    assert differs > 0  # the default (16 strata) is another test on these codes


def _brute(x: np.ndarray, k: np.ndarray, edges: np.ndarray, a: int, b: int, ta: bool,
           tb: bool, rest: bool):
    """Per-stratum (concepts, with a, with b), concept by concept."""
    v = k - ((x[:, a] * ta + x[:, b] * tb) if rest else 0)
    s = np.searchsorted(edges, v, "right")
    m = edges.size + 1
    return (np.bincount(s, minlength=m), np.bincount(s, weights=x[:, a], minlength=m),
            np.bincount(s, weights=x[:, b], minlength=m))


def test_strata_tables_match_a_concept_by_concept_count():
    rng = np.random.default_rng(4)
    n_rows, p = 90, 6
    x = (rng.random((n_rows, p)) < rng.uniform(0.1, 0.7, p)).astype(np.int64)
    x[-10:] = 0                                    # empty codes among the rows given
    tested = np.array([True, True, False, True, False, True])
    k = (x[:, tested].sum(axis=1) + rng.integers(0, 4, n_rows)) * (x.sum(axis=1) > 0)
    rows = np.arange(n_rows - 10)
    n = n_rows + 15                                # 25 empty codes in all (10 + 15 absent)
    ss = step_strata(sp.csr_array(x), rows, k[rows], n, tested, 4)
    kk = np.r_[k[rows], np.zeros(n - rows.size, dtype=np.int64)]
    xx = np.r_[x[rows], np.zeros((n - rows.size, p), dtype=np.int64)]
    assert ss.strata.edges.tolist() == activity_strata(kk, 4).edges.tolist()
    pairs = [(0, 1), (0, 2), (2, 4), (3, 5), (4, 1)]
    a = np.array([q[0] for q in pairs])
    b = np.array([q[1] for q in pairs])
    for rest in (False, True):
        pop, ka, kb = ss.tables(a, b, rest)
        for r, (i, j) in enumerate(pairs):
            want = _brute(xx, kk, ss.strata.edges, i, j, tested[i], tested[j], rest)
            assert pop[r].tolist() == want[0].tolist()
            assert ka[r].tolist() == want[1].tolist() and kb[r].tolist() == want[2].tolist()


def test_tails_agree_with_a_direct_convolution():
    """upper_tail / lower_tail (cheaper end, complement) against the sum's law computed by
    convolving the strata's scipy pmfs."""
    pop = np.array([[40, 30, 25]])
    ka = np.array([[12, 20, 5]])
    kb = np.array([[15, 9, 20]])
    law = np.array([1.0])
    for k in range(3):
        law = np.convolve(law, hypergeom(pop[0, k], ka[0, k], kb[0, k]).pmf(
            np.arange(kb[0, k] + 1)))
    s = np.arange(law.size + 1)
    up = upper_tail(s, np.repeat(pop, s.size, 0), np.repeat(ka, s.size, 0),
                    np.repeat(kb, s.size, 0))
    low = lower_tail(s, np.repeat(pop, s.size, 0), np.repeat(ka, s.size, 0),
                     np.repeat(kb, s.size, 0))
    want_up = np.r_[law[::-1].cumsum()[::-1], 0.0]
    want_low = np.r_[law.cumsum(), 1.0]
    np.testing.assert_allclose(up, want_up, rtol=1e-9, atol=1e-15)
    np.testing.assert_allclose(low, want_low, rtol=1e-9, atol=1e-15)
    # a tiny tail nearer the low end of the support (taken as 1 - the other tail first)
    # keeps its digits: recomputed directly
    tiny = upper_tail(np.array([14]), np.array([[10_000]]), np.array([[100]]),
                      np.array([[100]]))[0]
    want = hypergeom(10_000, 100, 100).sf(13)
    assert 0 < want < 1e-9 and tiny == pytest.approx(want, rel=1e-9)


def test_activity_is_the_analysis_tested_features_on():
    """The overlay's activity of a present concept is its count of features the analysis
    tests at the step (on in at least min_support present concepts and not in all);
    never-on and rare columns and empty codes count for nothing."""
    reg = NULL_REGIMES[3]                          # never-on columns and empty concepts
    x = null_codes(reg, 1)
    x[:, 0] = False
    x[:2, 0] = True                                # on in 2 < min_support: not tested
    ov, _ = cal.overlay_tests(x, [(1, 2)], [])
    _, n, counts = ov.run.codes(0, ov.features)
    assert n == x.shape[0]
    rows, k, tested = ov.run.activity(0, counts, n, 3)
    col = x.sum(axis=0)
    want_tested = (col >= 3) & (col < x.shape[0])
    assert tested[:x.shape[1]].tolist() == want_tested.tolist()
    names = ov.od.data.concepts
    idx = np.array([int(names[r][1:]) for r in rows])
    assert k.tolist() == x[idx][:, want_tested].sum(axis=1).tolist()
    assert rows.size < n                           # the empty codes are not rows here
