"""Concept-activity strata of the overlay's own 2x2 tests, the same conditioning as the
analysis' structure tests (ontology/strata.py, docs/structure.md "The null keeps concept
activity"): concepts are grouped by how many tested features they have on, each stratum
gets its own 2x2 table and the total count is referred to the exact sum of independent
hypergeometrics. Upper tails stratify by total activity, lower tails by the rest score
(activity less the pair's own bits): each choice errs against its own test."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from ontochron.ontology.strata import (
    MAX_SHIFT,
    Strata,
    activity_strata,
    and_counts,
    stratified_cdf,
    stratified_sf,
)

#: A tail taken as the complement of the cheaper opposite tail is recomputed directly when
#: it comes out below this (1 - x loses the digits of a tiny tail).
_COMPLEMENT_FLOOR = 1e-6

Tables = tuple[np.ndarray, np.ndarray, np.ndarray]  # (concepts, with a, with b), pairs x strata


@dataclass(frozen=True)
class StepStrata:
    """Activity strata of the concepts present at one checkpoint and the assigned
    features' codes over them (empty codes are rows with nothing on, activity 0)."""

    strata: Strata
    xt: sp.csr_array          # assigned features x present concepts
    tested: np.ndarray        # per assigned feature: its bits count in the activity
    per_feature: np.ndarray   # assigned features x (MAX_SHIFT + 1) x strata

    def tables(self, a: np.ndarray, b: np.ndarray, rest: bool) -> Tables:
        """Per-stratum margins of the pairs (columns ``a``, ``b``): strata by total activity
        (``rest`` False) or by the rest score, the activity less the pair's own bits that
        count in it (``rest`` True; a feature the analysis would not test has none there)."""
        st = self.strata
        c = self.per_feature
        tot0 = st.totals[0][None, :]
        if not rest:
            return np.broadcast_to(tot0, (a.size, st.n)), c[a, 0], c[b, 0]
        both_d = and_counts(self.xt, st, a, b).reshape(a.size, MAX_SHIFT + 1, st.n)
        r = np.arange(a.size)
        ta, tb = self.tested[a].astype(np.int64), self.tested[b].astype(np.int64)
        both = both_d[r, ta + tb]                      # both on: shift = their counted bits
        a_only = c[a, ta] - both_d[r, ta]
        b_only = c[b, tb] - both_d[r, tb]
        neither = tot0 - c[a, 0] - c[b, 0] + both_d[r, 0]
        return neither + a_only + b_only + both, both + a_only, both + b_only


def step_strata(x: sp.csr_array, rows: np.ndarray, activity: np.ndarray, n: int,
                tested: np.ndarray, n_strata: int) -> StepStrata | None:
    """Strata of one checkpoint: ``x`` (run concepts x assigned features), ``rows`` the
    non-empty present concepts with their ``activity`` (tested features on), ``n`` the
    present concepts (the rest are empty codes, activity 0). None when there is one stratum
    (then the tests are the plain Fisher tests, exactly as before strata)."""
    m = int(rows.size)
    k = np.zeros(max(n, m), dtype=np.int64)
    k[:m] = activity
    st = activity_strata(k, n_strata)
    if st.n <= 1:
        return None
    xp = sp.csr_array(x)[rows] if m else sp.csr_array((0, x.shape[1]), dtype=x.dtype)
    xp = sp.vstack([xp, sp.csr_array((k.size - m, x.shape[1]), dtype=x.dtype)], format="csr")
    xt = sp.csr_array(xp.T.astype(np.int32))
    per = (xt @ st.onehot).toarray().astype(np.int64).reshape(x.shape[1], MAX_SHIFT + 1, st.n)
    return StepStrata(st, xt, np.asarray(tested, dtype=bool), per)


def _support(pop: np.ndarray, ka: np.ndarray, kb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    lo = np.maximum(0, ka + kb - pop).sum(axis=1)
    return lo, np.minimum(ka, kb).sum(axis=1)


def upper_tail(s: np.ndarray, pop: np.ndarray, ka: np.ndarray, kb: np.ndarray) -> np.ndarray:
    """P(sum_k H_k >= s), exact (:func:`stratified_sf`), from whichever end of the support
    ``s`` is nearer: the exact tail costs about the distance from its own end, so a tail
    near 1 is taken as 1 - the opposite tail (recomputed directly where that is tiny)."""
    s = np.asarray(s, dtype=np.int64)
    pop, ka, kb = (np.asarray(v, dtype=np.int64) for v in (pop, ka, kb))
    lo, hi = _support(pop, ka, kb)
    out = np.ones(s.size, dtype=np.float64)
    comp = (s - 1 - lo) < (hi - s)
    direct = ~comp
    if comp.any():
        out[comp] = 1.0 - stratified_cdf(s[comp] - 1, pop[comp], ka[comp], kb[comp])
        redo = np.flatnonzero(comp)[out[comp] < _COMPLEMENT_FLOOR]
        direct[redo] = True
    if direct.any():
        out[direct] = stratified_sf(s[direct], pop[direct], ka[direct], kb[direct])
    return np.clip(out, 0.0, 1.0)


def lower_tail(s: np.ndarray, pop: np.ndarray, ka: np.ndarray, kb: np.ndarray) -> np.ndarray:
    """P(sum_k H_k <= s), by the symmetry kb - H ~ Hypergeom(pop, pop - ka, kb)."""
    pop, ka, kb = (np.asarray(v, dtype=np.int64) for v in (pop, ka, kb))
    return upper_tail(kb.sum(axis=1) - np.asarray(s, dtype=np.int64), pop, pop - ka, kb)
