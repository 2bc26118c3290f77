"""Null laws of the number of features two concepts share, for the connection test.

Each null is built for one checkpoint from the present concepts' code sizes and answers two
questions, per pair of *distinct code sizes* (every statistic depends on a pair only through
its two sizes): the smallest overlap worth evaluating (below it p > alpha, so the pair can
neither be rejected nor change a q <= alpha) and the one-sided p = P(S >= s).

* ``"bicm"`` (default): the bipartite configuration model, which keeps each concept's size
  and each feature's popularity (:mod:`ontochron.ontology.bicm`);
* ``"hypergeometric"``: every feature equally likely, S ~ Hypergeom(n_features, k_a, k_b).
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

NULLS = ("bicm", "hypergeometric")
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


def make_null(kind: str, sizes: np.ndarray, popularity: np.ndarray, n_features: int,
              alpha: float) -> HypergeomNull | BicmNull:
    """The null ``kind`` ("bicm" or "hypergeometric") for concepts of ``sizes`` (present
    ones) whose features have ``popularity`` among them."""
    if kind == "bicm":
        return BicmNull(sizes, popularity, alpha)
    if kind == "hypergeometric":
        return HypergeomNull(sizes, n_features, alpha)
    raise ValueError(f"connection null must be one of {NULLS}, got {kind!r}")
