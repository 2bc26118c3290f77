"""Feature structure at each checkpoint: duals, dependencies, 3-way AND triads, over time.

Every family is tested with a one-sided conditional test that keeps each concept's activity
and each feature's frequency (exact hypergeometric counts within concept-activity strata,
ontology/strata.py; triads also against the best noisy-OR of their inputs) and its false
discovery rate controlled with Benjamini-Hochberg over the *whole* family; tests that fail
the effect-size filters or cannot reach significance are counted with p = 1
(docs/structure.md gives the definitions, family sizes and why this keeps FDR control).
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from tqdm.auto import tqdm

from ontochron.ingest.snapshot import CodeStack
from ontochron.ontology.hierarchy import first_stable_steps, hierarchy_edges
from ontochron.ontology.intervals import intervals_from_occurrences
from ontochron.ontology.lifecycle import object_full, repeated_checkpoints
from ontochron.ontology.parallel import ordered_map, workers_for
from ontochron.ontology.power import (
    FamilyPower,
    StepPower,
    bh_power,
    log_min_binom_bound,
    pair_counts,
)
from ontochron.ontology.result import Relations
from ontochron.ontology.stats import bh_qvalues, gammaln, hypergeom_sf, min_attainable_p
from ontochron.ontology.strata import (
    Strata,
    activity_strata,
    and_counts,
    stratified_cdf,
    stratified_sf,
)

# Tolerance for ">= threshold" on ratios, so that 7/10 >= 0.7 holds despite rounding.
_EPS = 1e-9
# Upper bound on sparse entries materialised at once by a blocked product.
_BLOCK_NNZ = 1 << 24
# Uncapped AND candidate pairs above which detect_step warns (each costs ~n_ij x row size).
_MANY_PAIRS = 2_000_000
# Columns per dense slab of X in the co-occurrence product (a slab of 5,000 concepts as
# uint16 is 10 MiB), and the ratio of the slab product's adds to the sparse product's steps
# below which the slabs are used (both take about as long at ~200: 2 CPUs of 2025, scipy 1.17).
_SLAB = 1024
_SLAB_WORK_RATIO = 100
# Largest dense copy of the codes (concepts x features) the slabs may hold.
_SLAB_BYTES = 1 << 29
# Rows per tile of the blocked transposed copy that fills the co-occurrence matrix.
_TILE = 128
# Largest dense co-occurrence matrix kept per checkpoint (16,384 features as uint16: 512 MiB).
_DENSE_COOC_BYTES = 1 << 31

# Checkpoints structure is detected at: every one, or the last one only (as reptimeline's
# discovery does; relations then hold from the last step on).
STRUCTURE_AT = ("all", "last")

DUAL_FIELDS = ("i", "j", "phi", "p", "q", "support")
DEP_FIELDS = ("child", "parent", "confidence", "p", "q", "support")
TRIAD_FIELDS = ("i", "j", "r", "p_r_ij", "p_r_i", "p_r_j", "interaction", "p", "q", "support")
_INT_FIELDS = {"i", "j", "r", "child", "parent", "support"}


@dataclass(frozen=True)
class StructureConfig:
    """Thresholds for structure detection; see docs/structure.md for each definition."""

    alpha: float = 0.05
    min_support: int = 3
    dual_max_phi: float = -0.3
    dep_confidence: float = 0.9
    triad_min_p_ij: float = 0.7
    triad_max_p_single: float = 0.7
    triad_min_interaction: float = 0.2
    stability_window: int = 3
    max_triad_pairs: int | None = 20_000
    device: str = "cpu"
    at: str = "all"
    activity_strata: int = 16

    def __post_init__(self) -> None:
        if not 0.0 < self.alpha < 1.0:
            raise ValueError(f"alpha must be in (0, 1), got {self.alpha}")
        if isinstance(self.min_support, bool) or not isinstance(self.min_support, int) \
                or self.min_support < 1:
            raise ValueError(f"min_support must be an integer >= 1, got {self.min_support!r}")
        if not -1.0 <= self.dual_max_phi < 0.0:
            raise ValueError(f"dual_max_phi must be in [-1, 0), got {self.dual_max_phi}")
        for name in ("dep_confidence", "triad_min_p_ij", "triad_max_p_single"):
            v = getattr(self, name)
            if not 0.0 < v <= 1.0:
                raise ValueError(f"{name} must be in (0, 1], got {v}")
        if not 0.0 <= self.triad_min_interaction <= 1.0:
            raise ValueError("triad_min_interaction must be in [0, 1], "
                             f"got {self.triad_min_interaction}")
        if isinstance(self.stability_window, bool) or not isinstance(self.stability_window, int) \
                or self.stability_window < 1:
            raise ValueError(f"stability_window must be an integer >= 1, "
                             f"got {self.stability_window!r}")
        if self.max_triad_pairs is not None and (
                isinstance(self.max_triad_pairs, bool)
                or not isinstance(self.max_triad_pairs, int) or self.max_triad_pairs < 0):
            raise ValueError(f"max_triad_pairs must be None or an integer >= 0, "
                             f"got {self.max_triad_pairs!r}")
        if isinstance(self.activity_strata, bool) or not isinstance(self.activity_strata, int) \
                or self.activity_strata < 1:
            raise ValueError(f"activity_strata must be an integer >= 1, "
                             f"got {self.activity_strata!r}")
        if self.at not in STRUCTURE_AT:
            raise ValueError(f"at must be one of {STRUCTURE_AT}, got {self.at!r}")
        if not isinstance(self.device, str) or not (self.device == "cpu"
                                                    or self.device.startswith("cuda")):
            raise ValueError(f"device must be 'cpu' or 'cuda[:n]', got {self.device!r}")


def _empty_table(fields: tuple[str, ...]) -> dict[str, np.ndarray]:
    return {f: np.zeros(0, dtype=np.int64 if f in _INT_FIELDS else np.float64) for f in fields}


@dataclass
class StepStructure:
    """Structure found at one checkpoint: one columnar table per family (feature indices
    into the codes' columns) plus each family's size ``n_tests`` as used by BH."""

    duals: dict[str, np.ndarray] = field(default_factory=lambda: _empty_table(DUAL_FIELDS))
    dependencies: dict[str, np.ndarray] = field(
        default_factory=lambda: _empty_table(DEP_FIELDS))
    triads: dict[str, np.ndarray] = field(default_factory=lambda: _empty_table(TRIAD_FIELDS))
    n_tests: dict[str, int] = field(
        default_factory=lambda: {"dual": 0, "dependency": 0, "triad": 0})
    n_tested_features: int = 0
    triad_pairs: int = 0           # candidate (i, j) pairs whose triples were counted
    triad_pairs_capped: int = 0    # candidate pairs left out by max_triad_pairs
    power: dict[str, StepPower] = field(default_factory=dict)  # per family (power.py)


# --------------------------------------------------------------------------- statistics

def hypergeom_cdf(s: np.ndarray, n_pop: int, ka: np.ndarray, kb: np.ndarray) -> np.ndarray:
    """Lower tail P(S <= s) for S ~ Hypergeom(n_pop, ka successes, kb draws), elementwise.

    Uses the symmetry S <= s  <=>  kb - S >= kb - s, with kb - S ~ Hypergeom(n_pop, n_pop-ka, kb).
    """
    ka = np.asarray(ka, dtype=np.int64)
    kb = np.asarray(kb, dtype=np.int64)
    return hypergeom_sf(kb - np.asarray(s, dtype=np.int64), n_pop, n_pop - ka, kb)


def phi_coefficient(n_ij: np.ndarray, n_i: np.ndarray, n_j: np.ndarray, n: int) -> np.ndarray:
    """Phi (= Matthews correlation) of two binary features from their 2x2 counts."""
    n_ij, n_i, n_j = (np.asarray(v, dtype=np.float64) for v in (n_ij, n_i, n_j))
    den = np.sqrt(n_i * n_j * (n - n_i) * (n - n_j))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, (n * n_ij - n_i * n_j) / np.where(den > 0, den, 1.0), 0.0)


def _sf_varying_pop(s: np.ndarray, n_pop: np.ndarray, ka: np.ndarray,
                    kb: np.ndarray) -> np.ndarray:
    """Upper tail with a per-test population; loops over distinct populations (<= N values)."""
    out = np.ones(s.shape, dtype=np.float64)
    if s.size == 0:
        return out
    order = np.argsort(n_pop, kind="stable")
    pops, starts = np.unique(n_pop[order], return_index=True)
    ends = np.append(starts[1:], order.size)
    for pop, a, b in zip(pops.tolist(), starts.tolist(), ends.tolist(), strict=True):
        sel = order[a:b]
        out[sel] = hypergeom_sf(s[sel], int(pop), ka[sel], kb[sel])
    return out


# --------------------------------------------------------------------------- kernels

def _dual_feature_mask(n: np.ndarray, n_total: int, max_phi: float) -> np.ndarray:
    """Features that can reach phi <= max_phi with at least one other tested feature.

    The most negative phi attainable with margins (n_i, n_j) is -min(g, 1/g), g = sqrt(o_i o_j)
    with odds o = n / (N - n), so a partner needs o_j in [phi^2 / o_i, 1 / (phi^2 o_i)].
    """
    odds = n / (n_total - n)
    srt = np.sort(odds)
    lo, hi = max_phi ** 2 / odds, 1.0 / (max_phi ** 2 * odds)
    count = np.searchsorted(srt, hi * (1 + _EPS), "right") - np.searchsorted(
        srt, lo * (1 - _EPS), "left")
    self_in = (odds >= lo * (1 - _EPS)) & (odds <= hi * (1 + _EPS))
    return (count - self_in) > 0


def _row_blocks(n_rows: int, row_nnz_bound: np.ndarray) -> Iterator[slice]:
    """Consecutive row slices whose summed output-size bound stays under _BLOCK_NNZ."""
    start = 0
    csum = np.cumsum(row_nnz_bound, dtype=np.int64)
    while start < n_rows:
        base = csum[start - 1] if start else 0
        stop = int(np.searchsorted(csum, base + _BLOCK_NNZ, "right"))
        stop = max(stop, start + 1)
        yield slice(start, stop)
        start = stop


def _feature_limits(n: np.ndarray, cfg: StructureConfig) -> tuple[np.ndarray, np.ndarray]:
    """Per-feature integer thresholds: least co-occurrence for the feature to be a dependency
    child (support and confidence), and most co-occurrence for it to be an AND input
    (P(r|i) >= P(r|i,j) n_ij / n_i, so interaction >= d needs n_ij <= (1 - d) n_i)."""
    nf = n.astype(np.float64)
    need_dep = np.maximum(np.ceil(cfg.dep_confidence * nf - _EPS * nf), cfg.min_support)
    lim_pair = np.floor((1.0 - cfg.triad_min_interaction) * nf + _EPS * nf)
    return need_dep.astype(np.int64), lim_pair.astype(np.int64)


class _PairKeeper:
    """Collects AND candidate pairs (i < j); when capped keeps only the ``cap`` best by
    (-n_ij, i, j). Pairs must arrive in blocks of strictly increasing i, so that a later pair
    tied with the weakest kept one always ranks below it."""

    def __init__(self, n: np.ndarray, cfg: StructureConfig) -> None:
        self.n, self.cap, self.alpha = n, cfg.max_triad_pairs, cfg.alpha
        self.small = n < 1.0 / cfg.alpha  # M < 1/alpha needs both margins below it
        self.held = np.zeros((3, 0), dtype=np.int64)
        self.parts: list[np.ndarray] = []
        self.total = 0
        self.floor = -1  # when full, a new pair needs n_ij > floor to get in

    def add(self, i: np.ndarray, j: np.ndarray, nij: np.ndarray) -> None:
        # Tarone at pair level: the best any r can reach is 1 / C(M, n_ij), M = n_i + n_j -
        # n_ij > n_ij here; C(M, k) >= M for 0 < k < M, so only M < 1/alpha needs checking.
        small = np.flatnonzero(self.small[i] & self.small[j])
        if small.size:
            pop = self.n[i[small]] + self.n[j[small]] - nij[small]
            ok = np.ones(i.size, dtype=bool)
            ok[small] = _log_binom(pop, nij[small]) >= -math.log(self.alpha) - _EPS
            i, j, nij = i[ok], j[ok], nij[ok]
        self.total += int(i.size)
        self._take(i, j, nij)

    def _take(self, i: np.ndarray, j: np.ndarray, nij: np.ndarray) -> None:
        """Keep pairs that passed every filter (all of them, or the best ``cap``)."""
        if self.cap is None:
            self.parts.append(np.stack([i, j, nij]).astype(np.int64))
            return
        keep = nij > self.floor
        h = np.concatenate([self.held, np.stack([i[keep], j[keep], nij[keep]])], axis=1)
        if h.shape[1] > self.cap:
            h = h[:, self._top(h)]
            self.floor = int(h[2].min()) if h.shape[1] else self.floor
        self.held = h

    def add_block(self, rows: np.ndarray, cols: np.ndarray, counts: np.ndarray,
                  pair: np.ndarray) -> None:
        """:meth:`add` for a dense block: ``pair`` (rows x cols, changed in place) marks the
        pairs that passed the AND filters, ``counts`` holds their n_ij; only the pairs that
        can still enter a capped list are extracted."""
        sr, sc = np.flatnonzero(self.small[rows]), np.flatnonzero(self.small[cols])
        if sr.size and sc.size:  # Tarone, as in add
            a, b = np.nonzero(pair[np.ix_(sr, sc)])
            a, b = sr[a], sc[b]
            nij = counts[a, b].astype(np.int64)
            bad = _log_binom(self.n[rows[a]] + self.n[cols[b]] - nij, nij) \
                < -math.log(self.alpha) - _EPS
            pair[a[bad], b[bad]] = False
        if self.cap is not None:
            self.total += int(np.count_nonzero(pair))
            if self.cap == 0:
                return
            if self.floor >= 0:
                pair &= counts > self.floor
            # a pair needs n_ij > floor, and at least the block's cap-th largest n_ij (the
            # block alone has cap pairs at or above it, and ties rank by (i, j))
            least = self.floor + 1
            vals = counts[pair]
            if vals.size > self.cap:  # counts are small integers: a histogram finds it
                above = np.cumsum(np.bincount(vals)[::-1])  # pairs at >= (top - index)
                least = max(least, int(above.size - 1 - np.searchsorted(above, self.cap)))
            if least > 0:
                pair &= counts >= least
            a, b = np.nonzero(pair)
        else:
            a, b = np.nonzero(pair)
            self.total += int(a.size)
        self._take(rows[a], cols[b], counts[a, b].astype(np.int64))

    def _top(self, h: np.ndarray) -> np.ndarray:
        """Indices of the ``cap`` best columns of h by (-n_ij, i, j), in linear time."""
        cap = int(self.cap or 0)
        if cap == 0:
            return np.zeros(0, dtype=np.int64)
        nij = h[2]
        kth = nij.size - cap
        thr = np.partition(nij, kth)[kth]
        gt = np.flatnonzero(nij > thr)
        tied = np.flatnonzero(nij == thr)
        want = cap - gt.size
        key = h[0, tied] * self.n.size + h[1, tied]
        if want < tied.size:
            tied = tied[np.argpartition(key, want - 1)[:want]] if want > 0 else tied[:0]
        return np.concatenate([gt, tied])

    def result(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
        """(i, j, n_ij) sorted strongest first, and how many candidates the cap left out."""
        i, j, nij = _stack(self.parts) if self.cap is None else tuple(self.held)
        order = np.lexsort((j, i, -nij))
        return i[order], j[order], nij[order], self.total - int(order.size)


@dataclass
class _Candidates:
    """Pair-level candidates from the co-occurrence matrix (indices into tested features)."""

    dual: tuple[np.ndarray, np.ndarray, np.ndarray]
    dep: tuple[np.ndarray, np.ndarray, np.ndarray]
    pair: tuple[np.ndarray, np.ndarray, np.ndarray]
    pairs_capped: int
    cooc: np.ndarray | None = None  # dense symmetric X^T X (diagonal = n) when it fits


def _stack(parts: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if not parts:
        z = np.zeros(0, dtype=np.int64)
        return z, z.copy(), z.copy()
    a = np.concatenate(parts, axis=1).astype(np.int64)
    return a[0], a[1], a[2]


def _dual_dense(x: sp.csc_array, n: np.ndarray, cfg: StructureConfig) -> list[np.ndarray]:
    """Dual candidates (i < j, n_ij) with phi <= dual_max_phi among dual-capable features,
    from dense blocks of their counts (zeros included: the strongest duals never co-occur).
    Quadratic in the dual-capable features, few unless many are active in a large share of
    the concepts."""
    n_total = x.shape[0]
    d_idx = np.flatnonzero(_dual_feature_mask(n.astype(np.float64), n_total, cfg.dual_max_phi))
    out: list[np.ndarray] = []
    if d_idx.size < 2:
        return out
    xd = sp.csc_array(x[:, d_idx])
    xdt = sp.csr_array(xd.T)
    nd = n[d_idx]
    step = max(1, _BLOCK_NNZ // d_idx.size)
    for s in range(0, d_idx.size, step):
        dense = (xdt[s:s + step] @ xd[:, s:]).toarray()
        rr = np.arange(s, min(s + step, d_idx.size))
        phi = phi_coefficient(dense, nd[rr, None], nd[None, s:], n_total)
        r, c = np.nonzero((phi <= cfg.dual_max_phi + _EPS)
                          & (rr[:, None] < np.arange(s, d_idx.size)[None, :]))
        out.append(np.stack([d_idx[r + s], d_idx[c + s], dense[r, c].astype(np.int64)]))
    return out


def _candidates_scipy(x: sp.csc_array, n: np.ndarray, cfg: StructureConfig) -> _Candidates:
    """Blocked sparse co-occurrence (upper triangle of ``X.T @ X``, int32), filtered per block.

    Any two features can form a dependency or an AND pair, so every pair's count is needed:
    the work is that of the product, sum over concepts of (active features)^2 / 2, with row
    blocks keeping memory bounded. Each unordered pair is seen once and tested as a
    dependency in both directions. When the dense co-occurrence matrix fits
    (:func:`_new_cooc`) the filters run on dense blocks (:func:`_candidates_dense`).
    """
    n_total, f = x.shape
    cooc = _new_cooc(n_total, f)
    if cooc is not None:
        return _candidates_dense(x, n, cfg, cooc)
    xt = sp.csr_array(x.T)
    need_dep, lim_pair = (v.astype(np.int32) for v in _feature_limits(n, cfg))
    deps: list[np.ndarray] = []
    keeper = _PairKeeper(n, cfg)
    row_bound = np.asarray(xt @ np.asarray(x.sum(axis=1)).ravel(), dtype=np.int64)
    row_bound = np.minimum(row_bound, f - np.arange(f))
    for blk in _row_blocks(f, row_bound):
        g = xt[blk] @ x[:, blk.start:]
        # int32 throughout: these arrays have one entry per co-occurring pair of the block.
        sel = np.flatnonzero(g.data >= cfg.min_support)
        cnt = g.data[sel].astype(np.int32, copy=False)
        col = g.indices[sel].astype(np.int32, copy=False) + np.int32(blk.start)
        row = np.repeat(np.arange(blk.start, blk.stop, dtype=np.int32), np.diff(g.indptr))[sel]
        up = col > row
        cnt, col, row = cnt[up], col[up], row[up]
        fwd = cnt >= need_dep[row]   # child row, parent col
        bwd = cnt >= need_dep[col]   # child col, parent row
        deps.append(np.stack([row[fwd], col[fwd], cnt[fwd]]))
        deps.append(np.stack([col[bwd], row[bwd], cnt[bwd]]))
        pair = cnt <= np.minimum(lim_pair[row], lim_pair[col])
        keeper.add(row[pair], col[pair], cnt[pair])
    pi, pj, nij, capped = keeper.result()
    return _Candidates(_stack(_dual_dense(x, n, cfg)), _stack(deps), (pi, pj, nij), capped)


def _candidates_dense(x: sp.csc_array, n: np.ndarray, cfg: StructureConfig,
                      cooc: np.ndarray) -> _Candidates:
    """:func:`_candidates_scipy` with the dense co-occurrence matrix ``cooc`` filled (both
    halves) and the filters run on dense row blocks of it: at the densities where the matrix
    is kept most pairs co-occur, so boolean masks over a block cost less than index arrays
    with one entry per co-occurring pair. Only AND pairs that can still enter the capped
    candidate list are extracted (:meth:`_PairKeeper.add_block`)."""
    n_total, f = x.shape
    need_dep, lim_pair = _feature_limits(n, cfg)
    # in the counts' own type: a count is at most its features' n < n_total, so a need
    # above n + 1 is as unreachable as n + 1
    need_dep = np.minimum(need_dep, n + 1).astype(cooc.dtype)
    lim_pair = lim_pair.astype(cooc.dtype)
    deps: list[np.ndarray] = []
    keeper = _PairKeeper(n, cfg)
    step = max(1, _BLOCK_NNZ // f)
    upper_rows = _upper_rows(x, cooc.dtype)
    for s in range(0, f, step):
        blk = slice(s, min(s + step, f))
        # rows filled whole and in order (the lower part copied from the rows above, in
        # tiles that stay in cache): a column-block write of the transpose would
        # first-touch pages out of order, slowly
        for t in range(0, s, _TILE):
            cooc[blk, t:t + _TILE] = cooc[t:t + _TILE, blk].T
        dense = cooc[blk, s:]
        upper_rows(blk, dense)
        rows, cols = np.arange(blk.start, blk.stop), np.arange(s, f)
        nr = rows.size
        upper = np.triu(np.ones((nr, nr), dtype=bool), 1)  # of the block's diagonal square
        for row_child in (True, False):
            r, c = _dependency_hits(dense, need_dep, rows, cols, upper, row_child)
            if r.size:
                child, parent = (rows[r], cols[c]) if row_child else (cols[c], rows[r])
                deps.append(np.stack([child, parent, dense[r, c]]))
        pair = dense >= cfg.min_support
        pair[:, :nr] &= upper
        pair &= dense <= lim_pair[rows, None]
        pair &= dense <= lim_pair[None, cols]
        keeper.add_block(rows, cols, dense, pair)
    pi, pj, nij, capped = keeper.result()
    return _Candidates(_stack(_dual_cooc(cooc, n, n_total, cfg)), _stack(deps), (pi, pj, nij),
                       capped, cooc)


def _dependency_hits(dense: np.ndarray, need_dep: np.ndarray, rows: np.ndarray,
                     cols: np.ndarray, upper: np.ndarray, row_child: bool
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Entries (r, c) of a row block of the co-occurrence matrix above its diagonal whose
    count reaches the child's need (the row's feature when ``row_child``, else the
    column's), in row-major order. The block's diagonal square is masked whole; right of it
    only the rows (columns) whose largest count reaches the need are compared: dependencies
    are rare, so one max rules most of them out instead of a full comparison and scan."""
    nr = upper.shape[0]
    need_sq = need_dep[rows, None] if row_child else need_dep[None, cols[:nr]]
    r0, c0 = np.nonzero((dense[:, :nr] >= need_sq) & upper)
    rest = dense[:, nr:]
    if row_child:
        hit = np.flatnonzero(rest.max(axis=1, initial=0) >= need_dep[rows])
        r1, c1 = np.nonzero(rest[hit] >= need_dep[rows[hit], None])
        r1 = hit[r1]
    else:
        hit = np.flatnonzero(rest.max(axis=0, initial=0) >= need_dep[cols[nr:]])
        r1, c1 = np.nonzero(rest[:, hit] >= need_dep[None, cols[nr:][hit]])
        c1 = hit[c1]
    r, c = np.concatenate([r0, r1]), np.concatenate([c0, c1 + nr])
    order = np.lexsort((c, r))
    return r[order], c[order]


def _upper_rows(x: sp.csc_array, dtype: np.dtype) -> Callable[[slice, np.ndarray], None]:
    """A function writing rows ``blk`` of ``X.T @ X`` from column ``blk.start`` on into a
    dense array ``out`` of ``dtype`` (which must hold every count; partial sums only grow).

    Two exact ways, the faster one by their work: the sparse product (sum over concepts of
    (active features)^2 / 2 steps of index bookkeeping, then made dense), or the block's
    rows of X.T (sparse) times X's columns in dense slabs of _SLAB columns (nnz(X) x
    features / 2 vectorised adds, a slab staying in cache): the second needs X dense (at
    most _SLAB_BYTES) and wins unless the codes are very sparse
    (bench/bench_structure_speed.py).
    """
    n_total, f = x.shape
    xt = sp.csr_array(x.T)
    k = np.diff(sp.csr_array(x).indptr).astype(np.float64)
    if (n_total * f * np.dtype(dtype).itemsize > _SLAB_BYTES
            or float(x.nnz) * f > _SLAB_WORK_RATIO * float(k @ k)):
        def sparse_rows(blk: slice, out: np.ndarray) -> None:
            out[...] = (xt[blk] @ x[:, blk.start:]).toarray()
        return sparse_rows
    xr = sp.csr_array(x)
    row = np.repeat(np.arange(n_total), np.diff(xr.indptr))
    slabs = []
    for j in range(0, f, _SLAB):
        sel = (xr.indices >= j) & (xr.indices < j + _SLAB)
        slab = np.zeros((n_total, min(_SLAB, f - j)), dtype=dtype)
        slab[row[sel], xr.indices[sel] - j] = xr.data[sel]
        slabs.append(slab)

    def slab_rows(blk: slice, out: np.ndarray) -> None:
        a = sp.csr_array(xt[blk].astype(dtype))
        for j in range(blk.start // _SLAB, len(slabs)):
            lo = max(j * _SLAB, blk.start)  # the first slab may start left of the block
            out[:, lo - blk.start:(j + 1) * _SLAB - blk.start] = (a @ slabs[j])[
                :, lo - j * _SLAB:]

    return slab_rows


def _new_cooc(n_total: int, f: int) -> np.ndarray | None:
    """Zeroed dense F x F co-occurrence matrix in the smallest unsigned type holding counts up
    to ``n_total``, or None when it would exceed _DENSE_COOC_BYTES. Quadratic in features on
    purpose: every pair's count is computed anyway, and read back many times by the triads."""
    dtype = np.uint16 if n_total < 1 << 16 else np.int32
    if f * f * np.dtype(dtype).itemsize > _DENSE_COOC_BYTES:
        return None
    return np.zeros((f, f), dtype=dtype)


def _dual_cooc(cooc: np.ndarray, n: np.ndarray, n_total: int,
               cfg: StructureConfig) -> list[np.ndarray]:
    """Dual candidates (i < j, n_ij) with phi <= dual_max_phi, as :func:`_dual_dense` but
    only over pairs whose odds product lets phi reach the cut (read from ``cooc``).

    Pair (i, j) can reach phi <= max_phi only if sqrt(o_i o_j) lies in [|max_phi|, 1 /
    |max_phi|]; in odds order each feature's partners form one contiguous range. The ranges
    are widened by a margin so no pair within _EPS of the cut is missed; the exact phi test
    then decides. Quadratic only when most features have compatible odds (dense codes).
    """
    nf = n.astype(np.float64)
    cap = _dual_feature_mask(nf, n_total, cfg.dual_max_phi)
    idx = np.flatnonzero(cap)
    if idx.size < 2:
        return []
    odds = nf[idx] / (n_total - nf[idx])
    order = np.argsort(odds, kind="stable")
    srt = odds[order]
    g_lo = max(-cfg.dual_max_phi - 2 * _EPS, 0.0)
    with np.errstate(divide="ignore"):
        lo = g_lo ** 2 / srt * (1 - 4 * _EPS)
        hi = 1.0 / (g_lo ** 2 * srt) * (1 + 4 * _EPS) if g_lo > 0 else np.full(srt.size, np.inf)
    start = np.searchsorted(srt, lo, "left")
    stop = np.searchsorted(srt, hi, "right")
    cnt = np.maximum(stop - start, 0)
    a = np.repeat(np.arange(srt.size), cnt)
    b = np.arange(a.size) - np.repeat(np.cumsum(cnt) - cnt, cnt) + np.repeat(start, cnt)
    fa, fb = idx[order[a]], idx[order[b]]
    up = fa < fb
    fa, fb = fa[up], fb[up]
    nij = cooc[fa, fb].astype(np.int64)
    phi = phi_coefficient(nij, n[fa], n[fb], n_total)
    ok = phi <= cfg.dual_max_phi + _EPS
    return [np.stack([fa[ok], fb[ok], nij[ok]])]


def _candidates_torch(x: sp.csc_array, n: np.ndarray, cfg: StructureConfig,
                      device: str) -> _Candidates:
    """Same as :func:`_candidates_scipy` with dense float32 products on a torch device
    (counts below 2^24 are exact in float32)."""
    import torch

    n_total, f = x.shape
    dev = torch.device(device)
    xd = torch.as_tensor(x.toarray(), dtype=torch.float32, device=dev)
    nt = torch.as_tensor(n, dtype=torch.float32, device=dev)
    need_dep, lim_pair = (torch.as_tensor(v, dtype=torch.float32, device=dev)
                          for v in _feature_limits(n, cfg))
    dual_ok = torch.as_tensor(_dual_feature_mask(n.astype(np.float64), n_total,
                                                 cfg.dual_max_phi), device=dev)
    deps: list[np.ndarray] = []
    duals: list[np.ndarray] = []
    keeper = _PairKeeper(n, cfg)
    step = max(1, _BLOCK_NNZ // max(f, 1))
    cols = torch.arange(f, device=dev)[None, :]
    for s in range(0, f, step):
        g = xd[:, s:s + step].T @ xd
        rows = torch.arange(s, min(s + step, f), device=dev)[:, None]
        upper = rows < cols
        dep = (rows != cols) & (g >= need_dep[rows])
        pair = upper & (g >= cfg.min_support) & (g <= torch.minimum(lim_pair[rows],
                                                                    lim_pair[cols]))
        # phi in float64: N * n_ij and n_i * n_j exceed float32's exact integer range.
        n_r, n_c = nt[rows].double(), nt[cols].double()
        den = torch.sqrt(n_r * n_c * (n_total - n_r) * (n_total - n_c))
        phi = (n_total * g.double() - n_r * n_c) / torch.where(den > 0, den,
                                                                torch.ones_like(den))
        dual = upper & dual_ok[rows] & dual_ok[cols] & (den > 0) & (
            phi <= cfg.dual_max_phi + _EPS)
        found = []
        for mask in (dep, pair, dual):
            r, c = torch.nonzero(mask, as_tuple=True)
            found.append(torch.stack([r + s, c, g[r, c].round().long()]).cpu().numpy())
        deps.append(found[0])
        keeper.add(*found[1])
        duals.append(found[2])
    pi, pj, nij, capped = keeper.result()
    return _Candidates(_stack(duals), _stack(deps), (pi, pj, nij), capped)


def _triad_counts_scipy(x: sp.csc_array, pi: np.ndarray, pj: np.ndarray, need: np.ndarray,
                        nij: np.ndarray) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """For candidate pairs, yield (pair index, r, n_ijr) with n_ijr >= need[pair].

    Builds the AND indicator of a chunk of pairs (pairs x concepts, sparse) and multiplies
    by X, giving n_ijr for every r at once; chunks bound the output size.
    """
    xt = sp.csr_array(x.T)
    xr = sp.csr_array(x)
    row_k = np.diff(xr.indptr)
    mean_k = float(row_k[row_k > 0].mean()) if np.any(row_k > 0) else 1.0
    # Estimated output entries per pair: n_ij rows of about mean_k active features each.
    csum = np.cumsum(np.minimum(nij * mean_k, x.shape[1]).astype(np.int64) + 1)
    start = 0
    while start < pi.size:
        base = csum[start - 1] if start else 0
        stop = max(start + 1, int(np.searchsorted(csum, base + _BLOCK_NNZ, "right")))
        and_ind = xt[pi[start:stop]].multiply(xt[pj[start:stop]])
        c = sp.csr_array(and_ind) @ xr
        row = np.repeat(np.arange(start, stop, dtype=np.int64), np.diff(c.indptr))
        keep = c.data >= need[row]
        yield row[keep], c.indices[keep].astype(np.int64), c.data[keep].astype(np.int64)
        start = stop


def _triad_counts_bits(x: sp.csc_array, cooc: np.ndarray, n: np.ndarray, pi: np.ndarray,
                       pj: np.ndarray, need: np.ndarray, cfg: StructureConfig
                       ) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Like :func:`_triad_counts_scipy`, but yields only outputs r that can pass the
    single-input filters, using the dense co-occurrence ``cooc`` before counting anything.

    n_ijr >= need implies n_ir >= need and n_jr >= need, and a triad needs
    P(r | i) = n_ir / n_i < triad_max_p_single (same for j): so r must be "eligible" for
    both inputs. Eligibility is a packed F x F bit matrix; a pair's candidates are the AND
    of its two rows, and n_ijr is a popcount over packed concept bitsets of i, j and r.
    """
    if pi.size == 0:
        return
    f = x.shape[1]
    thr = cfg.triad_max_p_single - _EPS
    low = int(need.min())
    elig = np.zeros((f, (f + 63) // 64 * 8), dtype=np.uint8)  # rows of whole uint64 words
    step = max(1, _BLOCK_NNZ // max(f, 1))
    below = np.minimum(_ratio_below(n, thr), np.iinfo(cooc.dtype).max).astype(cooc.dtype)
    for s in range(0, f, step):
        g = cooc[s:s + step]
        ok = (g >= low) & (g < below[s:s + step, None])  # n_ir / n_i < thr, in integers
        ok[np.arange(g.shape[0]), np.arange(s, s + g.shape[0])] = False
        elig[s:s + step, :(f + 7) // 8] = np.packbits(ok, axis=1, bitorder="little")
    # concept bitsets of every feature, 64 concepts per word
    xc = sp.csc_array(x)  # features' concept lists: csc columns
    on = xc.data != 0
    dense_t = np.zeros((f, (x.shape[0] + 63) // 64 * 64), dtype=bool)  # padded to words
    dense_t[np.repeat(np.arange(f), np.diff(xc.indptr))[on], xc.indices[on]] = True
    bits = np.packbits(dense_t, axis=1).view(np.uint64)
    del dense_t
    for s in range(0, pi.size, step):
        a, b = pi[s:s + step], pj[s:s + step]
        both = (elig[a] & elig[b]).view("<u8")  # bit p of word w = output w * 64 + p
        k, r = _set_bits(both)
        # eligibility already holds n_ir, n_jr >= low; pairs needing more are checked here
        up = np.flatnonzero(need[s + k] > low)
        nd = need[s + k[up]]
        drop = up[(cooc[a[k[up]], r[up]] < nd) | (cooc[b[k[up]], r[up]] < nd)]
        if drop.size:
            keep_c = np.ones(k.size, dtype=bool)
            keep_c[drop] = False
            k, r = k[keep_c], r[keep_c]
        pair_bits = bits[a] & bits[b]
        cnt = np.zeros(k.size, dtype=np.int64)
        # sums of popcounts are exact in float32 below 2^24 concepts (matmul sums fast)
        ones = np.ones(bits.shape[1], dtype=np.float32 if x.shape[0] < 1 << 24 else np.float64)
        for c in range(0, k.size, 8192):  # cache-sized pieces
            pop = np.bitwise_count(pair_bits[k[c:c + 8192]] & bits[r[c:c + 8192]])
            cnt[c:c + 8192] = (pop.astype(ones.dtype) @ ones).astype(np.int64)
        keep = cnt >= need[s + k]
        yield (s + k[keep]).astype(np.int64), r[keep].astype(np.int64), cnt[keep]


def _ratio_below(n: np.ndarray, thr: float) -> np.ndarray:
    """Per feature the least integer k with k / n >= thr in float64 (so ``k' / n < thr``
    exactly when ``k' < k``, the float division being monotone in k), for n >= 1."""
    n = np.asarray(n, dtype=np.int64)
    base = np.floor(thr * n.astype(np.float64)).astype(np.int64) - 2
    k = base.copy()
    for d in range(5):  # the boundary lies within 2 of thr * n
        k += (base + d) / n < thr
    return np.clip(k, 0, np.iinfo(np.int32).max)


def _set_bits(words: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(row, column) of every set bit of a 2-D little-endian uint64 bit matrix, peeling the
    lowest set bit of the nonzero words per pass (as many passes as the fullest word has
    bits; candidate rows here are sparse)."""
    k, word = np.nonzero(words)
    w = words[k, word].astype(np.uint64)
    rows, cols = [], []
    one = np.uint64(1)
    while w.size:
        low = w & (~w + one)  # lowest set bit
        rows.append(k)
        cols.append(word.astype(np.int64) * 64 + np.bitwise_count(low - one).astype(np.int64))
        w = w ^ low
        more = w != 0
        k, word, w = k[more], word[more], w[more]
    if not rows:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    return np.concatenate(rows), np.concatenate(cols)


def _triad_counts_torch(x: sp.csc_array, pi: np.ndarray, pj: np.ndarray, need: np.ndarray,
                        device: str) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Torch version of :func:`_triad_counts_scipy` (dense AND chunks times X)."""
    import torch

    dev = torch.device(device)
    xd = torch.as_tensor(x.toarray(), dtype=torch.float32, device=dev)
    step = max(1, _BLOCK_NNZ // max(x.shape[1], 1))
    for s in range(0, pi.size, step):
        a = torch.as_tensor(pi[s:s + step], device=dev)
        b = torch.as_tensor(pj[s:s + step], device=dev)
        cnt = (xd[:, a] * xd[:, b]).T @ xd
        nd = torch.as_tensor(need[s:s + step], dtype=torch.float32, device=dev)
        r, c = torch.nonzero(cnt >= nd[:, None] - 0.5, as_tuple=True)
        v = cnt[r, c].round().long()
        yield (r + s).cpu().numpy(), c.cpu().numpy(), v.cpu().numpy()


def _intersections(x: sp.csc_array, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """|rows(a_k) & rows(b_k)| for each pair k, in chunks (cost: sum of column sizes)."""
    xt = sp.csr_array(x.T)
    out = np.zeros(a.size, dtype=np.int64)
    for s in range(0, a.size, 200_000):
        sl = slice(s, s + 200_000)
        out[sl] = np.asarray(xt[a[sl]].multiply(xt[b[sl]]).sum(axis=1)).ravel()
    return out


# --------------------------------------------------------------------------- families

@dataclass
class _Activity:
    """Activity strata of one checkpoint (strata.py) with what every family reads from
    them: the codes transposed and each feature's per-stratum counts at every shift."""

    strata: Strata
    xt: sp.csr_array
    per_feature: np.ndarray  # features x (MAX_SHIFT + 1) strata

    @property
    def stratified(self) -> bool:
        return self.strata.n > 1

    def pair_tables(self, i: np.ndarray, j: np.ndarray, rest: bool
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per-stratum 2x2 margins of the pairs (i, j): (concepts, with i, with j), each
        pairs x strata. Strata by each concept's activity (``rest`` False: the margins are
        per feature, nothing is recounted) or by its rest score, the activity less the
        pair's own bits (``rest`` True: the pairs' co-occurrence is counted per stratum)."""
        st = self.strata
        c0 = st.block(self.per_feature, 0)
        if not rest:
            return np.broadcast_to(st.totals[0][None, :], (i.size, st.n)), c0[i], c0[j]
        both = and_counts(self.xt, st, i, j)
        a0, a1, a2 = (st.block(both, d) for d in (0, 1, 2))
        c1 = st.block(self.per_feature, 1)
        ni = a2 + c1[i] - a1          # with i: both (shift 2) + i only (shift 1)
        nj = a2 + c1[j] - a1
        # neither (shift 0) + exactly one (shift 1) + both (shift 2)
        pop = (st.totals[0][None, :] - c0[i] - c0[j] + a0) + (c1[i] + c1[j] - 2 * a1) + a2
        return pop, ni, nj

    def triad_tables(self, i: np.ndarray, j: np.ndarray, r: np.ndarray
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per-stratum margins of "r among concepts with both inputs vs exactly one", strata
        by activity: (concepts with an input, with r among them, with both inputs), each
        triples x strata (only the total of "both and r" is tested, so it is not split)."""
        st = self.strata
        pr = st.block(and_counts(self.xt, st, i, r) + and_counts(self.xt, st, j, r), 0)
        b = st.block(and_counts(self.xt, st, i, j), 0)
        c0 = st.block(self.per_feature, 0)
        # r among concepts with an input: with (i, r) + with (j, r) - with (i, j, r)
        t = st.block(and_counts(self.xt, st, i, j, r), 0)
        return c0[i] + c0[j] - b, pr - t, b

    def min_p_upper(self, ka: np.ndarray, kb: np.ndarray) -> np.ndarray:
        """Smallest attainable upper-tail p of the activity-stratified test of features
        ``ka``, ``kb`` (Tarone): every stratum at its largest overlap."""
        st = self.strata
        c0 = st.block(self.per_feature, 0)
        a, b = c0[ka], c0[kb]
        return np.exp(_log_hypergeom_pmf(np.minimum(a, b), st.totals[0][None, :], a, b)
                      .sum(axis=1))


def _log_hypergeom_pmf(x: np.ndarray, pop: np.ndarray, ka: np.ndarray, kb: np.ndarray
                       ) -> np.ndarray:
    """log P(H = x), H ~ Hypergeom(pop, ka, kb), elementwise (x inside the support)."""
    x, pop, ka, kb = (np.asarray(v, dtype=np.float64) for v in (x, pop, ka, kb))
    return (_log_binom(ka, x) + _log_binom(pop - ka, kb - x) - _log_binom(pop, kb))


def _activity(x: sp.csc_array, cfg: StructureConfig) -> _Activity:
    """Strata of the concepts by how many tested features they have on (strata.py)."""
    xt = sp.csr_array(x.T)
    k = np.diff(sp.csr_array(x).indptr)
    st = activity_strata(k, cfg.activity_strata)
    per_feature = (xt @ st.onehot).toarray().astype(np.int64) if st.n > 1 else \
        np.zeros((x.shape[1], 0), dtype=np.int64)
    return _Activity(st, xt, per_feature)


def _duals(cand: _Candidates, n: np.ndarray, n_total: int, m: int,
           cfg: StructureConfig, act: _Activity) -> dict[str, np.ndarray]:
    i, j, nij = cand.dual
    ni, nj = n[i], n[j]
    if act.stratified:
        pop, si, sj = act.pair_tables(i, j, rest=True)
        p = stratified_cdf(nij, pop, si, sj)
    else:
        # Tarone: the lower tail can be no smaller than P(S = max(0, ni + nj - N)).
        ok = min_attainable_p(n_total, n_total - ni, nj) <= cfg.alpha
        i, j, nij, ni, nj = i[ok], j[ok], nij[ok], ni[ok], nj[ok]
        p = hypergeom_cdf(nij, n_total, ni, nj)
    q = bh_qvalues(p, m)
    sig = q <= cfg.alpha
    return {"i": i[sig], "j": j[sig], "phi": phi_coefficient(nij, ni, nj, n_total)[sig],
            "p": p[sig], "q": q[sig], "support": (ni + nj - 2 * nij)[sig]}


def _dependencies(cand: _Candidates, n: np.ndarray, n_total: int, m: int,
                  cfg: StructureConfig, act: _Activity) -> dict[str, np.ndarray]:
    c, par, ncp = cand.dep
    nc, npar = n[c], n[par]
    if act.stratified:
        ok = act.min_p_upper(par, c) <= cfg.alpha  # Tarone, on the stratified margins
        c, par, ncp, nc, npar = c[ok], par[ok], ncp[ok], nc[ok], npar[ok]
        pop, sc, sp_ = act.pair_tables(c, par, rest=False)
        p = stratified_sf(ncp, pop, sp_, sc)
    else:
        ok = min_attainable_p(n_total, npar, nc) <= cfg.alpha
        c, par, ncp, nc, npar = c[ok], par[ok], ncp[ok], nc[ok], npar[ok]
        p = hypergeom_sf(ncp, n_total, npar, nc)
    q = bh_qvalues(p, m)
    sig = q <= cfg.alpha
    return {"child": c[sig], "parent": par[sig], "confidence": (ncp / nc)[sig],
            "p": p[sig], "q": q[sig], "support": ncp[sig]}


# Grid of single-input rates the noisy-OR p-value maximises over: quadratic spacing, fine
# near 0 where AND gates put them. Cells are bounded from above, so the grid only costs power.
_OR_GRID = (np.arange(65, dtype=np.float64) / 64.0) ** 2
# Tests per chunk of the noisy-OR maximisation (each holds tests x 64 x 64 floats).
_OR_CHUNK = 256


def or_gate_p(nij: np.ndarray, nijr: np.ndarray, n_i_only: np.ndarray, r_i_only: np.ndarray,
              n_j_only: np.ndarray, r_j_only: np.ndarray) -> np.ndarray:
    """p-value against "r is at most a noisy OR of i and j": H0 P(r | both) <= 1 - (1 - a)
    (1 - b), a = P(r | i only), b = P(r | j only) (a leak only lowers the right side).

    For given (a, b) the three counts are independent binomials and the tails
    P(r_i_only <= .) P(r_j_only <= .) P(nijr >= .) are independent super-uniform p-values;
    Fisher's product combination u (1 + L + L^2 / 2), L = -ln u, makes one p-value of
    them, increasing in u, so its supremum over the composite null (the largest u over
    all (a, b)) is a valid p-value. The supremum is bounded from above on a grid of cells:
    in a cell the lower tails are largest at its low corner and the OR tail at its high one.
    """
    from scipy.special import bdtr, bdtrc

    nij, nijr, n_i_only, r_i_only, n_j_only, r_j_only = (
        np.asarray(v, dtype=np.int64)  # counts: scipy's binomial functions want integers
        for v in (nij, nijr, n_i_only, r_i_only, n_j_only, r_j_only))
    g = _OR_GRID
    lo, hi = g[:-1], g[1:]
    rate = 1.0 - (1.0 - hi[:, None]) * (1.0 - hi[None, :])  # OR rate at the high corner
    # the OR tail depends on (nij, nijr) only, and the rate grid is symmetric: each distinct
    # count pair's tail is computed once at each distinct rate (tests sorted by their pair,
    # so a chunk holds few distinct pairs; the products below are the same floats)
    rates, rate_at = np.unique(rate, return_inverse=True)
    rate_at = rate_at.reshape(rate.shape)  # flat or shaped, by numpy version
    order = np.lexsort((nijr, nij))
    out = np.ones(nij.size, dtype=np.float64)
    for s in range(0, nij.size, _OR_CHUNK):
        sl = order[s:s + _OR_CHUNK]
        fa = bdtr(r_i_only[sl, None], n_i_only[sl, None], lo[None, :])  # P(X <= x) at a
        fb = bdtr(r_j_only[sl, None], n_j_only[sl, None], lo[None, :])
        pairs, which = np.unique(np.stack([nij[sl], nijr[sl]], axis=1), axis=0,
                                 return_inverse=True)
        k = pairs[:, 1, None]
        tails = np.where(k <= 0, 1.0, bdtrc(k - 1, pairs[:, 0, None], rates[None]))
        tail = tails[:, rate_at][which.reshape(-1)]
        u = (fa[:, :, None] * fb[:, None, :] * tail).max(axis=(1, 2))
        with np.errstate(divide="ignore"):
            ln = -np.log(np.maximum(u, 1e-300))
        out[sl] = np.minimum(1.0, u * (1.0 + ln + 0.5 * ln * ln))
    return out


def _triads(x: sp.csc_array, cand: _Candidates, n: np.ndarray, m: int,
            cfg: StructureConfig, step: StepStructure, use_torch: bool, act: _Activity
            ) -> dict[str, np.ndarray]:
    pi, pj, nij = cand.pair
    step.triad_pairs_capped = cand.pairs_capped
    step.triad_pairs = int(pi.size)
    if cfg.max_triad_pairs is None and pi.size > _MANY_PAIRS:
        warnings.warn(f"{pi.size:,} AND candidate pairs at this checkpoint and no "
                      "max_triad_pairs cap: counting their triples may take very long "
                      "(see docs/structure.md)", RuntimeWarning, stacklevel=3)
    need = np.maximum(np.ceil(cfg.triad_min_p_ij * nij - _EPS * nij), cfg.min_support)
    if use_torch:
        chunks = _triad_counts_torch(x, pi, pj, need.astype(np.int64), cfg.device)
    elif cand.cooc is not None:
        chunks = _triad_counts_bits(x, cand.cooc, n, pi, pj, need.astype(np.int64), cfg)
    else:
        chunks = _triad_counts_scipy(x, pi, pj, need.astype(np.int64), nij)
    parts: list[np.ndarray] = []
    for k, r, nijr in chunks:
        keep = (r != pi[k]) & (r != pj[k])
        parts.append(np.stack([k[keep], r[keep], nijr[keep]]))
    k, r, nijr = _stack(parts)
    i, j, nij_k = pi[k], pj[k], nij[k]
    if cand.cooc is not None:
        nir, njr = cand.cooc[i, r].astype(np.int64), cand.cooc[j, r].astype(np.int64)
    else:
        nir, njr = _intersections(x, i, r), _intersections(x, j, r)
    p_ij, p_i, p_j = nijr / nij_k, nir / n[i], njr / n[j]
    inter = p_ij - np.maximum(p_i, p_j)
    eff = ((p_i < cfg.triad_max_p_single - _EPS) & (p_j < cfg.triad_max_p_single - _EPS)
           & (inter >= cfg.triad_min_interaction - _EPS))
    i, j, r, nij_k, nijr, nir, njr = (v[eff] for v in (i, j, r, nij_k, nijr, nir, njr))
    p_ij, p_i, p_j, inter = p_ij[eff], p_i[eff], p_j[eff], inter[eff]
    # (1) r more common among concepts with i and j both on than with exactly one of them,
    # within activity strata; (2) more common among both than any noisy OR of i and j
    # allows. A triad needs both: its p-value is the larger (intersection-union test).
    if act.stratified:
        pop, k_r, both = act.triad_tables(i, j, r)
        p_assoc = stratified_sf(nijr, pop, k_r, both)
    else:
        nxor = n[i] + n[j] - 2 * nij_k
        p_assoc = _sf_varying_pop(nijr, nij_k + nxor, nir + njr - nijr, nij_k)
    # p = max(p_assoc, p_or) > alpha already when p_assoc > alpha (never a discovery, and
    # BH's q-values <= alpha do not depend on it): the OR test only runs on the others
    p = p_assoc.copy()
    run = np.flatnonzero(p_assoc <= cfg.alpha)
    p[run] = np.maximum(p_assoc[run], or_gate_p(
        nij_k[run], nijr[run], (n[i] - nij_k)[run], (nir - nijr)[run], (n[j] - nij_k)[run],
        (njr - nijr)[run]))
    q = bh_qvalues(p, m)
    sig = q <= cfg.alpha
    return {"i": i[sig], "j": j[sig], "r": r[sig], "p_r_ij": p_ij[sig], "p_r_i": p_i[sig],
            "p_r_j": p_j[sig], "interaction": inter[sig], "p": p[sig], "q": q[sig],
            "support": nijr[sig]}


def _torch_device(cfg: StructureConfig) -> bool:
    """True when ``cfg.device`` asks for CUDA and torch can use it (else the scipy path)."""
    if cfg.device == "cpu":
        return False
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a dependency
        return False
    if torch.cuda.is_available():
        return True
    warnings.warn(f"device {cfg.device!r} requested but CUDA is not available; "
                  "using the CPU (scipy) path", RuntimeWarning, stacklevel=3)
    return False


def _log_binom(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    return gammaln(a + 1) - gammaln(b + 1) - gammaln(a - b + 1)


def detect_step(codes: sp.csr_array, config: StructureConfig) -> StepStructure:
    """Structure at one checkpoint; codes = rows of the concepts present there (bool, C x F).

    Only features active in at least ``min_support`` concepts and not in all of them are
    tested; returned indices refer to the columns of ``codes``.
    """
    codes = sp.csr_array(codes)
    n_total = int(codes.shape[0])
    n_all = np.asarray(codes.sum(axis=0), dtype=np.int64).ravel()
    tested = np.flatnonzero((n_all >= config.min_support) & (n_all < n_total))
    f = int(tested.size)
    res = StepStructure(n_tested_features=f)
    res.n_tests = {"dual": f * (f - 1) // 2, "dependency": f * (f - 1),
                   "triad": f * (f - 1) // 2 * max(f - 2, 0)}
    res.power = family_power(n_all[tested], n_total, res.n_tests, config)
    if f < 2:
        return res
    x = sp.csc_array(codes[:, tested].astype(np.int32))
    n = n_all[tested]
    use_torch = _torch_device(config)
    act = _activity(x, config)
    if use_torch:
        cand = _candidates_torch(x, n, config, config.device)
    else:
        cand = _candidates_scipy(x, n, config)
    res.duals = _remap(_duals(cand, n, n_total, res.n_tests["dual"], config, act), tested,
                       ("i", "j"))
    res.dependencies = _remap(_dependencies(cand, n, n_total, res.n_tests["dependency"],
                                            config, act), tested, ("child", "parent"))
    if f >= 3:
        res.triads = _remap(_triads(x, cand, n, res.n_tests["triad"], config, res, use_torch,
                                    act), tested, ("i", "j", "r"))
    for fam, table in (("dual", res.duals), ("dependency", res.dependencies),
                       ("triad", res.triads)):
        res.power[fam] = dataclasses.replace(res.power[fam],
                                             discoveries=int(table["p"].size))
    return res


def family_power(n: np.ndarray, n_total: int, n_tests: dict[str, int],
                 cfg: StructureConfig) -> dict[str, StepPower]:
    """Smallest attainable p-value and BH discovery bounds of each family at one checkpoint,
    from the tested features' margins ``n`` alone (tests grouped by distinct margins, so the
    cost is the square of the distinct popularities, at most the concepts), counting a test
    whose effect-size filter cannot pass with any count as p = 1 (as the tests do)."""
    vals, cnt = np.unique(np.asarray(n, dtype=np.int64), return_counts=True)
    ia, ib, mult = pair_counts(cnt)
    ni, nj = vals[ia], vals[ib]
    out: dict[str, StepPower] = {}
    # duals: lower tail at the smallest possible co-occurrence; phi must be able to pass
    odds_i, odds_j = ni / np.maximum(n_total - ni, 1), nj / np.maximum(n_total - nj, 1)
    g = np.sqrt(odds_i * odds_j)
    capable = -np.minimum(g, 1.0 / np.maximum(g, 1e-300)) <= cfg.dual_max_phi + _EPS
    lv = np.where(capable, min_attainable_p(n_total, n_total - ni, nj), 1.0)
    out["dual"] = StepPower(n_tests["dual"], *bh_power(lv, mult, n_tests["dual"], cfg.alpha))
    # dependencies, ordered (child, parent): upper tail at the largest co-occurrence, which
    # must reach the support and confidence cuts
    need_dep, lim_pair = _feature_limits(vals, cfg)
    cc, pp = np.meshgrid(np.arange(vals.size), np.arange(vals.size), indexing="ij")
    cc, pp = cc.ravel(), pp.ravel()
    dm = np.where(cc == pp, cnt[cc] * (cnt[cc] - 1), cnt[cc] * cnt[pp])
    top = np.minimum(vals[cc], vals[pp])
    lv = np.where(top >= need_dep[cc], min_attainable_p(n_total, vals[pp], vals[cc]), 1.0)
    out["dependency"] = StepPower(n_tests["dependency"],
                                  *bh_power(lv, dm, n_tests["dependency"], cfg.alpha))
    # triads: per input pair at best 1 / C(n_i + n_j - n_ij, n_ij) over the n_ij the AND
    # filters allow, for each of the F' - 2 outputs
    lo = np.maximum(cfg.min_support, ni + nj - n_total)
    hi = np.minimum(lim_pair[ia], lim_pair[ib])
    with np.errstate(over="ignore"):
        lv = np.exp(-log_min_binom_bound(ni, nj, lo, hi))  # inf (no feasible n_ij): p' = 1
    m3 = n_tests["triad"]
    out["triad"] = StepPower(m3, *bh_power(lv, mult * max(int(n.size) - 2, 0), m3,
                                           cfg.alpha))
    return out


def _remap(table: dict[str, np.ndarray], tested: np.ndarray,
           idx_fields: tuple[str, ...]) -> dict[str, np.ndarray]:
    """Map tested-feature indices back to code columns, cast ints, sort rows by index."""
    out = {k: (v.astype(np.int64) if k in _INT_FIELDS else v.astype(np.float64))
           for k, v in table.items()}
    for k in idx_fields:
        out[k] = tested[out[k]]
    order = np.lexsort(tuple(out[k] for k in reversed(idx_fields)))
    return {k: v[order] for k, v in out.items()}


# --------------------------------------------------------------------------- over time

_KIND_STATS = {
    "dual": (("phi", "phi"), ("p_value", "p"), ("q_value", "q"), ("support", "support")),
    "dependency": (("confidence", "confidence"), ("p_value", "p"), ("q_value", "q"),
                   ("support", "support")),
    "triad": (("p_r_ij", "p_r_ij"), ("p_r_i", "p_r_i"), ("p_r_j", "p_r_j"),
              ("interaction", "interaction"), ("p_value", "p"), ("q_value", "q"),
              ("support", "support")),
    "hierarchy": (("confidence", "weight"), ("parent_size", "parent_size"),
                  ("child_size", "child_size")),
}
_KIND_INDEX = {"dual": ("i", "j", None), "dependency": ("child", "parent", None),
               "triad": ("i", "j", "r"), "hierarchy": ("parent", "child", None)}


def _intervals(kind: str, occ: list[tuple[int, dict[str, np.ndarray]]], steps: np.ndarray,
               n_features: int) -> Relations:
    """One Relations row per maximal run of checkpoints; stats from the run's last one."""
    stat_map = _KIND_STATS[kind]
    if not occ:
        return Relations.empty(tuple(s for s, _ in stat_map))
    ia, ib, ic = _KIND_INDEX[kind]
    t = np.concatenate([np.full(tab[ia].size, ti, dtype=np.int64) for ti, tab in occ])
    a = np.concatenate([tab[ia] for _, tab in occ]).astype(np.int64)
    b = np.concatenate([tab[ib] for _, tab in occ]).astype(np.int64)
    c = (np.concatenate([tab[ic] for _, tab in occ]).astype(np.int64) if ic
         else np.full(a.size, -1, dtype=np.int64))
    base = n_features + 1  # (a, b, c + 1) < base^3 < 2^63 for up to 2 million features
    key = (a * base + b) * base + (c + 1)
    stats = {out: np.concatenate([tab[src] for _, tab in occ]).astype(np.float64)
             for out, src in stat_map}
    order = np.lexsort((t, key))
    key_s, t_s = key[order], t[order]
    last = np.ones(key_s.size, dtype=bool)
    last[:-1] = (key_s[1:] != key_s[:-1]) | (t_s[1:] != t_s[:-1] + 1)
    k, valid_from, valid_to = intervals_from_occurrences(t, key, steps)
    ends = order[last]
    if ends.size != k.size or np.any(key[ends] != k):
        raise AssertionError("interval runs out of step with intervals_from_occurrences")
    cc = k % base - 1
    ab = k // base
    return Relations(object_full(k.size, kind), ab // base, ab % base, cc,
                     valid_from, valid_to, {name: v[ends] for name, v in stats.items()})


def detect_plan(stack: CodeStack, config: StructureConfig) -> tuple[range, np.ndarray]:
    """(checkpoint indices detected, which of them reuse the previous one's results)."""
    first_t = stack.n_steps - 1 if config.at == "last" else 0
    repeat = repeated_checkpoints(stack)
    repeat[first_t] = False  # the first checkpoint detected has nothing to reuse
    return range(first_t, stack.n_steps), repeat[first_t:]


def detect_checkpoint(codes: sp.csr_array, present: np.ndarray, config: StructureConfig
                      ) -> tuple[StepStructure, dict[str, np.ndarray]]:
    """Structure and hierarchy edges of one checkpoint (a pure function of its codes, so it
    runs in a thread or on a cluster worker alike)."""
    res = detect_step(sp.csr_array(codes[np.flatnonzero(present)]), config)
    dep = res.dependencies
    return res, hierarchy_edges(dep["child"], dep["parent"], dep["confidence"])


def structure_over_time(stack: CodeStack, config: StructureConfig, progress: bool = False,
                        workers: int = 1, power: dict[str, FamilyPower] | None = None,
                        found: Iterable[tuple[StepStructure, dict[str, np.ndarray]] | None]
                        | None = None
                        ) -> tuple[Relations, dict[str, np.ndarray], dict[str, int]]:
    """Relations (kinds dual, dependency, triad, hierarchy) as validity intervals over the run,
    per-feature stats (first_stable_step, layer, ...), and counts (at last checkpoint / total).

    Checkpoints are detected on up to ``workers`` threads (each is independent of the
    others); a checkpoint whose present codes equal the previous one's reuses its results.
    A dict passed as ``power`` receives each family's :class:`FamilyPower` (power.py).
    ``found``: the per-checkpoint results of :func:`detect_checkpoint` computed elsewhere (a
    cluster), in the order of :func:`detect_plan` (None where a checkpoint repeats).
    """
    step_power: list[dict[str, StepPower]] = []
    occ: dict[str, list[tuple[int, dict[str, np.ndarray]]]] = {
        k: [] for k in ("dual", "dependency", "triad", "hierarchy")}
    capped = 0
    last: StepStructure | None = None
    last_h: dict[str, np.ndarray] | None = None
    ts, repeat = detect_plan(stack, config)

    def detect(i: int) -> tuple[StepStructure, dict[str, np.ndarray]] | None:
        if repeat[i]:
            return None
        return detect_checkpoint(stack.codes[ts[i]], stack.present[ts[i]], config)

    # each checkpoint in flight may hold a dense features x features co-occurrence matrix
    f = stack.n_features
    results = (found if found is not None
               else ordered_map(detect, range(len(ts)), workers_for(workers, 2 * f * f)))
    for t, found in zip(tqdm(ts, desc="structure", unit="ckpt", disable=not progress),
                        results, strict=True):
        if found is not None:
            res, hier = found
            dep = res.dependencies
        else:
            assert last is not None and last_h is not None
            res, hier, dep = last, last_h, last.dependencies
        occ["dual"].append((t, res.duals))
        occ["dependency"].append((t, dep))
        occ["triad"].append((t, res.triads))
        occ["hierarchy"].append((t, hier))
        capped += res.triad_pairs_capped
        step_power.append(res.power)
        last, last_h = res, hier
    f = stack.n_features
    rel = Relations.concat([_intervals(k, v, stack.steps, f) for k, v in occ.items()])
    first, layer = first_stable_steps(stack, config.stability_window)
    feature_stats: dict[str, np.ndarray] = {"first_stable_step": first, "layer": layer}
    counts: dict[str, int] = {}
    if last is not None and last_h is not None:
        dep = last.dependencies
        feature_stats["n_dependents"] = np.bincount(dep["parent"], minlength=f).astype(np.int64)
        feature_stats["n_parents"] = np.bincount(dep["child"], minlength=f).astype(np.int64)
        tri = last.triads
        feature_stats["n_triads_as_output"] = np.bincount(tri["r"], minlength=f).astype(np.int64)
        feature_stats["n_duals"] = (np.bincount(last.duals["i"], minlength=f)
                                    + np.bincount(last.duals["j"], minlength=f)).astype(np.int64)
        counts.update({"dual_last": int(last.duals["i"].size),
                       "dependency_last": int(dep["child"].size),
                       "triad_last": int(tri["i"].size),
                       "hierarchy_last": int(last_h["parent"].size)})
    for kind in occ:
        sub = rel.of_kind(kind)
        counts[f"{kind}_total"] = int(np.unique(np.stack([sub.a, sub.b, sub.c]), axis=1).shape[1])
        counts[f"{kind}_intervals"] = len(sub)
    counts["stable_features"] = int(np.count_nonzero(first >= 0))
    counts["layers"] = int(layer.max()) if layer.size else 0
    counts["triad_pairs_capped"] = int(capped)
    if power is not None:
        steps = [int(stack.steps[t]) for t in ts]
        for fam in ("dual", "dependency", "triad"):
            power[fam] = FamilyPower.from_steps(fam, config.alpha, steps,
                                                [sp_[fam] for sp_ in step_power])
    return rel, feature_stats, counts
