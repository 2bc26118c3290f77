"""Shared statistical helpers: exact hypergeometric upper tails, Benjamini-Hochberg q-values
and minimum attainable p-values, vectorized for millions of tests."""

from __future__ import annotations

import numpy as np


def gammaln(x: np.ndarray) -> np.ndarray:
    """log|Gamma(x)| elementwise (scipy.special.gammaln, imported on first use: scipy.special
    adds ~0.1 s to every CLI start-up, most of which never needs it)."""
    from scipy.special import gammaln as _gammaln

    return _gammaln(x)


# Relative size below which further tail terms no longer change a float64 sum.
_TAIL_EPS = 1e-15


def _log_pmf(x: np.ndarray, n_pop: int, ka: np.ndarray, kb: np.ndarray) -> np.ndarray:
    """log P(S = x) for S ~ Hypergeom(population n_pop, ka successes, kb draws)."""
    return (gammaln(ka + 1) - gammaln(x + 1) - gammaln(ka - x + 1)
            + gammaln(n_pop - ka + 1) - gammaln(kb - x + 1) - gammaln(n_pop - ka - kb + x + 1)
            - gammaln(n_pop + 1) + gammaln(kb + 1) + gammaln(n_pop - kb + 1))


def hypergeom_sf(s: np.ndarray, n_pop: int, ka: np.ndarray, kb: np.ndarray) -> np.ndarray:
    """One-sided p = P(S >= s) for S ~ Hypergeom(n_pop, ka, kb), elementwise.

    Exact summation of the upper tail from its first term with the pmf recurrence
    (scipy.stats.hypergeom.sf gives the same numbers but is ~100x slower per element).
    """
    shape = np.broadcast_shapes(np.shape(s), np.shape(ka), np.shape(kb))
    s, ka, kb = (np.broadcast_to(np.asarray(v, dtype=np.int64), shape).ravel()
                 for v in (s, ka, kb))
    base = n_pop + 2
    if s.size > 4096 and base ** 3 < 2 ** 62:
        # Many tests share margins and overlap: evaluate each distinct (ka, kb, s) once.
        lo_k, hi_k = np.minimum(ka, kb), np.maximum(ka, kb)
        key = (lo_k * base + hi_k) * base + np.clip(s, -1, n_pop + 1) + 1
        uniq, inverse = np.unique(key, return_inverse=True)
        if uniq.size < 0.8 * s.size:
            us = uniq % base - 1
            uk = uniq // base
            return _sf_flat(us, n_pop, uk // base, uk % base)[inverse].reshape(shape)
    return _sf_flat(s, n_pop, ka, kb).reshape(shape)


def _sf_flat(s: np.ndarray, n_pop: int, ka: np.ndarray, kb: np.ndarray) -> np.ndarray:
    """Upper tail on flat int arrays; see :func:`hypergeom_sf`."""
    s, ka, kb = (v.astype(np.float64) for v in (s, ka, kb))
    lo = np.maximum(0.0, ka + kb - n_pop)
    hi = np.minimum(ka, kb)
    out = np.zeros(s.shape, dtype=np.float64)
    out[s <= lo] = 1.0
    idx = np.flatnonzero((s > lo) & (s <= hi))
    if idx.size:
        x, a, b, h = s[idx], ka[idx], kb[idx], hi[idx]
        term = np.exp(_log_pmf(x, n_pop, a, b))
        total = term.copy()
        # Iterate the pmf ratio on the still-running tails only, compacting each pass.
        while idx.size:
            term = term * ((a - x) * (b - x) / ((x + 1.0) * (n_pop - a - b + x + 1.0)))
            total = total + term
            x = x + 1.0
            done = (x >= h) | (term <= _TAIL_EPS * total)
            if done.any():
                out[idx[done]] = total[done]
                run = ~done
                idx, x, a, b, h = idx[run], x[run], a[run], b[run], h[run]
                term, total = term[run], total[run]
    return np.minimum(out, 1.0)


def min_attainable_p(n_pop: int, ka: np.ndarray, kb: np.ndarray) -> np.ndarray:
    """Smallest one-sided p the hypergeometric test can give for margins (ka, kb):
    P(S = min(ka, kb)); a test that can never reach alpha is pointless to run."""
    ka = np.asarray(ka, dtype=np.float64)
    kb = np.asarray(kb, dtype=np.float64)
    return np.exp(_log_pmf(np.minimum(ka, kb), n_pop, ka, kb))


def bh_qvalues(p: np.ndarray, m: int | None = None) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (q-values).

    With ``m`` larger than ``len(p)`` the remaining ``m - len(p)`` tests are taken to have
    p = 1 (untested pairs with nothing shared); the result equals
    ``false_discovery_control`` on the padded array without building it.
    """
    p = np.asarray(p, dtype=np.float64)
    n = p.size
    if m is None or m == n:
        from scipy.stats import false_discovery_control  # slow import, rarely needed

        return false_discovery_control(p, method="bh") if n else p.copy()
    if m < n:
        raise ValueError(f"m ({m}) must be at least the number of p-values ({n})")
    if n == 0:
        return p.copy()
    order = np.argsort(p, kind="stable")
    scaled = p[order] * (m / np.arange(1, n + 1, dtype=np.float64))
    # Padded p = 1 values rank last; their scaled values m/j >= 1 never lower the minimum.
    q_sorted = np.minimum.accumulate(scaled[::-1])[::-1]
    q = np.empty(n, dtype=np.float64)
    q[order] = np.minimum(q_sorted, 1.0)
    return q


def bh_qvalues_tied(p: np.ndarray, counts: np.ndarray, m: int) -> np.ndarray:
    """BH q-value of each distinct p-value level ``p`` shared by ``counts`` tests, out of
    ``m`` tests in all (the rest p = 1): the q that :func:`bh_qvalues` gives every member.

    Within a tie group the smallest ``p m / rank`` is at its last rank, so one sort of the
    levels replaces a sort of every test.
    """
    p = np.asarray(p, dtype=np.float64)
    counts = np.asarray(counts, dtype=np.int64)
    if p.size == 0:
        return p.copy()
    if m < int(counts.sum()):
        raise ValueError(f"m ({m}) must be at least the number of tests ({int(counts.sum())})")
    order = np.argsort(p, kind="stable")
    last_rank = np.cumsum(counts[order]).astype(np.float64)
    q_sorted = np.minimum.accumulate((p[order] * (m / last_rank))[::-1])[::-1]
    q = np.empty(p.size, dtype=np.float64)
    q[order] = np.minimum(q_sorted, 1.0)
    return q


def hypergeom_critical(alpha: float, n_pop: int, ka: np.ndarray, kb: np.ndarray) -> np.ndarray:
    """Smallest s with P(S >= s) <= alpha for S ~ Hypergeom(n_pop, ka, kb), elementwise
    (min(ka, kb) + 1 when no overlap reaches alpha): a vectorized binary search.

    Used to discard pairs whose overlap cannot be significant before computing any p.
    """
    ka = np.asarray(ka, dtype=np.int64)
    kb = np.asarray(kb, dtype=np.int64)
    ka, kb = np.broadcast_arrays(ka, kb)
    lo = np.maximum(0, ka + kb - n_pop)  # sf(lo) = 1 > alpha
    if alpha < 0.5:
        # s <= floor(mean) is at most the median of S, so sf >= 0.5 > alpha there.
        lo = np.maximum(lo, (ka * kb) // max(n_pop, 1))
    hi = np.minimum(ka, kb) + 1  # sf(hi) = 0 <= alpha
    while True:
        run = hi - lo > 1
        if not run.any():
            return hi
        mid = (lo + hi) // 2
        ok = np.zeros(ka.shape, dtype=bool)
        ok[run] = hypergeom_sf(mid[run], n_pop, ka[run], kb[run]) <= alpha
        hi = np.where(run & ok, mid, hi)
        lo = np.where(run & ~ok, mid, lo)
