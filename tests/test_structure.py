"""Structure detection: hand-computed cases, a brute-force reference, planted structure,
null data (FDR), the torch path against the scipy path, and intervals over time."""

from __future__ import annotations

from itertools import combinations, permutations

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.stats import binom, false_discovery_control, fisher_exact, hypergeom

from ontochron.ingest.snapshot import CodeStack, Snapshot
from ontochron.ontology import structure as S
from ontochron.ontology.intervals import OPEN
from ontochron.ontology.stats import bh_qvalues
from ontochron.ontology.strata import activity_strata
from ontochron.ontology.structure import StructureConfig, detect_step, structure_over_time

# ------------------------------------------------------------------ generators


def planted(seed: int, n: int = 600, f: int = 40, rate: float = 0.12) -> np.ndarray:
    """Noise plus a dual (0, 1), a chain 4 => 3 => 2 (subsets) and an AND gate 7 = 5 & 6."""
    rng = np.random.default_rng(seed)
    x = rng.random((n, f)) < rate
    x[:, 0] = rng.random(n) < 0.4
    x[:, 1] = ~x[:, 0] & (rng.random(n) < 0.8)
    x[:, 2] = rng.random(n) < 0.5
    x[:, 3] = x[:, 2] & (rng.random(n) < 0.5)
    x[:, 4] = x[:, 3] & (rng.random(n) < 0.5)
    x[:, 5] = rng.random(n) < 0.3
    x[:, 6] = rng.random(n) < 0.3
    x[:, 7] = x[:, 5] & x[:, 6]
    return x


def wired(seed: int, n: int = 120, f: int = 14) -> np.ndarray:
    """Random circuit: noisy subsets, ANDs, NOTs of earlier features (many borderline cases)."""
    rng = np.random.default_rng(seed)
    x = np.zeros((n, f), dtype=bool)
    for k in range(f):
        a, b = (rng.integers(0, k, 2) if k >= 2 else (0, 0))
        op = rng.integers(0, 4) if k >= 2 else 3
        if op == 0:
            col = x[:, a] & (rng.random(n) < rng.uniform(0.6, 0.98))
        elif op == 1:
            col = x[:, a] & x[:, b]
        elif op == 2:
            col = ~x[:, a]
        else:
            col = rng.random(n) < rng.uniform(0.1, 0.6)
        x[:, k] = col ^ (rng.random(n) < rng.uniform(0.0, 0.05))
    return x


def column_permuted(x: np.ndarray, seed: int) -> np.ndarray:
    """Same marginals, every column shuffled independently: a complete null."""
    rng = np.random.default_rng(seed)
    return np.stack([rng.permutation(col) for col in x.T], axis=1)


def strat_tail(obs: int, tables: list[tuple[int, int, int]], lower: bool = False) -> float:
    """Reference tail of a sum of independent hypergeometrics (pop, successes, draws), by
    convolving scipy's pmfs."""
    pmf = np.array([1.0])
    for pop, ka, kb in tables:
        pmf = np.convolve(pmf, hypergeom.pmf(np.arange(min(ka, kb) + 1), pop, ka, kb))
    return float(min(1.0, pmf[:obs + 1].sum() if lower else pmf[obs:].sum()))


def tables(groups: np.ndarray, a: np.ndarray, b: np.ndarray) -> list[tuple[int, int, int]]:
    """(stratum size, count of a, count of b) for every stratum label in ``groups``."""
    return [(int((groups == g).sum()), int(a[groups == g].sum()), int(b[groups == g].sum()))
            for g in np.unique(groups)]


def or_reference(nij: int, nijr: int, n_io: int, r_io: int, n_jo: int, r_jo: int) -> float:
    """The noisy-OR p-value with scipy's binomial laws, one grid cell at a time: the largest
    P(r_io or fewer) P(r_jo or fewer) P(nijr or more at the OR rate) over cells (low
    corner for the single-input tails, high corner for the OR rate), Fisher-combined."""
    g = (np.arange(65) / 64.0) ** 2
    best = 0.0
    for ka in range(64):
        fa = binom.cdf(r_io, n_io, g[ka])
        for kb in range(64):
            rate = 1 - (1 - g[ka + 1]) * (1 - g[kb + 1])
            best = max(best, fa * binom.cdf(r_jo, n_jo, g[kb]) * binom.sf(nijr - 1, nij, rate))
    ln = -np.log(max(best, 1e-300))
    return float(min(1.0, best * (1 + ln + ln * ln / 2)))


def brute_force(x: np.ndarray, cfg: StructureConfig) -> dict[str, set]:
    """Reference: every test of every family with scipy, filter, then BH on the full family.
    Strata: duals by rest score, dependencies and triads by activity (docs/structure.md)."""
    n_tot, f = x.shape
    cnt = x.sum(0)
    feats = [k for k in range(f) if cfg.min_support <= cnt[k] < n_tot]
    k_act = x[:, feats].sum(1)
    edges = activity_strata(k_act, cfg.activity_strata).edges
    g_act = np.searchsorted(edges, k_act, "right")
    out: dict[str, set] = {}
    # duals
    keys, ps = [], []
    for i, j in combinations(feats, 2):
        nij = int((x[:, i] & x[:, j]).sum())
        phi = S.phi_coefficient(nij, cnt[i], cnt[j], n_tot)
        g = np.searchsorted(edges, k_act - x[:, i] - x[:, j], "right")
        p = (strat_tail(nij, tables(g, x[:, i], x[:, j]), lower=True)
             if phi <= cfg.dual_max_phi + 1e-9 else 1)
        keys.append((i, j))
        ps.append(p)
    q = false_discovery_control(np.array(ps)) if ps else np.array([])
    out["dual"] = {k for k, qq in zip(keys, q, strict=True) if qq <= cfg.alpha}
    keys, ps = [], []
    for c, p_ in permutations(feats, 2):
        ncp = int((x[:, c] & x[:, p_]).sum())
        ok = ncp >= cfg.min_support and ncp / cnt[c] >= cfg.dep_confidence - 1e-9
        keys.append((c, p_))
        ps.append(strat_tail(ncp, tables(g_act, x[:, p_], x[:, c])) if ok else 1.0)
    q = false_discovery_control(np.array(ps)) if ps else np.array([])
    out["dependency"] = {k for k, qq in zip(keys, q, strict=True) if qq <= cfg.alpha}
    keys, ps = [], []
    for i, j in combinations(feats, 2):
        both = x[:, i] & x[:, j]
        one = x[:, i] ^ x[:, j]
        nij = int(both.sum())
        for r in feats:
            if r in (i, j):
                continue
            keys.append((i, j, r))
            nijr = int((both & x[:, r]).sum())
            p_i = (x[:, i] & x[:, r]).sum() / cnt[i]
            p_j = (x[:, j] & x[:, r]).sum() / cnt[j]
            ok = (nij >= cfg.min_support and nijr >= cfg.min_support
                  and nijr / nij >= cfg.triad_min_p_ij - 1e-9
                  and p_i < cfg.triad_max_p_single and p_j < cfg.triad_max_p_single
                  and nijr / nij - max(p_i, p_j) >= cfg.triad_min_interaction - 1e-9)
            if ok:
                inp = both | one
                assoc = strat_tail(nijr, tables(g_act[inp], x[inp, r], both[inp]))
                io, jo = x[:, i] & ~x[:, j], x[:, j] & ~x[:, i]
                p_or = or_reference(nij, nijr, int(io.sum()), int((io & x[:, r]).sum()),
                                    int(jo.sum()), int((jo & x[:, r]).sum()))
                ps.append(max(assoc, p_or))
            else:
                ps.append(1.0)
    q = false_discovery_control(np.array(ps)) if ps else np.array([])
    out["triad"] = {k for k, qq in zip(keys, q, strict=True) if qq <= cfg.alpha}
    return out


def found(res: S.StepStructure) -> dict[str, set]:
    d, e, t = res.duals, res.dependencies, res.triads
    return {"dual": set(zip(d["i"].tolist(), d["j"].tolist(), strict=True)),
            "dependency": set(zip(e["child"].tolist(), e["parent"].tolist(), strict=True)),
            "triad": set(zip(t["i"].tolist(), t["j"].tolist(), t["r"].tolist(), strict=True))}


# ------------------------------------------------------------------ statistics helpers


def test_partial_bh_equals_full_vector():
    rng = np.random.default_rng(3)
    for k, m in ((1, 1), (5, 5), (30, 200), (200, 1000)):
        p = rng.random(k) ** 3
        p[: k // 3] = np.round(p[: k // 3], 2)  # ties
        full = np.concatenate([p, np.ones(m - k)])
        np.testing.assert_allclose(bh_qvalues(p, m), false_discovery_control(full)[:k],
                                   rtol=1e-12)


def test_lower_tail_matches_scipy():
    s = np.array([0, 1, 3, 5, 10])
    ka = np.array([10, 20, 30, 5, 40])
    kb = np.array([15, 10, 30, 25, 40])
    np.testing.assert_allclose(S.hypergeom_cdf(s, 100, ka, kb),
                               hypergeom.cdf(s, 100, ka, kb), rtol=1e-10)


# ------------------------------------------------------------------ hand-computed cases


def test_dual_hand_case():
    # 12 concepts; a on in 0-5, b on in 6-10 (never together), c on in 0,6,11.
    x = np.zeros((12, 3), dtype=bool)
    x[0:6, 0] = True
    x[6:11, 1] = True
    x[[0, 6, 11], 2] = True
    res = detect_step(sp.csr_array(x), StructureConfig(alpha=0.05, activity_strata=1))
    # phi = (12*0 - 6*5) / sqrt(6*5*6*7)
    phi = -30 / np.sqrt(6 * 5 * 6 * 7)
    p = fisher_exact([[0, 6], [5, 1]], alternative="less").pvalue
    assert res.n_tests["dual"] == 3
    assert found(res)["dual"] == {(0, 1)}
    assert res.duals["phi"][0] == pytest.approx(phi)
    assert res.duals["p"][0] == pytest.approx(p, rel=1e-9)
    assert res.duals["q"][0] == pytest.approx(min(1.0, 3 * p), rel=1e-9)
    assert res.duals["support"][0] == 11


def test_dependency_hand_case():
    # child on in 0-4; parent on in 0-5 and 10; noise feature on in 3, 7, 8, 9.
    x = np.zeros((16, 3), dtype=bool)
    x[0:5, 0] = True
    x[[0, 1, 2, 3, 4, 5, 10], 1] = True
    x[[3, 7, 8, 9], 2] = True
    res = detect_step(sp.csr_array(x), StructureConfig(activity_strata=1))
    p = fisher_exact([[5, 0], [2, 9]], alternative="greater").pvalue
    assert res.n_tests["dependency"] == 6
    assert found(res)["dependency"] == {(0, 1)}
    d = res.dependencies
    assert d["confidence"][0] == 1.0 and d["support"][0] == 5
    assert d["p"][0] == pytest.approx(p, rel=1e-9)
    assert d["q"][0] == pytest.approx(6 * p, rel=1e-9)


def test_triad_hand_case():
    # i on 0-39, j on 20-59: both on 20-39 (20 concepts), exactly one on 0-19, 40-59.
    # r on 20-39 (all of "both", none of "exactly one") and 70.
    n = 80
    x = np.zeros((n, 3), dtype=bool)
    x[0:40, 0] = True
    x[20:60, 1] = True
    x[list(range(20, 40)) + [70], 2] = True
    cfg = StructureConfig(min_support=3, activity_strata=1)
    res = detect_step(sp.csr_array(x), cfg)
    t = res.triads
    assert found(res)["triad"] == {(0, 1, 2)}
    assoc = fisher_exact([[20, 0], [0, 40]], alternative="greater").pvalue
    p_or = or_reference(20, 20, 20, 0, 20, 0)
    assert res.n_tests["triad"] == 3
    assert t["p_r_ij"][0] == 1.0
    assert t["p_r_i"][0] == pytest.approx(0.5)
    assert t["p_r_j"][0] == pytest.approx(0.5)
    assert t["interaction"][0] == pytest.approx(0.5)
    assert t["p"][0] == pytest.approx(max(assoc, p_or), rel=1e-9)
    assert p_or > assoc  # here the OR alternative is the harder one to exclude
    assert t["q"][0] == pytest.approx(3 * t["p"][0], rel=1e-9)
    assert t["support"][0] == 20


def test_or_gate_p_vectorised_equals_one_test_at_a_time():
    """Many tests at once (several chunks, count pairs shared across them, zero counts)
    give the same floats as each test alone, and agree with the cell-by-cell reference."""
    from ontochron.ontology.structure import or_gate_p

    rng = np.random.default_rng(3)
    n = 700
    nij = rng.integers(1, 25, n)
    nijr = rng.integers(0, nij + 1)
    n_io, n_jo = rng.integers(0, 30, n), rng.integers(0, 30, n)
    r_io, r_jo = rng.integers(0, n_io + 1), rng.integers(0, n_jo + 1)
    together = or_gate_p(nij, nijr, n_io, r_io, n_jo, r_jo)
    alone = np.array([or_gate_p(*(v[k:k + 1] for v in (nij, nijr, n_io, r_io, n_jo, r_jo)))[0]
                      for k in range(n)])
    assert np.array_equal(together, alone)
    for k in rng.choice(n, 5, replace=False):
        ref = or_reference(*(int(v[k]) for v in (nij, nijr, n_io, r_io, n_jo, r_jo)))
        assert together[k] == pytest.approx(ref, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize(("start", "nr", "f"), [(0, 5, 40), (10, 7, 40), (33, 7, 40), (0, 6, 6)])
def test_dependency_hits_equal_the_full_mask(start, nr, f):
    """The pre-filtered search of a row block (square masked, the rest only where a row's or
    column's largest count reaches the need) gives exactly the entries, in the order, of
    comparing the whole block, for both directions, blocks at either end of the matrix
    included."""
    from ontochron.ontology.structure import _dependency_hits

    rng = np.random.default_rng(start + nr + f)
    dense = rng.integers(0, 40, (nr, f - start)).astype(np.uint16)
    need_dep = rng.integers(0, 60, f).astype(np.uint16)
    rows, cols = np.arange(start, start + nr), np.arange(start, f)
    upper = np.triu(np.ones((nr, nr), dtype=bool), 1)
    for row_child, need in ((True, need_dep[rows, None]), (False, need_dep[None, cols])):
        m = dense >= need
        m[:, :nr] &= upper
        want = np.nonzero(m)
        got = _dependency_hits(dense, need_dep, rows, cols, upper, row_child)
        assert want[0].size > 0
        assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1])


def test_few_concepts_cannot_tell_and_from_noisy_or():
    # 5 concepts with both inputs, all with r; 1 of 5 with one input has r. Fisher's
    # "both vs exactly one" test is significant (p = 0.007, the old triad test), but a
    # noisy OR with single-input rates near the observed 1 in 5 gives r to all 5 too easily.
    n = 30
    x = np.zeros((n, 3), dtype=bool)
    x[0:10, 0] = True
    x[5:15, 1] = True
    x[[5, 6, 7, 8, 9, 0, 14, 20], 2] = True
    res = detect_step(sp.csr_array(x), StructureConfig(min_support=3, activity_strata=1))
    assert fisher_exact([[5, 0], [2, 8]], alternative="greater").pvalue * 3 < 0.05
    assert found(res)["triad"] == set()


def test_constant_and_rare_features_not_tested():
    x = np.zeros((10, 4), dtype=bool)
    x[:, 0] = True          # constant: no test
    x[0:2, 1] = True        # below min_support=3
    x[0:5, 2] = True
    x[5:10, 3] = True
    res = detect_step(sp.csr_array(x), StructureConfig())
    assert res.n_tested_features == 2
    assert res.n_tests == {"dual": 1, "dependency": 2, "triad": 0}
    assert found(res)["dual"] == {(2, 3)}


# ------------------------------------------------------------------ reference & planted


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_matches_brute_force(seed):
    x = wired(seed)
    cfg = StructureConfig(alpha=0.1)
    ref = brute_force(x, cfg)
    assert sum(len(v) for v in ref.values()) >= 3  # the comparison is not vacuous
    assert found(detect_step(sp.csr_array(x), cfg)) == ref


def test_planted_structure_recovered():
    x = planted(7)
    res = detect_step(sp.csr_array(x), StructureConfig())
    got = found(res)
    assert (0, 1) in got["dual"]
    assert {(3, 2), (4, 3), (4, 2)} <= got["dependency"]
    assert (5, 6, 7) in got["triad"]
    # the AND output depends on each input; nothing else is wired into the planted block
    assert {(7, 5), (7, 6)} <= got["dependency"]


def test_null_data_respects_fdr():
    any_hit = {"dual": 0, "dependency": 0, "triad": 0}
    for seed in range(20):
        x = column_permuted(planted(100 + seed, n=300, f=30), seed)
        got = found(detect_step(sp.csr_array(x), StructureConfig()))
        for k in any_hit:
            any_hit[k] += bool(got[k])
    # BH on a complete null: P(any discovery) <= alpha = 0.05 per family; Binomial(20, 0.05)
    # exceeds 3 with probability 1.6%.
    assert all(v <= 3 for v in any_hit.values()), any_hit


def test_triad_pair_cap():
    x = planted(7)
    capped = detect_step(sp.csr_array(x), StructureConfig(max_triad_pairs=0))
    assert capped.triads["i"].size == 0 and capped.triad_pairs_capped > 0
    full = detect_step(sp.csr_array(x), StructureConfig())
    assert full.triad_pairs_capped == 0 and full.triad_pairs == capped.triad_pairs_capped


def _prepared(x: np.ndarray) -> tuple[sp.csc_array, np.ndarray]:
    xc = sp.csc_array(sp.csr_array(x).astype(np.int32))
    return xc, np.asarray(xc.sum(axis=0)).ravel().astype(np.int64)


def _as_set(cols: tuple[np.ndarray, ...]) -> set:
    return set(zip(*(v.tolist() for v in cols), strict=True))


def test_blocking_and_pair_cap(monkeypatch):
    xc, n = _prepared(wired(2, n=200, f=30))
    full = S._candidates_scipy(xc, n, StructureConfig())
    ref = sorted(zip((-full.pair[2]).tolist(), full.pair[0].tolist(), full.pair[1].tolist(),
                     strict=True))
    assert len(ref) > 40 and full.pairs_capped == 0
    monkeypatch.setattr(S, "_BLOCK_NNZ", 64)  # many small blocks
    small = S._candidates_scipy(xc, n, StructureConfig())
    for name in ("dual", "dep", "pair"):
        assert _as_set(getattr(small, name)) == _as_set(getattr(full, name)), name
    for cap in (0, 1, 7, 40):
        c = S._candidates_scipy(xc, n, StructureConfig(max_triad_pairs=cap))
        got = list(zip((-c.pair[2]).tolist(), c.pair[0].tolist(), c.pair[1].tolist(),
                       strict=True))
        assert got == ref[:cap]
        assert c.pairs_capped == len(ref) - cap


def test_torch_kernels_match_scipy():
    pytest.importorskip("torch")
    xc, n = _prepared(planted(5, n=200, f=25, rate=0.2))
    cfg = StructureConfig()
    a = S._candidates_scipy(xc, n, cfg)
    b = S._candidates_torch(xc, n, cfg, "cpu")
    for name in ("dual", "dep", "pair"):
        sa, sb = _as_set(getattr(a, name)), _as_set(getattr(b, name))
        assert sa == sb and sa, name
    capped = StructureConfig(max_triad_pairs=10)
    ta, tb = S._candidates_scipy(xc, n, capped), S._candidates_torch(xc, n, capped, "cpu")
    assert [v.tolist() for v in ta.pair] == [v.tolist() for v in tb.pair]
    pi, pj, nij = a.pair
    need = np.maximum(np.ceil(0.7 * nij), 3).astype(np.int64)
    ca = {tuple(t) for k, r, v in S._triad_counts_scipy(xc, pi, pj, need, nij)
          for t in zip(k.tolist(), r.tolist(), v.tolist(), strict=True)}
    cb = {tuple(t) for k, r, v in S._triad_counts_torch(xc, pi, pj, need, "cpu")
          for t in zip(k.tolist(), r.tolist(), v.tolist(), strict=True)}
    assert ca == cb and ca


@pytest.mark.parametrize("kw", [{"alpha": 0}, {"alpha": 1.5}, {"min_support": 0},
                                {"dual_max_phi": 0.2}, {"dep_confidence": 0},
                                {"stability_window": 0}, {"max_triad_pairs": -1},
                                {"device": "tpu"}, {"triad_min_interaction": 2}])
def test_config_validation(kw):
    with pytest.raises(ValueError):
        StructureConfig(**kw)


# ------------------------------------------------------------------ over time


def test_structure_over_time_intervals():
    base = planted(11, n=300, f=16)
    broken = base.copy()
    broken[:, 1] = np.random.default_rng(0).random(300) < 0.5  # dual (0, 1) gone
    mats = [base, base, broken, base]
    names = [f"c{k}" for k in range(300)]
    stack = CodeStack.from_snapshots(
        [Snapshot.create(s, names, m) for s, m in zip((0, 10, 20, 30), mats, strict=True)])
    rel, fstats, counts = structure_over_time(stack, StructureConfig())
    d = rel.of_kind("dual")
    sel = (d.a == 0) & (d.b == 1)
    assert sorted(zip(d.valid_from[sel].tolist(), d.valid_to[sel].tolist(), strict=True)) == \
        [(0, 20), (30, OPEN)]
    # stats come from the interval's last checkpoint
    last = detect_step(sp.csr_array(base), StructureConfig()).duals
    k = np.flatnonzero((last["i"] == 0) & (last["j"] == 1))[0]
    assert d.stats["phi"][sel][0] == pytest.approx(last["phi"][k])
    h = rel.of_kind("hierarchy")
    pairs = set(zip(h.a[h.valid_to == OPEN].tolist(), h.b[h.valid_to == OPEN].tolist(),
                    strict=True))
    assert {(2, 3), (3, 4)} <= pairs and (2, 4) not in pairs
    assert counts["dual_last"] == last["i"].size
    assert counts["dual_intervals"] == len(d)
    assert fstats["first_stable_step"].shape == (16,)
    assert np.all(rel.c[rel.kind != "triad"] == -1)


def test_structure_at_last_checkpoint_only():
    """``at="last"`` finds exactly what the every-checkpoint pass finds at the last step,
    each relation holding from that step on; features' stability layers do not change."""
    rng = np.random.default_rng(3)
    mats = [planted(11, n=300, f=16)]
    for _ in range(3):
        mats.append(mats[-1] ^ (rng.random(mats[-1].shape) < 0.01))
    names = [f"c{k}" for k in range(300)]
    stack = CodeStack.from_snapshots(
        [Snapshot.create(s, names, m) for s, m in zip((0, 10, 20, 30), mats, strict=True)])
    rel_all, fs_all, c_all = structure_over_time(stack, StructureConfig())
    rel_last, fs_last, c_last = structure_over_time(stack, StructureConfig(at="last"))

    def holding(rel):
        return {(k, a, b, c) for k, a, b, c, v in zip(rel.kind.tolist(), rel.a.tolist(),
                                                     rel.b.tolist(), rel.c.tolist(),
                                                     rel.valid_to.tolist(), strict=True)
                if v == OPEN}

    assert holding(rel_last) == holding(rel_all) and len(holding(rel_all)) >= 4
    assert np.all(rel_last.valid_from == 30) and np.all(rel_last.valid_to == OPEN)
    assert np.any(rel_all.valid_from < 30)
    for k in ("dual_last", "dependency_last", "triad_last", "hierarchy_last"):
        assert c_last[k] == c_all[k]
    np.testing.assert_array_equal(fs_last["layer"], fs_all["layer"])
    with pytest.raises(ValueError, match="at must be"):
        StructureConfig(at="first")


def test_cuda_device_same_results_or_cpu_fallback():
    torch = pytest.importorskip("torch")
    x = sp.csr_array(planted(3, n=300, f=20))
    ref = found(detect_step(x, StructureConfig()))
    if torch.cuda.is_available():
        got = found(detect_step(x, StructureConfig(device="cuda")))
    else:
        with pytest.warns(RuntimeWarning, match="CUDA is not available"):
            got = found(detect_step(x, StructureConfig(device="cuda")))
    assert got == ref and ref["triad"]


def test_over_time_uses_only_present_concepts():
    x = planted(21, n=300, f=12)
    names = [f"c{k}" for k in range(300)]
    # step 10 keeps only the first 150 concepts; the stack pads the others with empty rows,
    # which must not be counted as "all features off".
    stack = CodeStack.from_snapshots([Snapshot.create(0, names, x),
                                      Snapshot.create(10, names[:150], x[:150])])
    rel, _, counts = structure_over_time(stack, StructureConfig())
    ref = found(detect_step(sp.csr_array(x[:150]), StructureConfig()))
    padded = found(detect_step(stack.codes[1], StructureConfig()))
    assert padded != ref  # the padding would change the answer
    d = rel.of_kind("dependency")
    at_last = set(zip(d.a[d.valid_to == OPEN].tolist(), d.b[d.valid_to == OPEN].tolist(),
                      strict=True))
    assert at_last == ref["dependency"] and counts["dependency_last"] == len(at_last)


# ------------------------------------------------------------------ fast paths


@pytest.mark.parametrize("seed", range(4))
def test_dense_cooc_and_dual_ranges_match_reference(seed):
    """The dense co-occurrence equals X^T X, and the odds-range dual enumeration finds the
    same candidates as the dense block over all dual-capable features, also when frequent
    features make almost every pair dual-capable."""
    rng = np.random.default_rng(seed)
    x = planted(seed, n=300, f=30, rate=0.1)
    x[:, 8:12] = rng.random((300, 4)) < 0.85  # frequent features: many capable pairs
    x[:, 12] = ~x[:, 8]
    xc, n = _prepared(x)
    for phi in (-0.3, -0.05, -0.9):
        cfg = StructureConfig(dual_max_phi=phi)
        cand = S._candidates_scipy(xc, n, cfg)
        d = x.astype(np.int64)
        np.testing.assert_array_equal(cand.cooc, d.T @ d)
        ref = _as_set(S._stack(S._dual_dense(xc, n, cfg)))
        assert _as_set(cand.dual) == ref
        assert ref or phi == -0.9


def test_triad_bit_counts_equal_filtered_sparse_counts():
    """Bitset counting yields exactly the sparse-product triples that can still pass the
    single-input filters (r not an input, P(r|i) and P(r|j) below the cut)."""
    x = wired(4, n=300, f=40)
    x[:, 30:] |= np.random.default_rng(0).random((300, 10)) < 0.3
    xc, n = _prepared(x)
    cfg = StructureConfig(max_triad_pairs=None)
    cand = S._candidates_scipy(xc, n, cfg)
    pi, pj, nij = cand.pair
    need = np.maximum(np.ceil(0.7 * nij), 3).astype(np.int64)
    g = x.astype(np.int64).T @ x.astype(np.int64)
    ref = {(k, r, v) for kk, rr, vv in S._triad_counts_scipy(xc, pi, pj, need, nij)
           for k, r, v in zip(kk.tolist(), rr.tolist(), vv.tolist(), strict=True)
           if r not in (pi[k], pj[k]) and g[pi[k], r] / n[pi[k]] < 0.7 - 1e-9
           and g[pj[k], r] / n[pj[k]] < 0.7 - 1e-9}
    got = {t for kk, rr, vv in S._triad_counts_bits(xc, cand.cooc, n, pi, pj, need, cfg)
           for t in zip(kk.tolist(), rr.tolist(), vv.tolist(), strict=True)}
    assert got == ref and len(ref) > 10


@pytest.mark.parametrize("seed", range(3))
def test_without_dense_cooc_same_results(monkeypatch, seed):
    """The dense co-occurrence path and the sparse fallback give the same tables."""
    x = sp.csr_array(planted(seed, n=400, f=30))
    fast = detect_step(x, StructureConfig())
    monkeypatch.setattr(S, "_DENSE_COOC_BYTES", 0)
    slow = detect_step(x, StructureConfig())
    for fam in ("duals", "dependencies", "triads"):
        a, b = getattr(fast, fam), getattr(slow, fam)
        assert a.keys() == b.keys()
        for k in a:
            np.testing.assert_allclose(a[k], b[k], rtol=1e-12, err_msg=f"{fam}.{k}")
    assert found(fast) == found(slow) and fast.triads["i"].size > 0


def test_set_bits_matches_unpacked_positions():
    rng = np.random.default_rng(8)
    dense = rng.random((37, 200)) < 0.05
    dense[3] = True  # a full row: 64 bits per word
    packed = np.zeros((37, 32), dtype=np.uint8)
    packed[:, :25] = np.packbits(dense, axis=1, bitorder="little")
    k, r = S._set_bits(packed.view("<u8"))
    assert sorted(zip(k.tolist(), r.tolist(), strict=True)) == \
        sorted(zip(*(v.tolist() for v in np.nonzero(dense)), strict=True))


@pytest.mark.parametrize("seed", range(2))
def test_cooc_products_and_blocks_give_identical_results(monkeypatch, seed):
    """The co-occurrence matrix from dense slabs or from the sparse product, in blocks,
    slabs and transposed tiles that do not line up, equals X^T X, and detection gives the
    very same tables (bit for bit) as with one block and as without the dense matrix."""
    x = planted(seed, n=400, f=30)
    xc, n = _prepared(x)
    ref = detect_step(sp.csr_array(x), StructureConfig())
    assert found(ref)
    monkeypatch.setattr(S, "_BLOCK_NNZ", 7 * 30)  # 7 rows per block
    monkeypatch.setattr(S, "_SLAB", 4)  # slabs start inside blocks
    monkeypatch.setattr(S, "_TILE", 3)
    d = x.astype(np.int64)
    runs = []
    for ratio in (1e9, 0.0):  # dense slabs; the sparse product
        monkeypatch.setattr(S, "_SLAB_WORK_RATIO", ratio)
        np.testing.assert_array_equal(S._candidates_scipy(xc, n, StructureConfig()).cooc,
                                      d.T @ d)
        runs.append(detect_step(sp.csr_array(x), StructureConfig()))
    monkeypatch.setattr(S, "_DENSE_COOC_BYTES", 0)
    runs.append(detect_step(sp.csr_array(x), StructureConfig()))
    for got in runs:
        for fam in ("duals", "dependencies", "triads"):
            a, b = getattr(ref, fam), getattr(got, fam)
            for k in a:
                assert a[k].dtype == b[k].dtype and np.array_equal(a[k], b[k]), (fam, k)
        assert got.triad_pairs == ref.triad_pairs
