"""Null laws of the number of features two concepts share, for the connection test.

Each null is built for one checkpoint from the present concepts' code sizes and answers two
questions, per pair of *distinct code sizes* (every statistic depends on a pair only through
its two sizes): the smallest overlap worth evaluating (below it p > alpha, so the pair can
neither be rejected nor change a q <= alpha) and the one-sided p = P(S >= s).

* ``"bicm"`` (default): the bipartite configuration model, which keeps each concept's size
  and each feature's popularity (:mod:`ontochron.ontology.bicm`);
* ``"cbicm"``: the BiCM conditioned on each concept's exact code size (rows of the BiCM
  given their sums are independent draws with P(code) proportional to the product of its
  features' BiCM fitnesses), computed exactly by a dynamic programme over features;
* ``"hypergeometric"``: every feature that is on somewhere equally likely,
  S ~ Hypergeom(live features, k_a, k_b).
"""

from __future__ import annotations

import numpy as np

from ontochron.ontology.bicm import (
    bernstein_reach,
    fit_bicm,
    overlap_pmf,
    upper_tails,
)
from ontochron.ontology.stats import hypergeom_critical, hypergeom_sf

NULLS = ("bicm", "cbicm", "hypergeometric")
# Distinct code sizes up to which critical overlaps are tabulated for every size pair;
# beyond, the cheaper "above the mean" cut (exact for alpha < 0.5, see min_overlap).
MAX_SIZES = 128
# Table length kept past the largest overlap evaluated, so that its tail is summed rather
# than bounded (the bound is then below 1e-6 of it even when the pmf falls by only half
# per step; in the far tail it falls much faster).
_TAIL_MARGIN = 20


def _narrow(table: np.ndarray) -> np.ndarray:
    """The critical table as uint16 when it fits: it is compared with uint16 overlaps."""
    if table.size and 0 <= table.min() and table.max() < 1 << 16:
        return table.astype(np.uint16)
    return table


class _SizePairNull:
    """What both nulls share: the smallest overlap worth evaluating, from the critical table
    (``table``, per pair of size indices) when it was built, else the "above the mean" cut
    of :meth:`_mean_cut` (s <= floor(mean) is at most the median, so p >= 0.5 > alpha),
    else 1 (alpha >= 0.5)."""

    table: np.ndarray | None
    alpha: float

    def _mean_cut(self, ia: np.ndarray, ib: np.ndarray) -> np.ndarray:
        """floor(E[S]) + 1 for size indices ia, ib (broadcast)."""
        raise NotImplementedError

    def min_overlap(self, ia: np.ndarray, ib: np.ndarray) -> np.ndarray:
        """Smallest overlap worth evaluating for size indices ia x ib (outer product)."""
        if self.table is not None:
            return np.take(self.table[ia], ib, axis=1)
        return self.min_overlap_pairs(ia[:, None], ib[None, :])

    def min_overlap_pairs(self, ia: np.ndarray, ib: np.ndarray) -> np.ndarray:
        """:meth:`min_overlap` for the pairs (ia[i], ib[i]) (arrays broadcast)."""
        if self.table is not None:
            return self.table[ia, ib]
        if self.alpha < 0.5:
            return self._mean_cut(ia, ib)
        return np.ones(np.broadcast_shapes(np.shape(ia), np.shape(ib)), dtype=np.int64)


class HypergeomNull(_SizePairNull):
    """S ~ Hypergeom(n_features, k_a, k_b): a concept's features are a uniform draw."""

    name = "hypergeometric"

    def __init__(self, sizes: np.ndarray, n_features: int, alpha: float) -> None:
        self.values, self.index = np.unique(np.asarray(sizes, dtype=np.int64),
                                            return_inverse=True)
        self.n_features, self.alpha = n_features, alpha
        u = self.values.size
        self.table: np.ndarray | None = None
        if 0 < u <= MAX_SIZES:
            ia, ib = np.triu_indices(u)
            crit = hypergeom_critical(alpha, n_features, self.values[ia], self.values[ib])
            table = np.zeros((u, u), dtype=np.int32)
            table[ia, ib] = crit
            table[ib, ia] = crit
            self.table = _narrow(table)

    def _mean_cut(self, ia: np.ndarray, ib: np.ndarray) -> np.ndarray:
        # E[S] = k_a k_b / n_features, floored exactly in integers
        return self.values[ia] * self.values[ib] // max(self.n_features, 1) + 1

    def sf(self, s: np.ndarray, ia: np.ndarray, ib: np.ndarray) -> np.ndarray:
        """p = P(S >= s) for overlaps ``s`` of pairs with size indices (ia, ib)."""
        return hypergeom_sf(s, self.n_features, self.values[ia], self.values[ib])


class BicmNull(_SizePairNull):
    """S = sum over features of Bernoulli(p(a, f) p(b, f)) under the BiCM fitted to the
    checkpoint (sizes and popularities kept in expectation): sharing a feature that most
    concepts have is expected, sharing rare ones is evidence."""

    name = "bicm"

    def __init__(self, sizes: np.ndarray, popularity: np.ndarray, alpha: float) -> None:
        sizes = np.asarray(sizes, dtype=np.int64)
        self.fit = fit_bicm(sizes, popularity)
        self.values, self.index = np.unique(sizes, return_inverse=True)
        self.alpha = alpha
        prob, counts = self.fit.prob, self.fit.d_counts.astype(np.float64)
        self.mean = (prob * counts) @ prob.T
        sq = prob * prob
        self.var = np.maximum(self.mean - (sq * counts) @ sq.T, 0.0)
        u = self.values.size
        self._tables: dict[int, tuple[int, np.ndarray]] = {}  # combo -> (shift, sf row)
        self.table: np.ndarray | None = None
        if 0 < u <= MAX_SIZES:
            ia, ib = np.triu_indices(u)
            reach = bernstein_reach(self.mean[ia, ib], self.var[ia, ib], alpha)
            shift, sf = self._tails(ia, ib, int(reach.max()) + 2)
            below = sf > alpha  # tails fall with s: count the levels still above alpha
            crit = shift + below.sum(axis=1)
            table = np.zeros((u, u), dtype=np.int64)
            table[ia, ib] = crit
            table[ib, ia] = crit
            self.table = _narrow(table)
            for c, key in enumerate((ia * u + ib).tolist()):
                self._tables[key] = (int(shift[c]), sf[c])

    def _tails(self, ia: np.ndarray, ib: np.ndarray, length: int
               ) -> tuple[np.ndarray, np.ndarray]:
        shift, pmf = overlap_pmf(self.fit.prob[ia], self.fit.prob[ib], self.fit.d_counts,
                                 max(length, 2))
        return shift, upper_tails(pmf)

    def _mean_cut(self, ia: np.ndarray, ib: np.ndarray) -> np.ndarray:
        # the median of a sum of independent Bernoullis is the floor or ceil of its mean
        return np.floor(self.mean[ia, ib] - 1e-9).astype(np.int64) + 1

    def sf(self, s: np.ndarray, ia: np.ndarray, ib: np.ndarray) -> np.ndarray:
        """p = P(S >= s) for overlaps ``s`` of pairs with size indices (ia, ib), from each
        size pair's tabulated law; a law is (re)tabulated further when an overlap is past
        its table or its tail there is too small to read off a short table."""
        s = np.asarray(s, dtype=np.int64)
        if s.size == 0:
            return np.zeros(0, dtype=np.float64)
        u = self.values.size
        combo = np.minimum(ia, ib) * u + np.maximum(ia, ib)
        uniq, inv = np.unique(combo, return_inverse=True)
        out, short = self._lookup(s, uniq, inv)
        if short.any():
            redo = np.unique(inv[short])
            need = np.zeros(uniq.size, dtype=np.int64)
            np.maximum.at(need, inv[short], s[short])
            ma, mb = uniq[redo] // u, uniq[redo] % u
            shift, sf = self._tails(ma, mb, int(need[redo].max()) + 1 + _TAIL_MARGIN)
            for n, c in enumerate(uniq[redo].tolist()):
                self._tables[c] = (int(shift[n]), sf[n])
            out[short] = self._lookup(s[short], uniq, inv[short])[0]
        return out

    def _lookup(self, s: np.ndarray, uniq: np.ndarray, inv: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray]:
        """Tail values from the tables of the size pairs ``uniq`` (tabulating missing ones
        to the crit-table length) and a mask of the values that need a longer table: past
        the table, or below 1e-6 within its last ``_TAIL_MARGIN`` entries (there the mass
        beyond the table is known to an absolute ~1e-15 only)."""
        u = self.values.size
        missing = [c for c in uniq.tolist() if c not in self._tables]
        if missing:
            idx = np.asarray(missing)
            shift, sf = self._tails(idx // u, idx % u, 2 + _TAIL_MARGIN)
            for n, c in enumerate(missing):
                self._tables[c] = (int(shift[n]), sf[n])
        rows = [self._tables[c] for c in uniq.tolist()]
        sizes = np.array([r[1].size for r in rows], dtype=np.int64)
        table = np.zeros((uniq.size, int(sizes.max())), dtype=np.float64)
        for n, (_, row) in enumerate(rows):
            table[n, :row.size] = row
        v = s - np.array([r[0] for r in rows], dtype=np.int64)[inv]
        size = sizes[inv]
        inside = np.clip(v, 0, size - 1)
        out = np.where(v <= 0, 1.0, table[inv, inside])
        short = (v >= size) | ((v > 0) & (out < 1e-6) & (v >= size - _TAIL_MARGIN))
        return out, short


def size_null_cost(popularity: np.ndarray, max_size: int) -> float:
    """Elementary steps of :class:`SizeNull`'s dynamic programme up to code size
    ``max_size``: live features x (max_size + 1)^3."""
    live = int(np.count_nonzero(np.asarray(popularity) > 0))
    return float(live) * float(min(max_size, live) + 1) ** 3


def affordable_size(popularity: np.ndarray, budget: float) -> int:
    """Largest code size whose :func:`size_null_cost` is within ``budget``."""
    live = int(np.count_nonzero(np.asarray(popularity) > 0))
    if live == 0:
        return 0
    k = min(int((budget / live) ** (1.0 / 3.0)), live)
    while k < live and size_null_cost(popularity, k + 1) <= budget:
        k += 1
    while k > 0 and size_null_cost(popularity, k) > budget:
        k -= 1
    return k


def joint_overlap_law(p: np.ndarray, k: int) -> np.ndarray:
    """``J[i, j, s]`` = P(|A| = i, |B| = j, |A and B| = s) for two independent rows whose
    features are on independently with probabilities ``p``, for i, j, s <= ``k``: one
    trinomial step per feature (neither, one of them, both), float64 with positive terms
    only. Cost len(p) x (k + 1)^3 (the caller bounds it)."""
    out = np.zeros((k + 1, k + 1, k + 1), dtype=np.float64)
    out[0, 0, 0] = 1.0
    if k == 0:
        return out
    tmp = np.empty_like(out)
    for pf in np.asarray(p, dtype=np.float64).tolist():
        one, both = pf * (1.0 - pf), pf * pf
        np.multiply(out, (1.0 - pf) ** 2, out=tmp)
        tmp[1:] += one * out[:-1]
        tmp[:, 1:] += one * out[:, :-1]
        tmp[1:, 1:, 1:] += both * out[:-1, :-1, :-1]
        out, tmp = tmp, out
    return out


class SizeNull(_SizePairNull):
    """The BiCM conditioned on both concepts' exact code sizes.

    Under the BiCM a concept's row is independent Bernoulli(x_a y_f / (1 + x_a y_f)); given
    its sum k_a the row is a draw with P(code) proportional to the product of y_f over its
    features, whatever x_a: the concept-side parameter drops out, the feature fitnesses y
    (which keep every feature's popularity in expectation) remain. So
    p = P(S >= s | |A| = k_a, |B| = k_b) with rows independent, computed exactly as a ratio
    of coefficients of the joint law of (|A|, |B|, S) under any one tilt x (here the
    BiCM's own, at the median code size; :func:`joint_overlap_law`). Unlike the plain BiCM
    it does not add the code sizes' own variance to S, which on dense codes (sizes a
    sizeable fraction of the features) is most of the BiCM's variance and all of its lost
    power. Features on in every (non-fixed) concept shift S; concepts the model fixes
    (empty, or with every feature) have a fixed overlap: p = 1. Size pairs with a code
    larger than ``max_size`` (the programme's cost grows with its cube) or whose law
    underflows under the common tilt (far from the median size) fall back to the BiCM,
    which is valid there too, only less powerful on dense codes.
    """

    name = "cbicm"

    def __init__(self, sizes: np.ndarray, popularity: np.ndarray, alpha: float,
                 max_size: int | None = None) -> None:
        sizes = np.asarray(sizes, dtype=np.int64)
        self.alpha = alpha
        self.values, self.index = np.unique(sizes, return_inverse=True)
        u = self.values.size
        self._sizes, self._popularity = sizes, np.asarray(popularity, dtype=np.int64)
        self._bicm: BicmNull | None = None
        fit = fit_bicm(sizes, popularity)
        prob = fit.prob  # rows: fit.k_values (= self.values), columns: popularity groups
        free_row = ((prob > 0.0) & (prob < 1.0)).any(axis=1)
        self.shift = 0
        self.fixed = ~free_row  # per size value: overlap fixed under the model
        k = 0
        self.tails = np.ones((u, u, 1), dtype=np.float64)
        self.valid = np.zeros((u, u), dtype=bool)
        if free_row.any():
            free = np.flatnonzero(free_row)
            med = float(np.median(sizes[free_row[self.index]]))
            r = int(free[np.argmin(np.abs(self.values[free] - med))])
            sure = prob[r] >= 1.0
            live = (prob[r] > 0.0) & ~sure
            self.shift = int(fit.d_counts[sure].sum())
            resid = self.values - self.shift
            k = int(resid[free].max(initial=0))
            p = np.repeat(prob[r, live], fit.d_counts[live])
            k = min(k, p.size, k if max_size is None else max(int(max_size), 0))
            joint = joint_overlap_law(p, k)
            ri = np.clip(resid, 0, k)
            rows = joint[ri[:, None], ri[None, :], :]  # u x u x (k + 1)
            total = rows.sum(axis=2)
            inside = free_row & (resid <= k)  # larger codes: past the programme's cap
            ok = inside[:, None] & inside[None, :] & (total > 1e-280)
            with np.errstate(divide="ignore", invalid="ignore"):
                tails = np.cumsum(rows[:, :, ::-1], axis=2)[:, :, ::-1] / total[:, :, None]
            self.tails = np.where(ok[:, :, None], np.minimum(tails, 1.0), 1.0)
            self.valid = ok
        self.k = k
        # critical overlap: smallest s with P(S >= s) <= alpha (never reached: min size + 1)
        lo = np.minimum.outer(self.values, self.values)
        reach = self.tails <= alpha
        first = np.where(reach.any(axis=2), reach.argmax(axis=2) + self.shift, lo + 1)
        table = np.where(self.fixed[:, None] | self.fixed[None, :], lo + 1,
                         np.minimum(first, lo + 1)).astype(np.int64)
        table = np.maximum(table, 1)
        bad = ~self.valid & ~(self.fixed[:, None] | self.fixed[None, :])
        if bad.any():  # underflowed laws: the BiCM's critical overlaps and p-values
            bt = self._fallback()
            ia, ib = np.nonzero(bad)
            table[ia, ib] = bt.min_overlap_pairs(ia, ib)
        self.table = _narrow(table)

    def _fallback(self) -> BicmNull:
        if self._bicm is None:
            self._bicm = BicmNull(self._sizes, self._popularity, self.alpha)
            self._bicm.table = None if self._bicm.table is None else self._bicm.table
        return self._bicm

    def sf(self, s: np.ndarray, ia: np.ndarray, ib: np.ndarray) -> np.ndarray:
        """p = P(S >= s | k_a, k_b) for overlaps ``s`` of pairs with size indices (ia, ib)."""
        s = np.asarray(s, dtype=np.int64)
        ia = np.broadcast_to(np.asarray(ia, dtype=np.int64), s.shape)
        ib = np.broadcast_to(np.asarray(ib, dtype=np.int64), s.shape)
        v = s - self.shift
        inside = np.clip(v, 0, self.tails.shape[2] - 1)
        out = np.where(v <= 0, 1.0, self.tails[ia, ib, inside])
        out = np.where(v > self.tails.shape[2] - 1, 0.0, out)
        fixed = self.fixed[ia] | self.fixed[ib]
        out = np.where(fixed, 1.0, out)
        bad = ~self.valid[ia, ib] & ~fixed
        if bad.any():
            out = out.copy()
            out[bad] = self._fallback().sf(s[bad], ia[bad], ib[bad])
        return out


def make_null(kind: str, sizes: np.ndarray, popularity: np.ndarray, n_features: int,
              alpha: float, max_size: int | None = None
              ) -> HypergeomNull | BicmNull | SizeNull:
    """The null ``kind`` ("bicm", "cbicm" or "hypergeometric") for concepts of ``sizes``
    (present ones) whose features have ``popularity`` among them; the hypergeometric
    population is the features on in at least one of them (``n_features`` is kept for
    callers that pass the stack width: never-on columns cannot be drawn). ``max_size``
    caps the size-conditioned programme (larger codes: BiCM)."""
    if kind == "bicm":
        return BicmNull(sizes, popularity, alpha)
    if kind == "cbicm":
        return SizeNull(sizes, popularity, alpha, max_size)
    if kind == "hypergeometric":
        live = int(np.count_nonzero(np.asarray(popularity) > 0))
        return HypergeomNull(sizes, live, alpha)
    raise ValueError(f"connection null must be one of {NULLS}, got {kind!r}")
