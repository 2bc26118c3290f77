"""Matching and lineage building on planted dictionaries with a known lineage, independent
random dictionaries, row shuffles and the files round trip."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from ontochron.lineage import match as match_mod
from ontochron.lineage.build import build_lineage
from ontochron.lineage.files import read_lineage, write_lineage
from ontochron.lineage.match import link, unit_rows
from ontochron.lineage.null import link_threshold, random_threshold
from ontochron.lineage.result import Lineage
from tests.lineage_planted import (
    _drift,
    _unit,
    broken_identities,
    check_recovery,
    planted,
    warm_started,
)


def _predicted(lk) -> dict[str, set]:
    return {"continue": {(i, j) for i, j, _ in lk.continues},
            "split": {(i, j) for i, kids in lk.splits for j, _ in kids},
            "merge": {(i, j) for parents, j in lk.merges for i, _ in parents},
            "birth": set(lk.births.tolist()), "death": set(lk.deaths.tolist())}


def _score(p, **kw) -> dict[str, tuple[int, int, int]]:
    """kind -> (true positives, predicted, true) summed over all consecutive pairs."""
    tot = {k: [0, 0, 0] for k in ("continue", "split", "merge", "birth", "death")}
    for t, (A, B) in enumerate(zip(p.decoders, p.decoders[1:], strict=False)):
        A, B = unit_rows(A), unit_rows(B)
        thr, _ = link_threshold(A, B)
        pred = _predicted(link(A, B, thr, **kw))
        for k, truth in p.truth[t].items():
            tot[k][0] += len(pred[k] & truth)
            tot[k][1] += len(pred[k])
            tot[k][2] += len(truth)
    return {k: tuple(v) for k, v in tot.items()}


@pytest.mark.parametrize("seed", [0, 1])
def test_planted_lineage_recovered(seed):
    check_recovery(_score(planted(seed=seed, big_drift=0.3)))


def test_assignment_is_stable():
    """No blocking pair: no candidate link is stronger than the links both of its latents got
    (an unmatched latent counts as cosine -inf), on the planted run with splits and merges."""
    p = planted(seed=2, steps=3)
    for A, B in zip(p.decoders, p.decoders[1:], strict=False):
        A, B = unit_rows(A), unit_rows(B)
        thr, _ = link_threshold(A, B)
        c = match_mod.candidates(A, B, thr)
        mr, mc = match_mod.assign(c, A.shape[0], B.shape[0])
        got_a, got_b = np.full(A.shape[0], -np.inf), np.full(B.shape[0], -np.inf)
        got_a[mr] = got_b[mc] = np.einsum("ij,ij->i", A[mr], B[mc])
        assert np.unique(mr).size == mr.size and np.unique(mc).size == mc.size
        blocking = (c.cos > got_a[c.rows] + 1e-6) & (c.cos > got_b[c.cols] + 1e-6)
        assert not blocking.any()


def test_warm_start_chain_trap():
    """Issue 18: on a warm-started run a latent that barely moved (self cosine 0.98) stays a
    continue of itself even where two weaker links (0.8 + 0.6) through a re-purposed latent
    outscore it in summed cosine; the re-purposed latent is a death and a birth."""
    w = warm_started(seed=0)
    assert sum(len(t) for t in w.traps) >= 12
    lin = build_lineage((t, unit_rows(W)) for t, W in enumerate(w.decoders))
    assert broken_identities(lin, w.decoders) == []
    for t, traps in enumerate(w.traps):
        A, B = unit_rows(w.decoders[t]), unit_rows(w.decoders[t + 1])
        lk = link(A, B, link_threshold(A, B)[0])
        cont = {(i, j) for i, j, _ in lk.continues}
        for c, r in traps:
            assert float(A[c] @ B[r]) + float(A[r] @ B[c]) > float(A[c] @ B[c])  # the trap
            assert (c, c) in cont and (c, r) not in cont and (r, c) not in cont
            assert r in lk.births.tolist() and r in lk.deaths.tolist()


def test_torch_path_same_links():
    """The torch product (device != 'cpu'; here torch on cpu:0) gives the numpy links."""
    p = planted(seed=3, steps=2)
    A, B = unit_rows(p.decoders[0]), unit_rows(p.decoders[1])
    thr, _ = link_threshold(A, B)
    assert _predicted(link(A, B, thr, device="cpu:0")) == _predicted(link(A, B, thr))


def test_crowded_candidates_capped_at_topk():
    """A parent with many near copies keeps at most topk row candidates, and the links still
    cover every copy's best partner."""
    rng = np.random.default_rng(0)
    p = _unit(rng.standard_normal(128))
    B = np.stack([_drift(p, 0.9, rng) for _ in range(20)])
    c = match_mod.candidates(p[None].astype(np.float32), B.astype(np.float32), 0.3, topk=4)
    assert c.rows.size == 20  # 4 row-topk plus every column's best (all point at row 0)
    assert set(c.cols.tolist()) == set(range(20))


def test_independent_dictionaries_rarely_link():
    """Independent random dictionaries: at most 1 % of latents get any link."""
    rng = np.random.default_rng(5)
    linked = total = 0
    for _ in range(4):
        A = unit_rows(rng.standard_normal((800, 128)))
        B = unit_rows(rng.standard_normal((900, 128)))
        thr, info = link_threshold(A, B)
        assert info["random"] > 0 and info["permuted"] > 0
        lk = link(A, B, thr)
        linked += 800 - lk.deaths.size
        total += 800
    assert linked / total <= 0.01


def test_random_null_matches_simulation():
    """The exact random null: the best of n_b random cosines exceeds the threshold at rate
    alpha in a simulation."""
    rng = np.random.default_rng(0)
    d, n_b, alpha = 24, 40, 0.05
    thr = random_threshold(d, n_b, alpha)
    a = unit_rows(rng.standard_normal((4000, d)))
    best = np.array([(unit_rows(rng.standard_normal((n_b, d))) @ a[i]).max()
                     for i in range(a.shape[0])])
    hits = int((best >= thr).sum())
    assert stats.binomtest(hits, a.shape[0], alpha).pvalue > 1e-3


def test_continue_plus_birth_is_not_a_split():
    """A latent that continues almost unchanged next to a new latent merely similar to it is a
    continue plus a birth; two children that each carry part of the parent are a split."""
    rng = np.random.default_rng(1)
    d = 256
    others = unit_rows(rng.standard_normal((50, d)))
    p = _unit(rng.standard_normal(d))
    c1 = _drift(p, 0.98, rng)
    near = _drift(p, 0.45, rng)  # similar to p (above threshold) but explains nothing new
    A = np.vstack([others, p[None]]).astype(np.float32)
    B = np.vstack([others, c1[None], near[None]]).astype(np.float32)
    thr, _ = link_threshold(A, B)
    assert near @ p > thr
    lk = link(A, B, thr)
    assert (50, 50, pytest.approx(float(p @ c1), abs=1e-5)) in lk.continues
    assert lk.splits == [] and lk.births.tolist() == [51]
    s1, s2 = _drift(p, 0.72, rng), _drift(p, 0.72, rng)
    B2 = np.vstack([others, s1[None], s2[None]]).astype(np.float32)
    lk2 = link(A, B2, thr)
    assert [(i, [j for j, _ in kids]) for i, kids in lk2.splits] == [(50, [50, 51])]


def _chains(lin: Lineage, perms: list[np.ndarray]) -> tuple[set, set, dict]:
    """Row-order-free view: lineages as sets of (t, original row); events on those sets;
    drift per (t, original row)."""
    members: dict[int, set] = {}
    drift = {}
    for t, feats in enumerate(lin.features):
        for r, f in enumerate(feats.tolist()):
            orig = int(perms[t][r])
            members.setdefault(f, set()).add((t, orig))
            drift[(t, orig)] = (lin.cos_prev[t][r], lin.cos_first[t][r])
    chain = {f: frozenset(m) for f, m in members.items()}
    events = {(e.kind, e.step, None if e.source is None else chain[e.source],
               None if e.target is None else chain[e.target]) for e in lin.events}
    return set(chain.values()), events, drift


def test_lineage_independent_of_row_order():
    p = planted(seed=4, steps=4)
    steps = [0, 100, 200, 300]
    base = build_lineage((s, unit_rows(W)) for s, W in zip(steps, p.decoders, strict=True))
    rng = np.random.default_rng(9)
    perms = [rng.permutation(W.shape[0]) for W in p.decoders]
    shuf = build_lineage((s, unit_rows(W[perm])) for s, W, perm
                         in zip(steps, p.decoders, perms, strict=True))
    ident = [np.arange(W.shape[0]) for W in p.decoders]
    c0, e0, d0 = _chains(base, ident)
    c1, e1, d1 = _chains(shuf, perms)
    assert c0 == c1 and e0 == e1
    assert base.threshold == pytest.approx(shuf.threshold)
    for key, (cp, cf) in d0.items():
        np.testing.assert_allclose(d1[key], (cp, cf), atol=1e-5)
    assert base.n_lineages == shuf.n_lineages
    assert len(base.events) == len(shuf.events)


def test_fixed_dictionary_is_the_identity_lineage():
    W = unit_rows(np.random.default_rng(0).standard_normal((40, 64)))
    lin = build_lineage((s, W) for s in (0, 10, 20))
    ident = Lineage.identity([0, 10, 20], 40)
    assert [f.tolist() for f in lin.features] == [f.tolist() for f in ident.features]
    assert [(e.kind, e.step, e.target) for e in lin.events] == \
        [(e.kind, e.step, e.target) for e in ident.events]
    assert lin.counts()["continue"] == 80 == ident.counts()["continue"]
    np.testing.assert_allclose(lin.cos_first[2], 1.0, atol=1e-5)
    assert (ident.index_matrix() == np.tile(np.arange(40)[:, None], 3)).all()


def test_drift_and_ids_along_a_lineage():
    """cos_prev and cos_first follow the planted drift; new lineages get the next ids in
    dictionary index order; index_matrix inverts features."""
    rng = np.random.default_rng(3)
    d = 256
    base = unit_rows(rng.standard_normal((30, d)))
    v1 = np.stack([_drift(v, 0.95, rng) for v in base])
    v2 = np.stack([_drift(v, 0.95, rng) for v in v1])
    born = unit_rows(rng.standard_normal((2, d)))
    W2 = np.vstack([born[:1], v2, born[1:]])  # births at index 0 and 31
    lin = build_lineage([(0, base), (1, v1), (2, W2.astype(np.float32))])
    assert lin.features[2][0] == 30 and lin.features[2][31] == 31
    np.testing.assert_array_equal(lin.features[2][1:31], np.arange(30))
    np.testing.assert_allclose(lin.cos_prev[2][1:31], np.sum(v1 * v2, axis=1), atol=1e-5)
    np.testing.assert_allclose(lin.cos_first[2][1:31], np.sum(base * v2, axis=1), atol=1e-5)
    assert np.isnan(lin.cos_prev[2][0]) and lin.cos_first[2][0] == 1.0
    M = lin.index_matrix()
    assert M[30].tolist() == [-1, -1, 0] and M[5].tolist() == [5, 5, 6]


def test_files_round_trip(tmp_path):
    p = planted(seed=6, steps=3)
    lin = build_lineage((s, unit_rows(W)) for s, W in zip((0, 5, 9), p.decoders, strict=True))
    write_lineage(lin, tmp_path / "out")
    back = read_lineage(tmp_path / "out")
    assert back.steps.tolist() == [0, 5, 9] and back.n_lineages == lin.n_lineages
    assert [f.tolist() for f in back.features] == [f.tolist() for f in lin.features]
    for a, b in zip(back.cos_prev + back.cos_first, lin.cos_prev + lin.cos_first, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-5)
    assert [(e.kind, e.step, e.source, e.target) for e in back.events] == \
        [(e.kind, e.step, e.source, e.target) for e in lin.events]
    splits = [e for e in back.events if e.kind == "split"]
    assert splits and all(0 < e.cosine <= 1 for e in splits)
    assert back.threshold == pytest.approx(lin.threshold)
