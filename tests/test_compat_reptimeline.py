"""--compat reptimeline must report exactly what reptimeline 0.2.2 reports on the same data.

Every test runs the real reptimeline package (TimelineTracker + BitDiscovery, as its CLI
does) on the same snapshots and compares counts, event lists, curves, stability, hierarchy,
and, per checkpoint, the relation intervals against discover() run on that snapshot.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("reptimeline")

from reptimeline.core import ConceptSnapshot  # noqa: E402
from reptimeline.discovery import BitDiscovery  # noqa: E402
from reptimeline.extractors.base import RepresentationExtractor  # noqa: E402
from reptimeline.stats import benjamini_hochberg as rt_bh  # noqa: E402
from reptimeline.tracker import TimelineTracker  # noqa: E402

from ontochron.ingest.snapshot import CodeStack, Snapshot  # noqa: E402
from ontochron.ontology import compat_reptimeline as cr  # noqa: E402
from ontochron.ontology.intervals import holds_at  # noqa: E402


class _Jaccard(RepresentationExtractor):
    """Same behaviour as reptimeline's CLI extractor (shared = both bits 1)."""

    def extract(self, checkpoint_path, concepts, device="cpu"):  # pragma: no cover
        raise NotImplementedError

    def similarity(self, code_a, code_b):  # pragma: no cover - unused by the tracker
        a = {i for i, v in enumerate(code_a) if v == 1}
        b = {i for i, v in enumerate(code_b) if v == 1}
        return len(a & b) / len(a | b) if a | b else 1.0

    def shared_features(self, code_a, code_b):
        return [i for i in range(min(len(code_a), len(code_b)))
                if code_a[i] == 1 and code_b[i] == 1]


def make_case(seed: int, n: int, f: int, t: int, density: float, *, vanish: float = 0.1,
              steps: list[int] | None = None, jump_at: int | None = None):
    """Random snapshots with planted dual (0,1), dependency (3 -> 2) and AND gate (4&5 -> 6),
    concepts vanishing/appearing, and shuffled concept orders; returns (ours, theirs)."""
    rng = np.random.default_rng(seed)
    names = [f"k{int(v)}" for v in rng.choice(10 * n, size=n, replace=False)]
    base = rng.random((n, f)) < density
    base[:, 4:6] = rng.random((n, 2)) < 0.5  # gate inputs dense enough for support >= 3
    steps = steps if steps is not None else sorted(rng.choice(1000, size=t, replace=False) * 10)
    ours, theirs = [], []
    for s in range(t):
        flip = 0.5 if s == jump_at else 0.08 / (s + 1)
        base = base ^ (rng.random((n, f)) < flip)
        codes = base.copy()
        codes[:, 1] = ~codes[:, 0] ^ (rng.random(n) < 0.05)
        codes[:, 2] |= codes[:, 3]
        codes[:, 6] = codes[:, 4] & codes[:, 5]
        keep = rng.random(n) >= vanish
        if s == t - 1:
            keep[: n // 2] = True
        idx = rng.permutation(np.flatnonzero(keep))
        c = codes[idx].astype(np.int64)
        ours.append(Snapshot.create(steps[s], [names[i] for i in idx], c))
        theirs.append(ConceptSnapshot(step=int(steps[s]),
                                      codes={names[i]: [int(v) for v in c[k]]
                                             for k, i in enumerate(idx)}))
    return CodeStack.from_snapshots(ours), theirs


CASES = {
    "small": dict(seed=1, n=40, f=12, t=6, density=0.15),
    "vanishing": dict(seed=2, n=50, f=16, t=7, density=0.1, vanish=0.3, jump_at=4),
    # steps must lie in [0, 2**56) (issue 12): uneven gaps starting at 0 instead of negatives
    "uneven_steps": dict(seed=6, n=30, f=10, t=7, density=0.2,
                         steps=[0, 100, 200, 300, 500, 600, 800]),
    "long_jump": dict(seed=5, n=25, f=9, t=12, density=0.2, vanish=0.05, jump_at=7),
    "one_step": dict(seed=7, n=20, f=8, t=1, density=0.3),
    "two_steps": dict(seed=8, n=20, f=8, t=2, density=0.3, vanish=0.3),
    "dense": dict(seed=4, n=60, f=14, t=5, density=0.35, vanish=0.0, jump_at=2),
}


@pytest.fixture(scope="module", params=list(CASES))
def case(request):
    stack, snaps = make_case(**CASES[request.param])
    timeline = TimelineTracker(_Jaccard()).analyze(snaps)
    report = BitDiscovery().discover(snaps[-1], timeline=timeline)
    onto = cr.analyze_reptimeline(stack)
    return stack, snaps, timeline, report, onto


def _ev(onto, kind):
    e = onto.events
    m = e.kind == kind
    return list(zip(e.step[m].tolist(), [onto.concepts[c] for c in e.concept[m]],
                    e.feature[m].tolist(), e.detail[m].tolist(), strict=True))


def test_summary_counts(case):
    _, _, tl, rep, onto = case
    s = onto.summary
    assert s["mode"] == "reptimeline"
    assert s["births"] == len(tl.births)
    assert s["deaths"] == len(tl.deaths)
    assert s["connections"] == len([c for c in tl.connections if c.event_type == "form"])
    assert s["phase_transitions"] == len(tl.phase_transitions)
    assert s["duals"] == len(rep.discovered_duals)
    assert s["dependencies"] == len(rep.discovered_deps)
    assert s["triads"] == len(rep.discovered_triadic_deps)


def test_planted_structure_found(case):
    stack, _, _, rep, onto = case
    if stack.n_steps < 3:
        pytest.skip("too few concepts/steps for planted structure")
    assert onto.summary["dependencies"] > 0 and onto.summary["triads"] > 0
    assert any((d.bit_child, d.bit_parent) == (3, 2) for d in rep.discovered_deps)
    assert any((t.bit_i, t.bit_j, t.bit_r) == (4, 5, 6) for t in rep.discovered_triadic_deps)


def test_birth_death_lists(case):
    _, _, tl, _, onto = case
    assert [(s, c, f) for s, c, f, _ in _ev(onto, "birth")] == \
        [(e.step, e.concept, e.code_index) for e in tl.births]
    assert [(s, c, f) for s, c, f, _ in _ev(onto, "death")] == \
        [(e.step, e.concept, e.code_index) for e in tl.deaths]


def test_connection_events(case):
    _, _, tl, _, onto = case
    ours = [(s, c, json.loads(d)["b"], json.loads(d)["shared"])
            for s, c, _, d in _ev(onto, "connection_form")]
    assert ours == [(e.step, e.concept_a, e.concept_b, len(e.shared_indices))
                    for e in tl.connections]


def test_phase_transitions_and_curves(case):
    _, _, tl, _, onto = case
    ours = [(s, json.loads(d)) for s, _, _, d in _ev(onto, "phase_transition")]
    assert [(s, d["metric"], d["direction"]) for s, d in ours] == \
        [(p.step, p.metric, p.direction) for p in tl.phase_transitions]
    assert [d["delta"] for _, d in ours] == pytest.approx([p.delta for p in tl.phase_transitions])
    for name in ("entropy", "churn_rate", "utilization"):
        assert onto.curves[name].tolist() == pytest.approx(tl.curves[name], rel=1e-12, abs=0)


def test_stability_and_hierarchy(case):
    _, _, tl, rep, onto = case
    stab = onto.feature_stats["stability"]
    if not tl.stability:  # reptimeline: {} with < 2 checkpoints
        assert np.isnan(stab).all()
    else:
        assert stab.tolist() == pytest.approx([tl.stability[i] for i in range(stab.size)])
    first = onto.feature_stats["first_stable_step"]
    layer = onto.feature_stats["layer"]
    for h in rep.discovered_hierarchy:
        want = -1 if h.first_stable_step is None else h.first_stable_step
        assert (first[h.bit_index], layer[h.bit_index]) == (want, h.layer)
        assert onto.feature_stats["n_dependents"][h.bit_index] == h.n_dependents


def test_discovery_lists_last_snapshot(case):
    stack, _, _, rep, onto = case
    rel = onto.relations
    last = int(stack.steps[-1])
    at = holds_at(rel.valid_from, rel.valid_to, last)
    duals = rel.of_kind("dual")
    m = holds_at(duals.valid_from, duals.valid_to, last)
    assert set(zip(duals.a[m].tolist(), duals.b[m].tolist(), strict=True)) == \
        {(d.bit_a, d.bit_b) for d in rep.discovered_duals}
    assert at.any()


def test_relations_every_checkpoint(case):
    """At each checkpoint the open relations equal reptimeline's discover() on that snapshot
    (fresh RandomState(42) each time), and connections equal a brute-force pair scan."""
    stack, snaps, _, _, onto = case
    rel = onto.relations
    last_names = list(snaps[-1].codes)
    disc = BitDiscovery()
    for snap in snaps:
        step = snap.step
        rep = disc.discover(snap)

        def held(kind, cols=("a", "b"), step=step):
            r = rel.of_kind(kind)
            m = holds_at(r.valid_from, r.valid_to, step)
            return sorted(zip(*(getattr(r, c)[m].tolist() for c in cols), strict=True))

        assert held("dual") == sorted((d.bit_a, d.bit_b) for d in rep.discovered_duals)
        assert held("dependency") == sorted((d.bit_child, d.bit_parent)
                                            for d in rep.discovered_deps)
        assert held("triad", ("a", "b", "c")) == sorted(
            (d.bit_i, d.bit_j, d.bit_r) for d in rep.discovered_triadic_deps)
        want = set()
        for i, a in enumerate(last_names):
            for b in last_names[i + 1:]:
                ca, cb = snap.codes.get(a), snap.codes.get(b)
                if ca is not None and cb is not None and any(x and y for x, y in zip(ca, cb, strict=True)):
                    want.add((a, b))
        got = {(onto.concepts[a], onto.concepts[b]) for a, b in held("connection")}
        assert got == want
        # activations hold exactly where the code bit is on
        acts = onto.activations
        m = holds_at(acts.valid_from, acts.valid_to, step)
        assert {(onto.concepts[c], f) for c, f in zip(acts.a[m], acts.b[m], strict=True)} == \
            {(c, i) for c, code in snap.codes.items() for i, v in enumerate(code) if v}


def test_triad_stats_order_last_snapshot(case):
    stack, _, _, rep, onto = case
    tri = onto.relations.of_kind("triad")
    m = tri.valid_to == -1
    got = sorted(zip(tri.a[m].tolist(), tri.b[m].tolist(), tri.c[m].tolist(),
                     tri.stats["interaction"][m].tolist(), strict=True))
    want = sorted((d.bit_i, d.bit_j, d.bit_r, d.interaction_strength)
                  for d in rep.discovered_triadic_deps)
    assert [g[:3] for g in got] == [w[:3] for w in want]
    assert [g[3] for g in got] == pytest.approx([w[3] for w in want])


@pytest.mark.parametrize("n", [1, 2, 7, 33, 257])
def test_permutation_stream_matches_randomstate(n):
    rs = np.random.RandomState(42)
    col = (np.arange(n) % 3 == 0).astype(np.int64)
    want = np.array([rs.permutation(col) for _ in range(1500)])  # what reptimeline does
    s = cr.PermutationStream(n)
    got = np.concatenate([s.block(1000), s.block(500)])
    np.testing.assert_array_equal(col[got], want)


def test_count_ge_matches_bruteforce():
    rng = np.random.default_rng(7)
    n = 40
    perms = np.array([rng.permutation(n) for _ in range(300)], dtype=np.int32)
    s_i = np.sort(rng.choice(n, 15, replace=False))
    s_j = np.sort(rng.choice(n, 12, replace=False))
    s_ij = np.intersect1d(s_i, s_j)
    is_r = (rng.random(n) < 0.3).astype(np.int64)
    for obs in (0.0, 0.1, 0.3):
        want = 0
        for p in perms:
            perm_r = is_r[p]
            v = perm_r[s_ij].sum() / s_ij.size - max(perm_r[s_i].sum() / s_i.size,
                                                     perm_r[s_j].sum() / s_j.size)
            want += v >= obs
        assert cr.count_ge(perms, s_ij, s_i, s_j, is_r, obs) == want


def test_benjamini_hochberg_matches_reptimeline():
    rng = np.random.default_rng(3)
    for m in (1, 5, 50, 400):
        p = np.round(rng.random(m) ** 3, 3)  # ties included
        np.testing.assert_array_equal(cr.benjamini_hochberg(p), rt_bh(p, alpha=0.05))


@pytest.mark.parametrize("name", ["small", "dense"])
def test_triad_pvalues_equal_reptimelines_own(name, monkeypatch):
    """The p-values of every candidate triad equal the ones reptimeline computes (read from
    what its discover() hands to its BH step): fails if the stream or the counting changes."""
    import reptimeline.stats as rt_stats

    stack, snaps = make_case(**CASES[name])
    seen = []
    real_bh = rt_stats.benjamini_hochberg

    def recording_bh(p, alpha=0.05):
        seen.append(np.array(p, dtype=np.float64))
        return real_bh(p, alpha=alpha)

    monkeypatch.setattr(rt_stats, "benjamini_hochberg", recording_bh)
    BitDiscovery().discover(snaps[-1])
    t = stack.n_steps - 1
    x = cr._snap_matrix(stack, t)
    counts, co = cr._cooccurrence(x)
    cand = cr._triad_candidates(x, counts, co)
    assert cand["i"].size >= 5  # enough triads to exercise several blocks
    ours = cr.triad_pvalues([(x, cand)])[0]
    assert len(seen) == 1
    np.testing.assert_array_equal(ours, seen[0])
    # several snapshots of one size share one stream
    again = cr.triad_pvalues([(x, cand), (x, {k: v[:3] for k, v in cand.items()})])
    np.testing.assert_array_equal(again[0], seen[0])
    np.testing.assert_array_equal(again[1], seen[0][:3])
