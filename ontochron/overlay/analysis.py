"""The overlay's computations: emergence of the stated primitives over training and the
reconciliation of expected with discovered relations at one step (docs/overlay.md)."""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.stats import kendalltau

from ontochron.ontology.intervals import OPEN
from ontochron.ontology.stats import bh_qvalues, hypergeom_sf
from ontochron.overlay.hypothesis import Hypothesis
from ontochron.overlay.result import (
    Agreement,
    Correction,
    DiscoveredRelation,
    DualEmergence,
    FeatureFinding,
    LayerOrder,
    LayerStabilisation,
    OverlayResult,
    PrimitiveEmergence,
    RelationVerdict,
    StatusInterval,
    Swap,
)
from ontochron.overlay.source import Intervals, OverlayData
from ontochron.overlay.strata import StepStrata, Tables, lower_tail, step_strata, upper_tail

Rel = tuple[str, str, str]  # (kind, a, b) by primitive name; dependency a = child


def _g(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.3g}"


def _num(x: Any) -> float | None:
    return None if x is None or not math.isfinite(float(x)) else float(x)


class _Run:
    """Activations of a run indexed for per-step questions."""

    def __init__(self, od: OverlayData) -> None:
        act = od.data.activations
        self.od = od
        self.steps = np.asarray(od.steps, dtype=np.int64)
        self.n_concepts = len(od.data.concepts)
        self.concept = np.asarray(act["concept"], dtype=np.int64)
        self.feature = np.asarray(act["feature"], dtype=np.int64)
        self.vf = np.asarray(act["valid_from"], dtype=np.int64)
        vt = np.asarray(act["valid_to"], dtype=np.int64)
        self.vt = np.where(vt == OPEN, np.iinfo(np.int64).max, vt)
        self.present = present_counts(od.data, self.concept, self.vf, self.vt)

    def holding(self, step: int) -> np.ndarray:
        return (self.vf <= step) & (self.vt > step)

    def codes(self, step: int, features: np.ndarray) -> tuple[sp.csr_array, int, np.ndarray]:
        """(concepts x len(features)) code of the given features at ``step``, the number
        of concepts present there, empty codes included (N; :func:`present_counts`) and
        active concepts per feature (all)."""
        h = self.holding(step)
        counts = np.bincount(self.feature[h], minlength=self.od.n_features)
        t = np.searchsorted(self.steps, step)
        n = int(self.present[t]) if t < self.present.size and self.steps[t] == step \
            else int(np.unique(self.concept[h]).size)
        col = np.full(max(self.od.n_features, 1), -1, dtype=np.int64)
        col[features] = np.arange(features.size)
        sel = h & (col[np.clip(self.feature, 0, col.size - 1)] >= 0)
        x = sp.csr_array((np.ones(int(sel.sum()), dtype=np.int32),
                          (self.concept[sel], col[self.feature[sel]])),
                         shape=(max(self.n_concepts, 1), features.size))
        return x, n, counts

    def activity(self, step: int, counts: np.ndarray, n: int, min_support: int
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(non-empty present concepts, their activity, which features are tested) at
        ``step``: the analysis' activity, a concept's features on among those it tests
        (on in at least ``min_support`` of the ``n`` present concepts and not in all)."""
        h = self.holding(step)
        size = max(int(counts.size), int(self.feature.max()) + 1 if self.feature.size else 0)
        tested = np.zeros(size, dtype=bool)
        tested[:counts.size] = (counts >= min_support) & (counts < n)
        rows = np.unique(self.concept[h])
        on = h & tested[self.feature]
        k = np.bincount(self.concept[on], minlength=max(self.n_concepts, 1))
        return rows, k[rows], tested


def present_counts(data: Any, concept: np.ndarray, vf: np.ndarray, vt: np.ndarray
                   ) -> np.ndarray:
    """Concepts present at each checkpoint, empty codes included (the N of every 2 x 2
    table, as in the analysis' own tests). The analysis files do not list presence, but
    its ``active_fraction`` curve is active bits / (present concepts x features), so
    N = active bits / (active_fraction x features), an integer recovered exactly from the
    float. Where that is not available (no curve, or no bit on), every concept of the run
    counts, and never fewer than those with a non-empty code."""
    steps = np.asarray(data.steps, dtype=np.int64)
    n_f = int(data.n_features)
    af = np.asarray(data.curves.get("active_fraction", np.full(steps.size, np.nan)),
                    dtype=np.float64)
    out = np.zeros(steps.size, dtype=np.int64)
    for t, s in enumerate(steps.tolist()):
        h = (vf <= s) & (vt > s)
        bits = int(np.count_nonzero(h))
        nonempty = int(np.unique(concept[h]).size)
        n = None
        if t < af.size and np.isfinite(af[t]) and af[t] > 0 and n_f > 0:
            est = bits / (af[t] * n_f)
            if abs(est - round(est)) < 1e-6 * max(est, 1.0):
                n = int(round(est))
        out[t] = max(len(data.concepts) if n is None else n, nonempty)
    return out


def _pair_stats(n: int, na: int, nb: int, nab: int, p_upper: float | None = None,
                p_lower: float | None = None) -> dict[str, Any]:
    """Counts, phi, confidence P(b|a) and both one-sided p-values of a 2x2 table: the
    activity-stratified ones when given (:meth:`Overlay.tests`), else the plain Fisher
    tails (one stratum)."""
    den = na * nb * (n - na) * (n - nb)
    phi = (n * nab - na * nb) / math.sqrt(den) if den > 0 else float("nan")
    if p_upper is not None and p_lower is not None:
        up, low = float(p_upper), float(p_lower)
    elif n > 0:
        up = float(hypergeom_sf(np.array([nab]), n, np.array([na]), np.array([nb]))[0])
        low = float(hypergeom_sf(np.array([nb - nab]), n, np.array([n - na]),
                                 np.array([nb]))[0])
    else:
        up = low = 1.0
    return {"n": n, "n_a": na, "n_b": nb, "n_ab": nab, "phi": _num(phi),
            "confidence": nab / na if na else None, "p_upper": up, "p_lower": low}


def _index(iv: Intervals, step: int, symmetric: bool) -> dict[tuple[int, int], int]:
    rows = np.flatnonzero(iv.holding(step))
    out = {}
    for r in rows:
        a, b = int(iv.a[r]), int(iv.b[r])
        out[(min(a, b), max(a, b)) if symmetric else (a, b)] = int(r)
    return out


def _stats_of(iv: Intervals, row: int) -> dict[str, Any]:
    ev = {k: _num(v[row]) for k, v in iv.stats.items()}
    ev["valid_from"] = int(iv.valid_from[row])
    ev["valid_to"] = None if iv.valid_to[row] == OPEN else int(iv.valid_to[row])
    return ev


class Overlay:
    """Hypothesis + run: every question of docs/overlay.md."""

    def __init__(self, hyp: Hypothesis, od: OverlayData) -> None:
        self.hyp, self.od, self.run = hyp, od, _Run(od)
        self.cfg = od.structure
        self.alpha = float(self.cfg["alpha"])
        self.feat = {p.name: p.feature for p in hyp.primitives}
        self.features = np.array([p.feature for p in hyp.primitives], dtype=np.int64)
        self.col = {p.name: i for i, p in enumerate(hyp.primitives)}
        self.expected: list[Rel] = ([("dependency", c, p) for c, p in hyp.dependencies]
                                    + [("dual", a, b) for a, b in hyp.duals])

    def has_structure(self, step: int) -> bool:
        """Whether the analysis detected duals/dependencies at ``step``."""
        if not self.cfg.get("detected", True):
            return False
        return self.cfg.get("at", "all") != "last" or step == int(self.run.steps[-1])

    # ---- per-step tests of the expected relations -------------------------------------
    def tests(self, step: int) -> dict[Rel, dict[str, Any]]:
        """Counts and native statistics of every expected relation at ``step``, with BH over
        the expected relations (the hypothesis family) for the contradiction test and, where
        the analysis lacks structure, for the native test itself. p-values keep concept
        activity as the analysis' do (:mod:`ontochron.overlay.strata`): upper tails within
        total-activity strata, lower tails within rest-score strata."""
        x, n, counts = self.run.codes(step, self.features)
        co = (x.T @ x).toarray() if self.features.size else np.zeros((0, 0))
        ii = np.array([self.col[a] for _, a, _ in self.expected], dtype=np.int64)
        jj = np.array([self.col[b] for _, _, b in self.expected], dtype=np.int64)
        ss = self._strata(step, x, n, counts) if n > 0 and ii.size else None
        tabs: dict[str, Tables] = {}
        if ss is not None:
            tabs = {"upper": ss.tables(ii, jj, rest=False), "lower": ss.tables(ii, jj, rest=True)}
            nab = co[ii, jj].astype(np.int64)
            p_up = upper_tail(nab, *tabs["upper"])
            p_low = lower_tail(nab, *tabs["lower"])
        out: dict[Rel, dict[str, Any]] = {}
        for r, (kind, a, b) in enumerate(self.expected):
            i, j = self.col[a], self.col[b]
            st = _pair_stats(n, int(co[i, i]), int(co[j, j]), int(co[i, j]),
                             *((p_up[r], p_low[r]) if ss is not None else ()))
            # contradiction: a dual positively associated, a dependency negatively
            st["p_contra"] = st["p_upper"] if kind == "dual" else st["p_lower"]
            side = "lower" if kind == "dual" else "upper"
            st["p_native"] = self._native_p(
                kind, st, tuple(t[r:r + 1] for t in tabs[side]) if tabs else None)
            out[(kind, a, b)] = st
        m = len(out)
        if m:
            q = bh_qvalues(np.array([s["p_contra"] for s in out.values()]), m)
            for s, v in zip(out.values(), q, strict=True):
                s["q_contra"] = float(v)
        # the native family: the relations that pass the effect filter, selected first;
        # BH over them alone with their p-values given the selection
        tested = [s for s in out.values() if s["p_native"] is not None]
        q = bh_qvalues(np.array([s["p_native"] for s in tested]), len(tested)) \
            if tested else []
        for s in out.values():
            s["q_native"] = None
        for s, v in zip(tested, q, strict=True):
            s["q_native"] = float(v)
        return out

    def _strata(self, step: int, x: sp.csr_array, n: int, counts: np.ndarray
                ) -> StepStrata | None:
        """Activity strata of the concepts present at ``step`` (None: one stratum)."""
        rows, k, tested = self.run.activity(step, counts, n, int(self.cfg["min_support"]))
        return step_strata(x, rows, k, n, tested[self.features],
                           int(self.cfg.get("activity_strata", 16)))

    def _native_p(self, kind: str, st: dict[str, Any], tables: Tables | None = None
                  ) -> float | None:
        """The native test's p-value given that the relation passed its effect filter
        (None when it did not: not in the family). The filter is a cut on n_ab for fixed
        margins (dual: phi <= dual_max_phi, i.e. n_ab <= c; dependency: n_ab >=
        min_support and P(parent | child) >= dep_confidence, i.e. n_ab >= c), so
        p = P(N_ab beyond n_ab) / P(N_ab beyond c) under the law of N_ab given the margins:
        the hypergeometric of the 2 x 2 table, or with activity strata (``tables``: the
        per-stratum margins, rest score for a dual, total activity for a dependency) the
        sum of the strata's hypergeometrics, whose margins fix the total ones, so the cut
        is the same. Uniform given the selection, which keeps BH over the selected valid."""
        n, na, nb, nab = st["n"], st["n_a"], st["n_b"], st["n_ab"]
        if n <= 0 or na == 0 or nb == 0 or na == n or nb == n:
            return None
        if kind == "dual":
            t = float(self.cfg["dual_max_phi"])
            den = math.sqrt(na * nb * (n - na) * (n - nb))
            cut = math.floor((t * den + na * nb) / n + 1e-9)
            if nab > cut:
                return None
            if tables is not None:
                low = lower_tail(np.array([nab, cut]), *(np.repeat(v, 2, axis=0)
                                                         for v in tables))
            else:
                # lower tails P(N_ab <= x) = P(N_a(not b) >= n_b - x)
                low = hypergeom_sf(np.array([nb - nab, nb - cut]), n,
                                   np.array([n - na] * 2), np.array([nb] * 2))
        else:
            cut = max(int(self.cfg["min_support"]),
                      math.ceil(float(self.cfg["dep_confidence"]) * na - 1e-9))
            if nab < cut:
                return None
            if tables is not None:
                low = upper_tail(np.array([nab, cut]), *(np.repeat(v, 2, axis=0)
                                                         for v in tables))
            else:
                low = hypergeom_sf(np.array([nab, cut]), n, np.array([na] * 2),
                                   np.array([nb] * 2))
        return float(min(low[0] / low[1], 1.0)) if low[1] > 0 else None

    def native_found(self, kind: str, st: dict[str, Any]) -> bool:
        """The native detector's rule applied by the overlay (only where the analysis has
        no structure at the step): the expected relations that pass the effect filter are
        selected, then BH over them (:meth:`_native_p`); found when q <= alpha."""
        return st["q_native"] is not None and st["q_native"] <= self.alpha

    def verdicts(self, step: int) -> list[RelationVerdict]:
        """Found / missing / contradicted for every expected relation at ``step``."""
        tests = self.tests(step)
        structure = self.has_structure(step)
        duals = _index(self.od.relations["dual"], step, True)
        deps = _index(self.od.relations["dependency"], step, False)
        out = []
        for (kind, a, b), st in tests.items():
            fa, fb = self.feat[a], self.feat[b]
            ev = {k: st[k] for k in ("n", "n_a", "n_b", "n_ab", "phi", "confidence")}
            ev.update(q_contra=st["q_contra"], p_contra=st["p_contra"])
            if kind == "dual":
                row = duals.get((min(fa, fb), max(fa, fb)))
                found_row = row is not None
                rev = None
            else:
                row = deps.get((fa, fb))
                rev = deps.get((fb, fa))
                found_row = row is not None
            if structure and found_row:
                ev.update({f"analysis_{k}": v for k, v in
                           _stats_of(self.od.relations[kind], row).items()})
                stat = ev.get("analysis_phi") if kind == "dual" else ev.get("analysis_confidence")
                verdict, reason = "found", (
                    f"detected by the analysis ({'phi' if kind == 'dual' else 'confidence'}="
                    f"{_g(stat)}, q={_g(ev['analysis_q_value'])})")
            elif not structure and self.native_found(kind, st):
                ev["q_native"] = st["q_native"]
                verdict, reason = "found", f"overlay native test q={st['q_native']:.3g}"
            elif kind == "dual" and st["q_contra"] <= self.alpha and (st["phi"] or 0) > 0:
                verdict = "contradicted"
                reason = (f"positively associated: phi={st['phi']:.3g}, "
                          f"q={st['q_contra']:.3g}")
            elif kind == "dependency" and structure and rev is not None:
                ev.update({f"reverse_{k}": v for k, v in
                           _stats_of(self.od.relations[kind], rev).items()})
                verdict = "contradicted"
                reason = (f"the reverse dependency holds (confidence="
                          f"{_g(ev['reverse_confidence'])}, q={_g(ev['reverse_q_value'])})")
            elif kind == "dependency" and st["q_contra"] <= self.alpha:
                verdict = "contradicted"
                reason = (f"child active without the parent: P(parent|child)="
                          f"{st['confidence']:.3g}, q={st['q_contra']:.3g}")
            else:
                verdict = "missing"
                if st["n_a"] == 0 or st["n_b"] == 0:
                    reason = f"feature {fa if st['n_a'] == 0 else fb} is not active"
                elif kind == "dual":
                    reason = f"not detected (phi={_g(st['phi'])}, n_ab={st['n_ab']})"
                else:
                    reason = (f"not detected (P(parent|child)={st['confidence']:.3g}, "
                              f"n_ab={st['n_ab']})")
            out.append(RelationVerdict(kind, a, b, fa, fb, verdict, reason, ev))
        return out

    # ---- emergence ---------------------------------------------------------------------
    def history(self) -> tuple[list[StatusInterval], np.ndarray]:
        """Verdict of every expected relation at every checkpoint as status intervals, and
        the (T x P) activity of the assigned features. Cost: T x (activation intervals)."""
        steps = self.run.steps
        per: dict[Rel, list[tuple[str, dict[str, Any]]]] = {r: [] for r in self.expected}
        active = np.zeros((steps.size, self.features.size), dtype=bool)
        joint_first: dict[str, int | None] = {p.name: None for p in self.hyp.primitives}
        chains = {p.name: [p.name, *sorted(self.hyp.closure(p.name))]
                  for p in self.hyp.primitives}
        for t, s in enumerate(steps):
            x, _, counts = self.run.codes(int(s), self.features)
            active[t] = counts[self.features] > 0 if self.features.size else active[t]
            dense = None
            for name, chain in chains.items():
                if joint_first[name] is None and all(active[t, self.col[c]] for c in chain):
                    if dense is None:
                        dense = x.tocsc()
                    cols = [self.col[c] for c in chain]
                    hit = np.asarray(dense[:, cols].sum(axis=1)).ravel() == len(cols)
                    if hit.any():
                        joint_first[name] = int(s)
            for v in self.verdicts(int(s)):
                per[(v.kind, v.a, v.b)].append((v.verdict, v.evidence))
        out = []
        for (kind, a, b), seq in per.items():
            start = 0
            for t in range(1, len(seq) + 1):
                if t == len(seq) or seq[t][0] != seq[start][0]:
                    vt = int(steps[t]) if t < len(seq) else OPEN
                    out.append(StatusInterval(kind, a, b, seq[start][0], int(steps[start]),
                                              vt, seq[t - 1][1]))
                    start = t
        self._joint = joint_first
        return out, active

    def emergence(self, step: int, active: np.ndarray) -> list[PrimitiveEmergence]:
        steps = self.run.steps
        counts = self._counts_at(step)
        out = []
        for p in self.hyp.primitives:
            i = self.col[p.name]
            first = np.flatnonzero(active[:, i])
            chain = sorted(self.hyp.closure(p.name))
            cols = [i] + [self.col[c] for c in chain]
            full = np.flatnonzero(active[:, cols].all(axis=1))
            fs = int(self.od.first_stable_step[p.feature]) if p.feature < self.od.n_features \
                else -1
            out.append(PrimitiveEmergence(
                p.name, p.feature, p.layer, int(steps[first[0]]) if first.size else None,
                fs if fs >= 0 else None, tuple(chain),
                int(steps[full[0]]) if full.size else None, self._joint.get(p.name),
                int(counts[p.feature]) if p.feature < counts.size else 0))
        return out

    def _counts_at(self, step: int) -> np.ndarray:
        h = self.run.holding(step)
        return np.bincount(self.run.feature[h], minlength=self.od.n_features)

    def concept_first(self) -> list[tuple[str, str, int]]:
        """(primitive, concept, first step the concept has the primitive's feature)."""
        names = {p.feature: p.name for p in self.hyp.primitives}
        r = self.run
        m = np.isin(r.feature, self.features)
        if not m.any():
            return []
        key = r.concept[m] * (self.od.n_features + 1) + r.feature[m]
        order = np.lexsort((r.vf[m], key))
        key, vf = key[order], r.vf[m][order]
        first = np.r_[True, key[1:] != key[:-1]]
        concepts = self.od.data.concepts
        out = [(names[int(k % (self.od.n_features + 1))],
                concepts[int(k // (self.od.n_features + 1))], int(s))
               for k, s in zip(key[first], vf[first], strict=True)]
        return sorted(out, key=lambda x: (self.feat[x[0]], x[2], x[1]))

    def layer_order(self, em: list[PrimitiveEmergence]) -> LayerOrder:
        last = int(self.run.steps[-1]) if self.run.steps.size else 0
        by_layer: dict[int, list[PrimitiveEmergence]] = {}
        for e in em:
            by_layer.setdefault(e.layer, []).append(e)
        layers = []
        for lay in sorted(by_layer):
            es = by_layer[lay]
            st = [e.first_stable_step for e in es if e.first_stable_step is not None]
            layers.append(LayerStabilisation(
                lay, tuple(e.name for e in es), len(st), min(st) if st else None,
                float(np.median(st)) if st else None,
                max(st) if len(st) == len(es) else None))
        inf = last + 1  # never stable ranks after every stable one
        comp = [lay.complete_step if lay.complete_step is not None else inf
                for lay in layers]
        in_order = all(a <= b for a, b in zip(comp, comp[1:], strict=False))
        lay_v = np.array([e.layer for e in em], dtype=float)
        st_v = np.array([e.first_stable_step if e.first_stable_step is not None else inf
                         for e in em], dtype=float)
        # pair counts: quadratic in primitives (a hypothesis has tens to hundreds)
        dl = np.sign(lay_v[:, None] - lay_v[None, :])
        ds = np.sign(st_v[:, None] - st_v[None, :])
        prod = np.triu(dl * ds, 1)
        conc, disc = int((prod > 0).sum()), int((prod < 0).sum())
        tau = p = None
        if len(em) >= 2 and np.unique(lay_v).size > 1 and np.unique(st_v).size > 1:
            res = kendalltau(lay_v, st_v, alternative="greater")
            tau, p = _num(res.statistic), _num(res.pvalue)
        # a verdict needs evidence: at least one pair of primitives in different stated layers
        # whose stabilisation steps differ (else every pair is a tie: no order to judge)
        verdict = in_order if conc + disc > 0 else None
        return LayerOrder(tuple(layers), verdict, tau, p, conc, disc, len(em))

    def dual_emergence(self, step: int, history: list[StatusInterval]) -> list[DualEmergence]:
        iv = self.od.relations["dual"]
        out = []
        for a, b in self.hyp.duals:
            fa, fb = sorted((self.feat[a], self.feat[b]))
            if self.cfg.get("detected", True) and self.cfg.get("at", "all") != "last":
                rows = np.flatnonzero((iv.a == fa) & (iv.b == fb))
                rows = rows[np.argsort(iv.valid_from[rows])]
                holds = bool(iv.holding(step)[rows].any()) if rows.size else False
                if rows.size:
                    r = int(rows[0])
                    out.append(DualEmergence(a, b, fa, fb, int(iv.valid_from[r]),
                                             _num(iv.stats["phi"][r]),
                                             _num(iv.stats["q_value"][r]), int(rows.size),
                                             holds, "analysis"))
                else:
                    out.append(DualEmergence(a, b, fa, fb, None, None, None, 0, False,
                                             "analysis"))
                continue
            found = [h for h in history if h.kind == "dual" and h.a == a and h.b == b
                     and h.verdict == "found"]
            holds = any(h.valid_from <= step and (h.valid_to == OPEN or h.valid_to > step)
                        for h in found)
            f0 = found[0] if found else None
            out.append(DualEmergence(a, b, fa, fb, f0.valid_from if f0 else None,
                                     f0.evidence.get("phi") if f0 else None,
                                     f0.evidence.get("q_native") if f0 else None,
                                     len(found), holds, "overlay"))
        return out

    # ---- reconciliation ----------------------------------------------------------------
    def discovered(self, step: int) -> tuple[list[DiscoveredRelation], dict, dict]:
        names = {p.feature: p.name for p in self.hyp.primitives}
        exp_dual = {frozenset((self.feat[a], self.feat[b])) for a, b in self.hyp.duals}
        exp_dep = {(self.feat[c], self.feat[p]) for c, p in self.hyp.dependencies}
        implied = {(self.feat[p.name], self.feat[d]) for p in self.hyp.primitives
                   for d in self.hyp.closure(p.name)}
        duals = _index(self.od.relations["dual"], step, True) if self.has_structure(step) \
            else {}
        deps = _index(self.od.relations["dependency"], step, False) \
            if self.has_structure(step) else {}
        out = []
        for kind, idx in (("dual", duals), ("dependency", deps)):
            iv = self.od.relations[kind]
            for (fa, fb), row in sorted(idx.items()):
                if fa not in names or fb not in names:
                    continue
                if kind == "dual":
                    status = "expected" if frozenset((fa, fb)) in exp_dual else "unexpected"
                else:
                    status = ("expected" if (fa, fb) in exp_dep else
                              "implied" if (fa, fb) in implied else "unexpected")
                out.append(DiscoveredRelation(kind, fa, fb, names[fa], names[fb], status,
                                              _stats_of(iv, row)))
        return out, duals, deps

    def feature_findings(self, step: int) -> list[FeatureFinding]:
        counts = self._counts_at(step)
        r = self.run
        steps = self.run.steps
        out = []
        for p in self.hyp.primitives:
            if counts[p.feature] == 0:
                # last checkpoint <= step at which the feature was on: the one before the
                # latest end of an interval that started by then
                on = (r.feature == p.feature) & (r.vf <= step)
                ls = None
                if on.any():
                    k = steps[steps < r.vt[on].max()]
                    ls = int(k[-1]) if k.size else None
                out.append(FeatureFinding("dead_but_assigned", p.feature, p.name, 0, ls))
        assigned = set(self.feat.values())
        for f in np.flatnonzero(counts):
            if int(f) not in assigned:
                out.append(FeatureFinding("active_but_unassigned", int(f), "",
                                          int(counts[f]), int(step)))
        return out

    def _fit(self, rels: list[Rel], feat: dict[str, int], duals: dict, deps: dict) -> int:
        n = 0
        for kind, a, b in rels:
            fa, fb = feat[a], feat[b]
            n += ((min(fa, fb), max(fa, fb)) in duals) if kind == "dual" else ((fa, fb) in deps)
        return int(n)

    def swaps(self, duals: dict, deps: dict) -> list[Swap]:
        """Pairs of primitives whose found expected relations grow when their features are
        exchanged. Quadratic in primitives (every pair is a candidate; tens to hundreds)."""
        involve: dict[str, list[Rel]] = {p.name: [] for p in self.hyp.primitives}
        for r in self.expected:
            involve[r[1]].append(r)
            involve[r[2]].append(r)
        names = [p.name for p in self.hyp.primitives if involve[p.name]]
        out = []
        for i, a in enumerate(names):
            for b in names[i + 1:]:
                rels = list(dict.fromkeys(involve[a] + involve[b]))
                before = self._fit(rels, self.feat, duals, deps)
                sw = dict(self.feat)
                sw[a], sw[b] = self.feat[b], self.feat[a]
                after = self._fit(rels, sw, duals, deps)
                if after > before:
                    out.append(Swap(a, b, self.feat[a], self.feat[b], before, after,
                                    len(rels)))
        return sorted(out, key=lambda s: (s.fit_before - s.fit_after, s.feature_a))

    def moves(self, duals: dict, deps: dict) -> list[Correction]:
        """Primitives whose expected relations would be found more often on another
        feature: for each relation, every feature with that relation to the partner's
        feature is a candidate; the one satisfying most relations wins."""
        by_feature = {p.feature: p.name for p in self.hyp.primitives}
        dual_nb: dict[int, set[int]] = {}
        for fa, fb in duals:
            dual_nb.setdefault(fa, set()).add(fb)
            dual_nb.setdefault(fb, set()).add(fa)
        children: dict[int, set[int]] = {}
        parents: dict[int, set[int]] = {}
        for c, p in deps:
            children.setdefault(p, set()).add(c)
            parents.setdefault(c, set()).add(p)
        out = []
        for prim in self.hyp.primitives:
            rels = [r for r in self.expected if prim.name in (r[1], r[2])]
            if not rels:
                continue
            cur = self._fit(rels, self.feat, duals, deps)
            votes: Counter[int] = Counter()
            for kind, a, b in rels:
                other = self.feat[b if a == prim.name else a]
                if kind == "dual":
                    cands = dual_nb.get(other, set())
                elif a == prim.name:     # prim is the child: candidates depend on `other`
                    cands = children.get(other, set())
                else:                    # prim is the parent
                    cands = parents.get(other, set())
                votes.update(g for g in cands if g != prim.feature)
            if not votes:
                continue
            # most relations satisfied; on ties a feature no primitive holds, then the lowest
            g, n = min(votes.items(), key=lambda kv: (-kv[1], kv[0] in by_feature, kv[0]))
            if n > cur:
                held = by_feature.get(g)
                out.append(Correction(
                    "assignment", "move", prim.name,
                    f"move {prim.name!r} from feature {prim.feature} to feature {g}"
                    + (f" (now held by {held!r})" if held else ""),
                    {"feature": prim.feature, "to_feature": g, "found_now": cur,
                     "found_after": int(n), "relations": len(rels)}))
        return out

    def corrections(self, verdicts: list[RelationVerdict], found: list[DiscoveredRelation],
                    findings: list[FeatureFinding], swaps: list[Swap], duals: dict,
                    deps: dict) -> list[Correction]:
        out: list[Correction] = []
        unexpected_duals = {}
        for d in found:
            if d.kind == "dual" and d.status == "unexpected":
                unexpected_duals.setdefault(d.a, d)
                unexpected_duals.setdefault(d.b, d)
        used = set()
        for v in verdicts:
            if v.kind == "dependency":
                if v.verdict == "contradicted" and "reverse_confidence" in v.evidence:
                    out.append(Correction("theory", "reverse_dependency", v.a,
                                          f"{v.b!r} depends on {v.a!r}, not the reverse",
                                          v.evidence))
                elif v.verdict == "contradicted" or (
                        v.verdict == "missing" and v.evidence["n_a"] and v.evidence["n_b"]):
                    out.append(Correction("theory", "remove_dependency", v.a,
                                          f"drop {v.a!r} depends on {v.b!r} ({v.reason})",
                                          v.evidence))
            elif v.verdict != "found":
                alt = unexpected_duals.get(v.a) or unexpected_duals.get(v.b)
                if alt is not None:
                    used.add((alt.a, alt.b))
                    who = v.a if alt.a == v.a or alt.b == v.a else v.b
                    partner = alt.b if alt.a == who else alt.a
                    out.append(Correction("theory", "fix_dual", who,
                                          f"the dual of {who!r} is {partner!r}, not "
                                          f"{v.b if who == v.a else v.a!r}",
                                          {**alt.evidence, "expected": v.evidence}))
                elif v.verdict == "contradicted":
                    out.append(Correction("theory", "remove_dual", v.a,
                                          f"{v.a!r} and {v.b!r} are not duals ({v.reason})",
                                          v.evidence))
        reversed_ = {(v.b, v.a) for v in verdicts if v.kind == "dependency"
                     and "reverse_confidence" in v.evidence and v.verdict == "contradicted"}
        for d in found:
            if d.status != "unexpected" or (d.kind == "dependency"
                                            and (d.a, d.b) in reversed_):
                continue
            if d.kind == "dependency":
                out.append(Correction("theory", "add_dependency", d.a,
                                      f"{d.a!r} depends on {d.b!r}", d.evidence))
            elif (d.a, d.b) not in used:
                out.append(Correction("theory", "add_dual", d.a,
                                      f"{d.a!r} and {d.b!r} are duals", d.evidence))
        for s in swaps:
            out.append(Correction("assignment", "swap", s.a,
                                  f"exchange the features of {s.a!r} ({s.feature_a}) and "
                                  f"{s.b!r} ({s.feature_b})",
                                  {"found_now": s.fit_before, "found_after": s.fit_after,
                                   "relations": s.relations}))
        moves = self.moves(duals, deps)
        swapped = {s.a for s in swaps} | {s.b for s in swaps}
        # a move to a feature no primitive holds stands next to any swap of the same primitive
        out.extend(m for m in moves if m.subject not in swapped
                   or m.evidence["to_feature"] not in self.hyp.by_feature)
        moved = {m.subject for m in moves}
        for f in findings:
            if f.kind == "dead_but_assigned" and f.primitive not in moved | swapped:
                out.append(Correction("assignment", "drop", f.primitive,
                                      f"feature {f.feature} of {f.primitive!r} is not active "
                                      f"(last active: {f.last_active_step})",
                                      {"active_concepts": 0,
                                       "last_active_step": f.last_active_step}))
        return out


def agreement(verdicts: list[RelationVerdict], found: list[DiscoveredRelation]) -> Agreement:
    """F1 = 2 |E and D| / (|E| + |D|): E expected relations, D relations discovered between
    assigned features at the step, implied (transitive) dependencies left out of D."""
    e = len(verdicts)
    d = sum(1 for x in found if x.status != "implied")
    m = sum(1 for v in verdicts if v.verdict == "found")
    prec = m / d if d else None
    rec = m / e if e else None
    f1 = 2 * m / (e + d) if e + d else None
    return Agreement(e, d, m, prec, rec, f1)


def run_overlay(hyp: Hypothesis, od: OverlayData, step: int | None = None) -> OverlayResult:
    """All of the overlay at ``step`` (default the last checkpoint)."""
    from ontochron.errors import InputError

    steps = np.asarray(od.steps, dtype=np.int64)
    if steps.size == 0:
        raise InputError("the run has no checkpoints", od.source)
    if step is None:
        step = int(steps[-1])
    elif step not in set(steps.tolist()):
        raise InputError(f"--at {step} is not a checkpoint step of the run (steps "
                         f"{int(steps[0])}..{int(steps[-1])}, {steps.size} checkpoints)",
                         od.source)
    ov = Overlay(hyp, od)
    history, active = ov.history()
    verdicts = ov.verdicts(step)
    em = ov.emergence(step, active)
    found, duals, deps = ov.discovered(step)
    if not ov.has_structure(step):  # the overlay's own native decisions stand in
        for v in verdicts:
            if v.verdict == "found":
                found.append(DiscoveredRelation(v.kind, v.feature_a, v.feature_b, v.a, v.b,
                                                "expected", v.evidence))
    findings = ov.feature_findings(step)
    swaps = ov.swaps(duals, deps)
    corr = ov.corrections(verdicts, found, findings, swaps, duals, deps)
    return OverlayResult(hyp, int(step), [int(s) for s in steps], od.source, em,
                         ov.concept_first(), ov.layer_order(em), ov.dual_emergence(step, history),
                         verdicts, found, findings, swaps, corr, agreement(verdicts, found),
                         history, dict(od.structure))
