"""Lifecycle (ACTIVATES intervals, births, deaths, feature stats), curves and phase
transitions: hand-computed cases, brute-force references on random stacks, planted jumps."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from ontochron.errors import InputError
from ontochron.ontology import OntologyConfig, analyze
from ontochron.ontology.intervals import OPEN
from ontochron.ontology.phases import phase_events, transition_mask
from tests.synthetic import drifting_stack, stack_from_csr, stack_from_dense

NO_EXTRA = OntologyConfig(structure=False, connections=False)


def _hand_stack():
    """5 concepts, 4 features, steps 0/10/20/30; B absent at 20, E gone after 10, C new at 30."""
    a = {0: [1, 0, 0, 0], 10: [1, 1, 0, 0], 20: [0, 1, 0, 0], 30: [1, 1, 0, 0]}
    b = {0: [0, 0, 1, 0], 10: [0, 0, 1, 0], 30: [0, 0, 1, 0]}
    d = {0: [0, 0, 1, 0], 10: [0, 0, 0, 1], 20: [0, 0, 0, 0], 30: [0, 0, 0, 0]}
    e = {0: [0, 1, 0, 0], 10: [0, 1, 0, 0]}
    c = {30: [1, 0, 0, 0]}
    frames = []
    for step in (0, 10, 20, 30):
        names, rows = [], []
        for name, codes in (("A", a), ("B", b), ("D", d), ("E", e), ("C", c)):
            if step in codes:
                names.append(name)
                rows.append(codes[step])
        frames.append((step, names, np.array(rows)))
    return stack_from_dense(frames)


def _table(ont, kind):
    ev = ont.events
    m = ev.kind == kind
    return sorted((ont.concepts[c], int(f), int(s))
                  for c, f, s in zip(ev.concept[m], ev.feature[m], ev.step[m], strict=True))


def test_hand_computed_lifecycle():
    ont = analyze(_hand_stack(), NO_EXTRA, progress=False)
    acts = ont.activations
    got = sorted((ont.concepts[a], int(b), int(f), int(t)) for a, b, f, t in
                 zip(acts.a, acts.b, acts.valid_from, acts.valid_to, strict=True))
    assert got == sorted([("A", 0, 0, 20), ("A", 0, 30, OPEN), ("A", 1, 10, OPEN),
                          ("B", 2, 0, 20), ("B", 2, 30, OPEN), ("D", 2, 0, 10),
                          ("D", 3, 10, 20), ("E", 1, 0, 20), ("C", 0, 30, OPEN)])
    assert _table(ont, "birth") == sorted([("A", 0, 0), ("A", 1, 10), ("B", 2, 0), ("D", 2, 0),
                                           ("D", 3, 10), ("E", 1, 0), ("C", 0, 30)])
    # A's feature 0 comes back and B only vanishes for one checkpoint: not deaths. E's
    # feature dies when E disappears for good (absence is not activity).
    assert _table(ont, "death") == [("D", 2, 10), ("D", 3, 20), ("E", 1, 20)]
    fs = ont.feature_stats
    assert fs["birth_step"].tolist() == [0, 0, 0, 10]
    assert fs["death_step"].tolist() == [-1, -1, -1, 20]
    # 8 (concept, consecutive pair) slots with both present; flips per feature 2, 1, 1, 2.
    np.testing.assert_allclose(fs["stability"], [6 / 8, 7 / 8, 7 / 8, 6 / 8])
    assert ont.summary["births"] == 7 and ont.summary["deaths"] == 3


def test_hand_computed_curves():
    ont = analyze(_hand_stack(), NO_EXTRA, progress=False)
    cv = ont.curves
    np.testing.assert_allclose(cv["churn"], [0.0, 0.5, 1.0, 0.5])
    np.testing.assert_allclose(cv["utilization"], [3 / 4, 1.0, 1.0, 1.0])
    np.testing.assert_allclose(cv["active_fraction"], [4 / 16, 5 / 16, 1 / 8, 4 / 16])
    h = lambda p: -(p * math.log2(p) + (1 - p) * math.log2(1 - p))  # noqa: E731
    np.testing.assert_allclose(cv["entropy"][0], (2 * h(0.25) + 1.0 + 0.0) / 4)
    # t=20: A=0100, D=0000 -> rates 0, 1/2, 0, 0
    np.testing.assert_allclose(cv["entropy"][2], 0.25)


def _random_stack(seed, n_steps=6, n_concepts=9, n_features=7):
    rng = np.random.default_rng(seed)
    present = rng.random((n_steps, n_concepts)) < 0.8
    dense = rng.random((n_steps, n_concepts, n_features)) < 0.35
    # Persistence so runs longer than one checkpoint are common.
    for t in range(1, n_steps):
        keep = rng.random((n_concepts, n_features)) < 0.6
        dense[t] = np.where(keep, dense[t - 1], dense[t])
    dense &= present[:, :, None]
    import scipy.sparse as sp
    stack = stack_from_csr([5 * t + 3 for t in range(n_steps)],
                           [sp.csr_array(d) for d in dense], present)
    return stack, dense, present


def _brute(dense, present, steps):
    """Reference by plain loops over concepts, features and checkpoints."""
    n_t, n_c, n_f = dense.shape
    acts, births, deaths = [], [], []
    for c in range(n_c):
        for f in range(n_f):
            runs, t = [], 0
            while t < n_t:
                if dense[t, c, f]:
                    s = t
                    while t + 1 < n_t and dense[t + 1, c, f]:
                        t += 1
                    runs.append((s, t))
                t += 1
            for s, e in runs:
                acts.append((c, f, steps[s], steps[e + 1] if e + 1 < n_t else OPEN))
            if runs:
                births.append((c, f, steps[runs[0][0]]))
                e = runs[-1][1]
                if e + 1 < n_t:
                    deaths.append((c, f, steps[e + 1]))
    stab = []
    for f in range(n_f):
        same = tot = 0
        for t in range(1, n_t):
            for c in range(n_c):
                if present[t, c] and present[t - 1, c]:
                    tot += 1
                    same += dense[t, c, f] == dense[t - 1, c, f]
        stab.append(same / tot if tot else np.nan)
    curves = {"entropy": [], "churn": [], "utilization": [], "active_fraction": []}
    for t in range(n_t):
        rows = [c for c in range(n_c) if present[t, c]]
        ent = 0.0
        for f in range(n_f):
            p = sum(dense[t, c, f] for c in rows) / len(rows)
            ent += 0.0 if p in (0, 1) else -(p * math.log2(p) + (1 - p) * math.log2(1 - p))
        curves["entropy"].append(ent / n_f)
        curves["utilization"].append(len({tuple(dense[t, c]) for c in rows}) / len(rows))
        curves["active_fraction"].append(sum(dense[t, c].sum() for c in rows)
                                         / (len(rows) * n_f))
        if t == 0:
            curves["churn"].append(0.0)
        else:
            both = [c for c in rows if present[t - 1, c]]
            ch = sum(bool((dense[t, c] != dense[t - 1, c]).any()) for c in both)
            curves["churn"].append(ch / len(both) if both else np.nan)
    return sorted(acts), sorted(births), sorted(deaths), np.array(stab), curves


@pytest.mark.parametrize("seed", range(6))
def test_against_brute_force(seed):
    stack, dense, present = _random_stack(seed)
    assert present.any(axis=1).all()
    ont = analyze(stack, NO_EXTRA, progress=False)
    acts, births, deaths, stab, curves = _brute(dense, present, stack.steps.tolist())
    a = ont.activations
    assert sorted(zip(a.a.tolist(), a.b.tolist(), a.valid_from.tolist(), a.valid_to.tolist(),
                      strict=True)) == acts
    ev = ont.events
    for kind, ref in (("birth", births), ("death", deaths)):
        m = ev.kind == kind
        assert sorted(zip(ev.concept[m].tolist(), ev.feature[m].tolist(), ev.step[m].tolist(),
                          strict=True)) == ref
    np.testing.assert_allclose(ont.feature_stats["stability"], stab)
    for name, ref in curves.items():
        np.testing.assert_allclose(ont.curves[name], ref, err_msg=name)


def test_feature_birth_death_steps_against_columns():
    stack, dense, _ = _random_stack(11, n_steps=8)
    ont = analyze(stack, NO_EXTRA, progress=False)
    any_on = dense.any(axis=1)  # (T, F)
    steps = stack.steps
    for f in range(dense.shape[2]):
        on = np.flatnonzero(any_on[:, f])
        birth = steps[on[0]] if on.size else -1
        death = steps[on[-1] + 1] if on.size and on[-1] + 1 < steps.size else -1
        assert ont.feature_stats["birth_step"][f] == birth
        assert ont.feature_stats["death_step"][f] == death


def test_phase_rule_finds_planted_jump():
    rng = np.random.default_rng(3)
    curve = 0.01 * np.arange(40) + rng.uniform(-0.001, 0.001, 40)
    curve[25:] += 1.0
    mask, delta, score = transition_mask(curve)
    assert np.flatnonzero(mask).tolist() == [24]
    assert delta[24] > 0.9 and score[24] > 3.5
    mask2, _, _ = transition_mask(curve, rule="mean_std")
    assert 24 in np.flatnonzero(mask2).tolist()
    ev = phase_events(np.arange(40) * 10, {"entropy": -curve})
    assert ev.step.tolist() == [250]
    detail = json.loads(ev.detail[0])
    assert detail["metric"] == "entropy" and detail["direction"] == "down"
    assert detail["delta"] < -0.9 and detail["z"] > 3.5


def test_phase_rule_edge_cases():
    assert not transition_mask(np.array([0.0, 5.0]))[0].any()  # needs >= 3 checkpoints
    assert not transition_mask(np.ones(10))[0].any()  # flat: |delta| <= min_delta
    steady = np.arange(10, dtype=float)  # constant slope: MAD 0, nothing above the median
    assert not transition_mask(steady)[0].any()
    jump = steady.copy()
    jump[6:] += 10  # MAD 0 and one bigger jump: the spread floor keeps its score finite
    mask, _, score = transition_mask(jump)
    assert np.flatnonzero(mask).tolist() == [5] and np.isfinite(score).all()
    mask, _, score = transition_mask(jump, resolution=2.0)  # floor 2: z = (11 - 1) / 2
    assert np.flatnonzero(mask).tolist() == [5] and score[5] == pytest.approx(5.0)
    one_step = np.r_[np.zeros(5), np.ones(5)]  # flat but for one change of one resolution
    assert not transition_mask(one_step, resolution=1.0)[0].any()
    assert np.flatnonzero(transition_mask(one_step)[0]).tolist() == [4]  # no resolution given
    assert not transition_mask(one_step, min_delta=0.0)[0].any()  # 0 floor: z = inf, no event


def test_one_bit_flip_is_no_phase_transition():
    """Issue 19: the same 500 x 64 code at 10 checkpoints with one bit flipped from step 600
    on moves every curve by one resolution step, with zero spread otherwise: no transition
    (it gave 4 with z = inf). Flipping 400 bits at the same step is one, with a finite z."""
    rng = np.random.default_rng(0)
    X = (rng.random((500, 64)) < 0.1).astype(np.int8)
    names = [f"c{i}" for i in range(500)]

    def run(n_flips: int) -> list[dict]:
        Y = X.copy()
        rows, cols = np.unravel_index(rng.choice(X.size, n_flips, replace=False), X.shape)
        Y[rows, cols] = 1 - Y[rows, cols]
        frames = [(s, names, Y if s >= 600 else X) for s in range(0, 1000, 100)]
        ont = analyze(stack_from_dense(frames), NO_EXTRA, progress=False)
        m = ont.events.kind == "phase_transition"
        return [{**json.loads(d), "step": int(s)}
                for d, s in zip(ont.events.detail[m], ont.events.step[m], strict=True)]

    assert run(1) == []
    found = run(400)
    assert found and {e["step"] for e in found} <= {600, 700}
    assert all(math.isfinite(e["z"]) for e in found)


def test_curve_resolution():
    """One bit of one concept: 1 / (n x F) of the active fraction, one concept of churn and
    utilization, at most H(1 / n) / F of the mean entropy; the fewest present concepts count."""
    from ontochron.ontology.curves import curve_resolution

    res = curve_resolution(np.array([600, 500, 0, 700]), 64)
    assert res["active_fraction"] == pytest.approx(1 / (500 * 64))
    assert res["churn"] == res["utilization"] == pytest.approx(1 / 500)
    assert res["entropy"] == pytest.approx(
        -(np.log2(1 / 500) / 500 + (499 / 500) * np.log2(499 / 500)) / 64)


def test_analyze_phase_events_and_churn_convention():
    """A stack whose codes are reshuffled at one checkpoint gives a phase transition there;
    the conventional churn 0 at the first checkpoint never counts as a jump."""
    stack = drifting_stack(12, 60, 200, density=0.1, drift=0.01, seed=4)
    rng = np.random.default_rng(0)
    import scipy.sparse as sp
    perm = rng.permutation(200)
    for t in range(7, 12):  # relabel features from step index 7 on: every code changes at 7
        stack.codes[t] = sp.csr_array(stack.codes[t].toarray()[:, perm])
    ont = analyze(stack, OntologyConfig(structure=False, connections=False), progress=False)
    ev = ont.events
    m = ev.kind == "phase_transition"
    found = {(json.loads(d)["metric"], int(s))
             for d, s in zip(ev.detail[m], ev.step[m], strict=True)}
    assert ("churn", int(stack.steps[7])) in found
    assert ("churn", int(stack.steps[1])) not in found
    assert ont.summary["phase_transitions"] == int(m.sum())


def test_config_validation():
    with pytest.raises(InputError, match="alpha"):
        OntologyConfig(alpha=1.5)
    with pytest.raises(InputError, match="min_shared"):
        OntologyConfig(min_shared=0)
    with pytest.raises(InputError, match="phase_rule"):
        OntologyConfig(phase_rule="bogus")
    with pytest.raises(InputError, match="phase_z"):
        OntologyConfig(phase_z=float("nan"))
    assert OntologyConfig().to_dict()["alpha"] == 0.05


def test_run_tracker_slot_table_equals_search():
    """Matching keys through the dense slot table gives the runs of the sorted search."""
    from ontochron.ontology.lifecycle import RunTracker

    rng = np.random.default_rng(9)
    fast, slow = RunTracker(("v",), key_space=50), RunTracker(("v",))
    for t in range(8):
        keys = np.flatnonzero(rng.random(50) < 0.5)
        pay = {"v": rng.random(keys.size)}
        got, ref = fast.update(t, keys, pay), slow.update(t, keys, pay)
        for g, r in zip(got, ref, strict=True):
            np.testing.assert_array_equal(g, r)
    a, b = fast.finish(), slow.finish()
    for g, r in zip(a[:3], b[:3], strict=True):
        np.testing.assert_array_equal(g, r)
    np.testing.assert_array_equal(a[3]["v"], b[3]["v"])
    assert a[0].size > 50


def test_event_merge_equals_stable_sort():
    """Merging per-step-sorted event parts equals a stable sort of their concatenation,
    and unsorted parts fall back to that sort."""
    from ontochron.ontology.analyze import _merge_by_step
    from ontochron.ontology.result import Events

    rng = np.random.default_rng(2)

    def part(n, tag, sort=True):
        st = rng.integers(0, 6, n) * 10
        st = np.sort(st) if sort else st
        return Events(np.full(n, tag, dtype=object), st, np.arange(n), np.full(n, -1),
                      np.array([f"{tag}{i}" for i in range(n)], dtype=object))

    for parts in ([part(30, "a"), part(0, "b"), part(17, "c"), part(5, "d")],
                  [part(12, "a"), part(9, "b", sort=False)]):
        got = _merge_by_step(parts)
        cat = Events.concat(parts)
        order = np.argsort(cat.step, kind="stable")
        for f in ("kind", "step", "concept", "feature", "detail"):
            np.testing.assert_array_equal(getattr(got, f), getattr(cat, f)[order])


def test_csr_equal():
    import scipy.sparse as sp

    from ontochron.ontology.lifecycle import csr_equal

    a = sp.csr_array(np.array([[1, 0, 1], [0, 1, 0]], dtype=bool))
    shuffled = sp.csr_array((np.ones(3, dtype=bool), np.array([2, 0, 1]), np.array([0, 2, 3])),
                            shape=(2, 3))
    assert not shuffled.has_sorted_indices
    assert csr_equal(a, shuffled) and not shuffled.has_sorted_indices  # input untouched
    assert not csr_equal(None, a)
    assert not csr_equal(a, sp.csr_array(np.array([[1, 0, 1], [1, 0, 0]], dtype=bool)))
    assert not csr_equal(a, sp.csr_array(np.ones((2, 3), dtype=bool)))
    assert not csr_equal(a, sp.csr_array(np.zeros((3, 3), dtype=bool)))
