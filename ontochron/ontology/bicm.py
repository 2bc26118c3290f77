"""The bipartite configuration model (BiCM) of one checkpoint's concept x feature codes, and
the exact law of two concepts' shared-feature count under it.

The BiCM is the maximum-entropy random bipartite graph whose expected degrees equal the
observed ones: every concept keeps its code size and every feature its popularity (the
number of concepts it is on in), in expectation. Edge probabilities are
``p(a, f) = x_a y_f / (1 + x_a y_f)`` (Saracco et al., Sci. Rep. 5, 10595, 2015); the
shared-feature count of two concepts is then a sum of independent Bernoulli(p(a,f) p(b,f))
over features, a Poisson-binomial law (Saracco et al., New J. Phys. 19, 053022, 2017).
Under this null a feature that is on in most concepts is shared by most pairs *by chance*,
which the hypergeometric null (every feature equally likely) counts as evidence.

Concepts of equal size share ``x`` and features of equal popularity share ``y``, so the
model is solved and its laws tabulated per distinct size and popularity, not per concept.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np

from ontochron.ontology.stats import gammaln


@dataclass(frozen=True)
class BicmFit:
    """A BiCM solved for one checkpoint, per distinct degree.

    ``k_values`` (sorted) are the distinct concept code sizes and ``d_values`` (sorted,
    > 0) the distinct feature popularities, ``d_counts`` how many features have each;
    ``prob[i, g]`` is the probability that a concept of size ``k_values[i]`` has a given
    feature of popularity ``d_values[g]``. ``max_error`` is the largest gap between an
    expected and an observed degree (0 up to the tolerance when the solver converged).
    """

    k_values: np.ndarray
    k_counts: np.ndarray
    d_values: np.ndarray
    d_counts: np.ndarray
    prob: np.ndarray
    iterations: int
    max_error: float
    log_x: tuple[np.ndarray, np.ndarray]  # (residual size, log x) of the solved concepts
    log_y: tuple[np.ndarray, np.ndarray]  # (residual popularity, log y) of solved features

    @property
    def converged(self) -> bool:
        return self.max_error <= 1e-6

    def expected_sizes(self) -> np.ndarray:
        """Expected code size of a concept of each size in ``k_values`` (checks the fit)."""
        return self.prob @ self.d_counts.astype(np.float64)

    def expected_popularity(self) -> np.ndarray:
        """Expected popularity of a feature of each value in ``d_values``."""
        return self.k_counts.astype(np.float64) @ self.prob


def _peel(kv: np.ndarray, kc: np.ndarray, dv: np.ndarray, dc: np.ndarray
          ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Fix the degrees the model must give probability 0 or 1: empty or full concepts and
    features, repeatedly (fixing one can force others). Returns per group the fixed value
    (-1 = free, 0 or 1) and the round it was fixed in, and the residual degrees."""
    kfix = np.full(kv.size, -1, dtype=np.int8)
    dfix = np.full(dv.size, -1, dtype=np.int8)
    never = np.iinfo(np.int64).max
    kround = np.full(kv.size, never, dtype=np.int64)
    dround = np.full(dv.size, never, dtype=np.int64)
    for rnd in range(kv.size + dv.size + 1):
        k_res = kv - int(dc[dfix == 1].sum())
        d_res = dv - int(kc[kfix == 1].sum())
        n_free_f = int(dc[dfix == -1].sum())
        n_free_c = int(kc[kfix == -1].sum())
        k_new = (kfix == -1) & ((k_res <= 0) | (k_res >= n_free_f))
        d_new = (dfix == -1) & ((d_res <= 0) | (d_res >= n_free_c))
        if not (k_new.any() or d_new.any()):
            break
        kfix[k_new] = np.where(k_res[k_new] <= 0, 0, 1)
        dfix[d_new] = np.where(d_res[d_new] <= 0, 0, 1)
        kround[k_new] = rnd
        dround[d_new] = rnd
    return kfix, dfix, kround, dround, k_res, d_res


def fit_bicm(sizes: np.ndarray, popularity: np.ndarray, *, tol: float = 1e-9,
             max_iter: int = 10_000, init: BicmFit | None = None) -> BicmFit:
    """Solve the BiCM for concepts with code ``sizes`` and features with ``popularity``
    (both counted among the same concepts; features of popularity 0 are left out).

    Damped Newton (then, if it stalls, the classic fixed-point iteration) on the grouped
    equations ``k = sum_f p(a, f)`` and ``d = sum_a p(a, f)``; ``init`` (the previous
    checkpoint's fit) warm-starts it. Warns and returns the last iterate when degrees are
    not matched within ``tol`` (degree sequences at the edge of what a bipartite graph can
    have).
    """
    sizes = np.asarray(sizes, dtype=np.int64)
    popularity = np.asarray(popularity, dtype=np.int64)
    kv, kc = np.unique(sizes, return_counts=True)
    dv, dc = np.unique(popularity[popularity > 0], return_counts=True)
    kfix, dfix, kround, dround, k_res, d_res = _peel(kv, kc, dv, dc)
    # a fixed concept decides its row for features fixed later than it, and vice versa
    first_k = kround[:, None] <= dround[None, :]
    prob = np.where(first_k, kfix[:, None], dfix[None, :]).astype(np.float64)
    prob[(kfix[:, None] == -1) & (dfix[None, :] == -1)] = 0.0
    ka, ga = np.flatnonzero(kfix == -1), np.flatnonzero(dfix == -1)
    empty = (np.zeros(0), np.zeros(0))
    if ka.size == 0 or ga.size == 0:
        return BicmFit(kv, kc, dv, dc, prob, 0, 0.0, empty, empty)
    k, w_k = k_res[ka].astype(np.float64), kc[ka].astype(np.float64)
    d, w_d = d_res[ga].astype(np.float64), dc[ga].astype(np.float64)
    if init is not None and init.log_x[0].size and init.log_y[0].size:
        lx = np.interp(k, *init.log_x)
        ly = np.interp(d, *init.log_y)
    else:  # the sparse-limit solution p ~ k d / E as a start
        total = math.sqrt(float(k @ w_k))
        lx, ly = np.log(k / total), np.log(d / total)
    lx, ly, it, err = _newton(k, w_k, d, w_d, lx, ly, tol, max_iter)
    if err > tol:  # Newton stalled: the slower fixed point from where it got
        lx, ly, more, err = _fixed_point(k, w_k, d, w_d, lx, ly, tol, max_iter)
        it += more
    p = _probs(lx, ly)
    prob[np.ix_(ka, ga)] = p
    if err > 1e-6:
        warnings.warn(f"BiCM did not converge in {max_iter} rounds (largest degree error "
                      f"{err:.3g}); connection p-values use the last iterate",
                      RuntimeWarning, stacklevel=2)
    return BicmFit(kv, kc, dv, dc, prob, it, err, (k, lx), (d, ly))


def _probs(lx: np.ndarray, ly: np.ndarray) -> np.ndarray:
    """p = x y / (1 + x y) from log x and log y, without overflow."""
    return 0.5 * (1.0 + np.tanh(0.5 * (lx[:, None] + ly[None, :])))


def _residual(p: np.ndarray, k: np.ndarray, w_k: np.ndarray, d: np.ndarray,
              w_d: np.ndarray) -> np.ndarray:
    return np.concatenate([p @ w_d - k, w_k @ p - d])


def _newton(k: np.ndarray, w_k: np.ndarray, d: np.ndarray, w_d: np.ndarray,
            lx: np.ndarray, ly: np.ndarray, tol: float, max_iter: int
            ) -> tuple[np.ndarray, np.ndarray, int, float]:
    """Damped Newton on the grouped degree equations in (log x, log y)."""
    u = k.size
    p = _probs(lx, ly)
    res = _residual(p, k, w_k, d, w_d)
    norm = float(np.abs(res).max())
    it = 0
    for it in range(1, min(max_iter, 200) + 1):
        if norm <= tol:
            return lx, ly, it - 1, norm
        step = _newton_step(p * (1.0 - p), w_k, w_d, res, u)
        if step is None:
            return lx, ly, it, norm
        t = 1.0
        for _ in range(40):  # halve the step until the residual falls
            nx, ny = lx + t * step[:u], ly + t * step[u:]
            np_ = _probs(nx, ny)
            nres = _residual(np_, k, w_k, d, w_d)
            nnorm = float(np.abs(nres).max())
            if nnorm < norm:
                break
            t *= 0.5
        else:
            return lx, ly, it, norm  # no descent: let the fixed point take over
        lx, ly, p, res, norm = nx, ny, np_, nres, nnorm
    return lx, ly, it, norm


def _newton_step(v: np.ndarray, w_k: np.ndarray, w_d: np.ndarray, res: np.ndarray, u: int
                 ) -> np.ndarray | None:
    """Solve J step = -res for the Jacobian [[diag(a), B], [C, diag(b)]] of the degree
    equations by eliminating the concept block (diagonal) and pinning the first feature
    group's step to 0 (the system is invariant under x c, y / c); None if singular."""
    a = v @ w_d                       # d k_a / d log x_a
    b = w_k @ v                       # d d_g / d log y_g
    bm = v * w_d[None, :]             # d k_a / d log y_g
    cm = (v * w_k[:, None]).T         # d d_g / d log x_a
    r1, r2 = -res[:u], -res[u:]
    schur = np.diag(b) - cm @ (bm / a[:, None])
    rhs = r2 - cm @ (r1 / a)
    step_y = np.zeros(b.size)
    if b.size > 1:
        try:
            step_y[1:] = np.linalg.solve(schur[1:, 1:], rhs[1:])
        except np.linalg.LinAlgError:
            return None
    step_x = (r1 - bm @ step_y) / a
    return np.concatenate([step_x, step_y])


def _fixed_point(k: np.ndarray, w_k: np.ndarray, d: np.ndarray, w_d: np.ndarray,
                 lx: np.ndarray, ly: np.ndarray, tol: float, max_iter: int
                 ) -> tuple[np.ndarray, np.ndarray, int, float]:
    """The classic BiCM iteration x = k / sum_f y/(1+xy), y = d / sum_a x/(1+xy)."""
    x, y = np.exp(lx), np.exp(ly)
    err = math.inf
    it = 0
    for it in range(1, max_iter + 1):
        x = k / ((w_d * y / (1.0 + np.outer(x, y))).sum(axis=1))
        y = d / ((w_k[:, None] * x[:, None] / (1.0 + np.outer(x, y))).sum(axis=0))
        if it % 8 == 0 or it == max_iter:
            err = float(np.abs(_residual(_probs(np.log(x), np.log(y)), k, w_k, d,
                                         w_d)).max())
            if err <= tol:
                break
    return np.log(x), np.log(y), it, err


def overlap_pmf(prob_a: np.ndarray, prob_b: np.ndarray, counts: np.ndarray, length: int
                ) -> tuple[np.ndarray, np.ndarray]:
    """Law of the shared-feature count of concept pairs under a BiCM.

    ``prob_a``/``prob_b`` (pairs x groups) are each pair's two concepts' probabilities per
    feature group of ``counts`` features. Returns ``(shift, pmf)``: the count is
    ``shift + V`` with ``pmf[:, v] = P(V = v)`` for v < ``length`` (features certain for
    both concepts make up ``shift``). Convolution of one binomial per group, in float64
    with no cancellation (all terms positive); cost pairs x groups x length^2.
    """
    n_pairs, n_groups = prob_a.shape
    counts = np.asarray(counts, dtype=np.int64)
    q = prob_a * prob_b
    sure = q >= 1.0
    shift = (sure * counts[None, :]).sum(axis=1).astype(np.int64)
    lf = gammaln(np.arange(int(counts.max(initial=0)) + 1, dtype=np.float64) + 1.0)
    # (length, pairs) layout: every shifted slice below is a contiguous block of rows
    pmf = np.zeros((length, n_pairs), dtype=np.float64)
    pmf[0] = 1.0
    q_safe = np.where(sure | (q <= 0.0), 0.5, q).T  # placeholders; those pairs are masked
    log_q, log_1q = np.log(q_safe), np.log1p(-q_safe)
    for g in range(n_groups):
        m = int(counts[g])
        live = (q[:, g] > 0.0) & ~sure[:, g]
        if m == 0 or not live.any():
            continue
        j = np.arange(min(m, length - 1) + 1)[:, None]
        kernel = np.exp(lf[m] - lf[j] - lf[m - j] + j * log_q[g] + (m - j) * log_1q[g])
        kernel[:, ~live] = 0.0
        kernel[0, ~live] = 1.0  # pairs without this group: the identity
        out = pmf * kernel[0]
        for jj in range(1, j.size):  # truncated convolution, one shift per binomial term
            out[jj:] += kernel[jj] * pmf[:length - jj]
        pmf = out
    return shift, np.ascontiguousarray(pmf.T)


def upper_tails(pmf: np.ndarray) -> np.ndarray:
    """``sf[:, s] = P(V >= s)`` for s < pmf.shape[1] from a truncated pmf.

    The mass beyond the table is bounded with log-concavity (a Poisson-binomial pmf is
    log-concave, so its ratios fall: the rest is at most ``pmf_L r / (1 - r)``) and with
    ``1 - sum``; the smaller is added, which keeps tiny tails accurate and large ones right.
    """
    tails = np.cumsum(pmf[:, ::-1], axis=1)[:, ::-1]
    last, prev = pmf[:, -1], pmf[:, -2] if pmf.shape[1] > 1 else np.ones(pmf.shape[0])
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(prev > 0, last / prev, 0.0)
        bound = np.where(r < 1.0, last * r / (1.0 - r), np.inf)
    rest = np.minimum(bound, np.maximum(0.0, 1.0 - tails[:, 0]))
    return np.minimum(tails + rest[:, None], 1.0)


def bernstein_reach(mean: np.ndarray, var: np.ndarray, alpha: float) -> np.ndarray:
    """An overlap at which P(V >= s) <= alpha is certain (Bernstein's inequality for sums
    of independent Bernoullis): ``ceil(mean + t)`` with exp(-t^2 / (2 (var + t/3))) = alpha.
    Bounds the tables needed to find every critical overlap."""
    log_a = math.log(1.0 / alpha)
    t = log_a / 3.0 + np.sqrt((log_a / 3.0) ** 2 + 2.0 * var * log_a)
    return np.ceil(mean + t).astype(np.int64)
