"""Concept-activity strata for the structure tests, and the exact law of a stratified count.

Concepts that turn on more features share more features by chance, so a test that only
keeps feature frequencies (one hypergeometric over all concepts) calls activity a relation.
The structure tests therefore compare concepts of similar activity only: concepts are put in
strata by their *rest score* (how many tested features they have on besides the ones under
test), each stratum gets its own 2x2 table with its own margins, and the statistic (a sum of
per-stratum counts) is referred to its exact conditional law given every stratum margin: a
sum of independent hypergeometrics (the exact Cochran-Mantel-Haenszel null). With one
stratum this is the plain hypergeometric (Fisher) test. docs/structure.md says why it is
valid and what it costs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from ontochron.ontology.stats import gammaln

# Largest shift of the rest score used (a dual test leaves out its two features).
MAX_SHIFT = 2
# Entries (tests x strata x window) evaluated at once by the convolution.
_CHUNK = 1 << 22


@dataclass(frozen=True)
class Strata:
    """Activity strata of one checkpoint's concepts.

    ``edges`` split rest scores into ``n`` strata (``stratum(v) = searchsorted(edges, v,
    'right')``); ``onehot`` (concepts x (MAX_SHIFT + 1) n, CSC) has, in block ``d``, a one in
    the stratum of each concept's activity minus ``d`` (its rest score when ``d`` of the
    features under test are on); ``totals[d]`` are the block's column sums.
    """

    edges: np.ndarray
    n: int
    onehot: sp.csc_array
    totals: np.ndarray  # (MAX_SHIFT + 1, n)

    def block(self, counts: np.ndarray, d: int) -> np.ndarray:
        """Columns of shift ``d`` from a (rows x (MAX_SHIFT + 1) n) product with ``onehot``."""
        return counts[:, d * self.n:(d + 1) * self.n]


def activity_strata(activity: np.ndarray, n_strata: int) -> Strata:
    """Strata of ``activity`` (tested features on per concept): every distinct value its own
    stratum when there are at most ``n_strata`` of them, else ``n_strata`` bins of about
    equal concept counts (quantiles). ``n_strata`` 1 gives the unstratified test."""
    k = np.asarray(activity, dtype=np.int64)
    vals = np.unique(k)
    if n_strata <= 1 or vals.size <= 1:
        edges = np.zeros(0, dtype=np.int64)
    elif vals.size <= n_strata:
        edges = vals[1:]
    else:
        srt = np.sort(k)
        pos = np.ceil(np.arange(1, n_strata) * k.size / n_strata).astype(np.int64)
        edges = np.unique(srt[np.minimum(pos, k.size - 1)])
        edges = edges[edges > vals[0]]
    n = int(edges.size) + 1
    rows = np.tile(np.arange(k.size), MAX_SHIFT + 1)
    cols = np.concatenate([np.searchsorted(edges, k - d, "right") + d * n
                           for d in range(MAX_SHIFT + 1)])
    onehot = sp.csc_array((np.ones(rows.size, dtype=np.int32), (rows, cols)),
                          shape=(k.size, (MAX_SHIFT + 1) * n))
    totals = np.asarray(onehot.sum(axis=0), dtype=np.int64).reshape(MAX_SHIFT + 1, n)
    return Strata(edges, n, onehot, totals)


def and_counts(xt: sp.csr_array, strata: Strata, *cols: np.ndarray) -> np.ndarray:
    """Per-stratum counts (tests x (MAX_SHIFT + 1) n, every shift) of the concepts that
    have all features ``cols[0][t], cols[1][t], ...`` on, for each test t. ``xt`` is the
    codes transposed (features x concepts, CSR). Cost: the columns' sizes, in chunks."""
    n_tests = cols[0].size
    out = np.zeros((n_tests, strata.onehot.shape[1]), dtype=np.int64)
    step = 100_000
    for s in range(0, n_tests, step):
        ind = xt[cols[0][s:s + step]]
        for c in cols[1:]:
            ind = ind.multiply(xt[c[s:s + step]])
        out[s:s + step] = (sp.csr_array(ind) @ strata.onehot).toarray()
    return out


def _log_pmf(lf: np.ndarray, x: np.ndarray, pop: np.ndarray, ka: np.ndarray,
             kb: np.ndarray) -> np.ndarray:
    """log P(H = x), H ~ Hypergeom(pop, ka, kb), elementwise (x inside the support), from a
    table ``lf[n] = log n!``."""
    return (lf[ka] - lf[x] - lf[ka - x] + lf[pop - ka] - lf[kb - x] - lf[pop - ka - kb + x]
            - lf[pop] + lf[kb] + lf[pop - kb])


def stratified_sf(s: np.ndarray, pop: np.ndarray, ka: np.ndarray, kb: np.ndarray
                  ) -> np.ndarray:
    """Upper tail P(sum_k H_k >= s) for independent H_k ~ Hypergeom(pop[:, k], ka[:, k],
    kb[:, k]): one row per test, one column per stratum; exact.

    The tail is the law of the total shortfall Z = sum_k (max_k - H_k) at or below the
    budget D = sum_k max_k - s, so only shortfalls 0..D are ever kept: the cost per test is
    about D x (its strata's support sizes), small where a test is near its most extreme
    count (the tests that pass the effect filters). Each stratum's pmf is scaled by its
    largest value and the scales are added in log space, so tails far below 1e-300 come out
    as 0 rather than as rounding noise.
    """
    s = np.asarray(s, dtype=np.int64)
    pop, ka, kb = (np.asarray(v, dtype=np.int64) for v in (pop, ka, kb))
    lo = np.maximum(0, ka + kb - pop)
    hi = np.minimum(ka, kb)
    budget = hi.sum(axis=1) - s
    out = np.zeros(s.size, dtype=np.float64)
    out[s <= lo.sum(axis=1)] = 1.0
    live = np.flatnonzero((budget >= 0) & (out < 1.0))
    if live.size == 0:
        return out
    order = live[np.argsort(budget[live], kind="stable")]
    n_strata = pop.shape[1]
    lf = gammaln(np.arange(int(pop.max()) + 2, dtype=np.float64) + 1.0)  # log n!
    # tests of about the same budget (within a factor 2) together: a chunk pads to its
    # largest budget, and holds at most _CHUNK table entries
    width = budget[order] + 1
    group = np.floor(np.log2(width)).astype(np.int64)
    bounds = np.flatnonzero(np.diff(group)) + 1
    for g_start, g_stop in zip(np.r_[0, bounds].tolist(), np.r_[bounds, order.size].tolist(),
                               strict=True):
        per = max(1, _CHUNK // (n_strata * int(width[g_stop - 1])))
        for c in range(g_start, g_stop, per):
            sel = order[c:min(c + per, g_stop)]
            out[sel] = _tail_chunk(lf, budget[sel], pop[sel], ka[sel], kb[sel], lo[sel],
                                   hi[sel])
    return np.minimum(out, 1.0)


def _tail_chunk(lf: np.ndarray, budget: np.ndarray, pop: np.ndarray, ka: np.ndarray,
                kb: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """P(Z <= budget) for one chunk of tests (see :func:`stratified_sf`)."""
    n_t, n_strata = pop.shape
    width = int(budget.max()) + 1
    z = np.arange(width)
    acc = np.zeros((n_t, width), dtype=np.float64)
    acc[:, 0] = 1.0
    log_scale = np.zeros(n_t, dtype=np.float64)
    for k in range(n_strata):
        w = hi[:, k] - lo[:, k]
        if not np.any(w > 0):
            continue
        kmax = int(min(w.max(), width - 1))
        zk = z[None, :kmax + 1]
        x = hi[:, k, None] - zk  # H = max - shortfall
        ok = (zk <= w[:, None]) & (zk <= budget[:, None])
        lp = np.where(ok, _log_pmf(lf, np.where(ok, x, hi[:, k, None]), pop[:, k, None],
                                   ka[:, k, None], kb[:, k, None]), -np.inf)
        top = lp.max(axis=1)
        pmf = np.exp(lp - top[:, None])
        log_scale += top
        new = acc * pmf[:, :1]
        for j in range(1, kmax + 1):  # truncated convolution: shortfalls past D dropped
            new[:, j:] += pmf[:, j:j + 1] * acc[:, :width - j]
        acc = new
        # keep the running table near 1 so that many small strata cannot underflow it
        peak = acc.max(axis=1)
        peak = np.where(peak > 0, peak, 1.0)
        acc /= peak[:, None]
        log_scale += np.log(peak)
    mask = z[None, :] <= budget[:, None]
    total = (acc * mask).sum(axis=1)
    with np.errstate(divide="ignore"):
        return np.exp(np.log(total) + log_scale)


def stratified_cdf(s: np.ndarray, pop: np.ndarray, ka: np.ndarray, kb: np.ndarray
                   ) -> np.ndarray:
    """Lower tail P(sum_k H_k <= s), by the symmetry kb - H ~ Hypergeom(pop, pop - ka, kb)."""
    kb = np.asarray(kb, dtype=np.int64)
    pop = np.asarray(pop, dtype=np.int64)
    return stratified_sf(kb.sum(axis=1) - np.asarray(s, dtype=np.int64), pop,
                         pop - np.asarray(ka, dtype=np.int64), kb)
