"""Connections between concepts: per checkpoint, pairs sharing more features than chance
(one-sided exact test under a null law of the overlap, by default the bipartite
configuration model; Benjamini-Hochberg over all present pairs), streamed into validity
intervals and form/break events."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from ontochron.errors import InputError
from ontochron.ontology.fdsm import NULL_SAMPLES, SWEEPS, fdsm_exceedances
from ontochron.ontology.lifecycle import RunTracker, index_to_steps, object_full
from ontochron.ontology.overlap_null import (
    BicmNull,
    HypergeomNull,
    SizeNull,
    affordable_size,
    make_null,
)
from ontochron.ontology.power import StepPower, bh_power, pair_counts
from ontochron.ontology.result import Events, Relations
from ontochron.ontology.stats import bh_qvalues, bh_qvalues_tied, min_attainable_p

OverlapNull = HypergeomNull | BicmNull | SizeNull

# Connection nulls: "auto" picks by cost: "fdsm" where its sampling is affordable, else
# "cbicm" where its dynamic programme is, else "bicm" (docs/definitions.md, "Choosing the
# connection null").
CONNECTION_NULLS = ("auto", "bicm", "cbicm", "fdsm", "hypergeometric")
# auto's budgets, in elementary steps per checkpoint (numpy does about 2e8 a second on one
# core): the FDSM's samples x live concepts x live features x (2 sweeps' passes + the pair
# product), and the size-conditioned BiCM's live features x (largest size + 1)^3.
FDSM_BUDGET = 4e8
CBICM_BUDGET = 1e7
# auto: the size-conditioned BiCM where the median code is at least this fraction of the
# live features (below, the BiCM's extra variance from code sizes is a fraction about this
# small of the overlap's, and both give nearly the same p-values)
CBICM_MIN_DENSITY = 0.05
# explicit cbicm: largest code size of its programme (larger codes: BiCM p-values), and
# its budget (a few seconds per checkpoint)
CBICM_MAX_SIZE = 256
CBICM_EXPLICIT_BUDGET = 1e9
# explicit fdsm: largest checkpoint (its n x n exceedance counts are kept dense)
_FDSM_LIMIT = 4096

CONNECTION_STATS = ("shared", "jaccard", "p_value", "q_value")
_BLOCK = 1024  # concept rows per block of the pair-overlap product
_TRI_BLOCK = 256  # concept rows per block of overlap_matrix's upper triangle
# Largest dense concept x concept overlap matrix kept per checkpoint (~23,000 concepts).
_DENSE_PAIRS_BYTES = 1 << 30
# Distinct (size, size, overlap) keys tabulated with a flat mark array instead of a sort.
_MAX_KEY_SPACE = 1 << 22


def iter_pair_blocks(codes: sp.csr_array, rows: np.ndarray, device: str = "cpu"
                     ) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Shared-feature counts of the pairs of ``rows`` (increasing concept indices), by blocks.

    Yields (a, b, s) with a < b concept indices and s > 0. Every pair is needed for the test,
    so this is quadratic in concepts; blocks of rows keep only a block x n slice of the
    product (upper triangle) in memory at once.
    """
    rows = np.asarray(rows, dtype=np.int64)
    x = sp.csr_array(codes[rows], dtype=np.int32)
    n = rows.size
    if device != "cpu":
        yield from _torch_blocks(x, rows, device)
        return
    xt = sp.csc_array(x.T)
    for i0 in range(0, n, _BLOCK):
        blk = sp.csr_array(x[i0:i0 + _BLOCK] @ xt[:, i0:])
        r = np.repeat(np.arange(blk.shape[0], dtype=np.int64), np.diff(blk.indptr))
        c = blk.indices.astype(np.int64)
        keep = (c > r) & (blk.data > 0)
        yield rows[r[keep] + i0], rows[c[keep] + i0], blk.data[keep].astype(np.int32)


def _torch_blocks(x: sp.csr_array, rows: np.ndarray, device: str
                  ) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """:func:`iter_pair_blocks` as dense float32 matrix products on a torch device."""
    import torch

    dense = torch.zeros(x.shape, dtype=torch.float32, device=device)
    coo = sp.coo_array(x)
    dense[torch.as_tensor(coo.row.astype(np.int64), device=device),
          torch.as_tensor(coo.col.astype(np.int64), device=device)] = 1.0
    n = x.shape[0]
    for i0 in range(0, n, _BLOCK):
        blk = dense[i0:i0 + _BLOCK] @ dense[i0:].T
        r_idx = torch.arange(blk.shape[0], device=device)[:, None]
        c_idx = torch.arange(blk.shape[1], device=device)[None, :]
        r, c = torch.nonzero((c_idx > r_idx) & (blk > 0.5), as_tuple=True)
        s = blk[r, c].round().to(torch.int32)
        yield (rows[r.cpu().numpy() + i0], rows[c.cpu().numpy() + i0], s.cpu().numpy())


def pair_overlaps(codes: sp.csr_array, rows: np.ndarray, device: str = "cpu"
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All (a, b, s) of :func:`iter_pair_blocks` at once, sorted by (a, b)."""
    parts = list(iter_pair_blocks(codes, rows, device))
    if not parts:
        z = np.zeros(0, dtype=np.int64)
        return z, z.copy(), np.zeros(0, dtype=np.int32)
    a, b, s = (np.concatenate([p[i] for p in parts]) for i in range(3))
    order = np.lexsort((b, a))
    return a[order], b[order], s[order]


def overlap_matrix(codes: sp.csr_array, rows: np.ndarray, symmetric: bool = True
                   ) -> np.ndarray:
    """Dense symmetric shared-feature counts among the concepts ``rows`` (uint16 when the
    feature count allows, else int32), from row blocks of the upper triangle; with
    ``symmetric=False`` the lower triangle is not mirrored (its cells hold 0, or the true
    count inside a diagonal block): the connection tests read the upper triangle only.

    Features on in more than a tenth of the rows go through a dense float32 product (BLAS;
    exact, counts stay far below 2^24) and the rest through the sparse product, whose cost
    grows with the square of a feature's popularity. Quadratic in concepts by nature
    (every pair is tested); callers check the size first.
    """
    x = sp.csr_array(codes[np.asarray(rows, dtype=np.int64)], dtype=np.int32)
    n, f = x.shape
    popularity = np.bincount(x.indices, minlength=f)
    dense_cols = np.flatnonzero(popularity * 10 > n)
    xd = None
    if dense_cols.size:
        xd = x[:, dense_cols].toarray().astype(np.float32)
        keep = np.ones(f, dtype=bool)
        keep[dense_cols] = False
        x = sp.csr_array(x[:, np.flatnonzero(keep)])
    xt = sp.csc_array(x.T)
    dtype = np.uint16 if f < 1 << 16 else np.int32
    out = np.empty((n, n), dtype=dtype) if symmetric else np.zeros((n, n), dtype=dtype)
    for i0 in range(0, n, _TRI_BLOCK):  # upper triangle only: about half the work
        blk = (x[i0:i0 + _TRI_BLOCK] @ xt[:, i0:]).toarray()
        if xd is not None:
            blk += (xd[i0:i0 + _TRI_BLOCK] @ xd[i0:].T).astype(blk.dtype)
        out[i0:i0 + _TRI_BLOCK, i0:] = blk
        if symmetric:
            out[i0:, i0:i0 + _TRI_BLOCK] = blk.T
    return out


def dense_connection_tests(shared: np.ndarray, rows: np.ndarray, k: np.ndarray,
                           n_features: int, alpha: float, min_shared: int,
                           null: OverlapNull | None = None) -> dict[str, np.ndarray]:
    """:func:`connection_tests` on a dense overlap matrix of the present ``rows``; same
    pairs, p- and q-values, sorted by (a, b). ``null`` is built for ``k[rows]`` (default:
    the hypergeometric null). Only the upper triangle of ``shared`` is read.

    Candidate cells are found by integer comparison with the critical overlap of their
    size pair; each cell gets a level key (size pair, overlap), p-values are computed once
    per distinct key and BH runs on those levels with their multiplicities
    (:func:`bh_qvalues_tied`), not on every pair.
    """
    n = rows.size
    m = n * (n - 1) // 2
    select = min_shared > 1
    if n < 2:
        z = np.zeros(0, dtype=np.int64)
        return {"a": z, "b": z.copy(), **{name: np.zeros(0) for name in CONNECTION_STATS}}
    kr = k[rows]
    if null is None:
        null = HypergeomNull(kr, n_features, alpha)
    sizes, size_idx = null.values, null.index
    u = max(sizes.size, 1)
    lo, hi = np.minimum.outer(np.arange(u), np.arange(u)), np.maximum.outer(np.arange(u),
                                                                           np.arange(u))
    base_s = int(kr.max()) + 1 if kr.size else 1  # overlaps are at most the larger size
    wide = u * u * base_s >= 1 << 31
    pair_code = ((lo * u + hi) * base_s).astype(np.int64 if wide else np.int32)
    cell_parts, key_parts, starts = [], [], []
    sel_count = 0
    for i0 in range(0, n, _BLOCK):
        i1 = min(i0 + _BLOCK, n)
        blk = shared[i0:i1, i0:]
        need = null.min_overlap(size_idx[i0:i1], size_idx[i0:])
        if select:  # the family: pairs sharing at least min_shared (upper triangle)
            reach = blk >= min_shared
            sel_count += int(np.count_nonzero(reach)
                             - np.count_nonzero(np.tril(reach[:, :i1 - i0])))
            need = np.maximum(need, min_shared)
        if need.dtype != blk.dtype and need.max(initial=0) <= np.iinfo(blk.dtype).max:
            need = need.astype(blk.dtype)  # compare without widening the overlaps
        # need >= 1 everywhere, so pairs sharing nothing never pass; the matrix and the
        # cut are symmetric, so candidates are found in the whole block and the upper
        # triangle (b after a) is kept from the few that pass
        cell = np.flatnonzero(blk >= need)
        r, c = np.divmod(cell, n - i0)
        upper = c > r
        cell, r, c = cell[upper], r[upper] + i0, c[upper] + i0
        cell_parts.append(cell)
        # level key: (size pair, overlap)
        key_parts.append(pair_code[size_idx[r], size_idx[c]] + blk.ravel()[cell])
        starts.append(i0)
    key = np.concatenate(key_parts) if len(key_parts) > 1 else key_parts[0]
    space = u * u * base_s
    if space <= _MAX_KEY_SPACE:
        mark = np.bincount(key, minlength=space)
        uniq = np.flatnonzero(mark)
        counts = mark[uniq]
        level = np.zeros(space, dtype=np.int32)
        level[uniq] = np.arange(uniq.size, dtype=np.int32)
        inverse = level[key]
    else:
        uniq, inverse, counts = np.unique(key, return_inverse=True, return_counts=True)
    us = uniq % base_s
    pc = uniq // base_s
    ka, kb = sizes[pc // u], sizes[pc % u]
    p_lvl = null.sf(us, pc // u, pc % u)
    if select:
        p_lvl = _selected_p(p_lvl, null, pc // u, pc % u, min_shared)
        m = sel_count
    q_lvl = bh_qvalues_tied(p_lvl, counts, m) if m else p_lvl
    ok_lvl = (q_lvl <= alpha) & (us >= min_shared)
    # every statistic is a function of the level: compute per level, gather per pair
    jac_lvl = us / (ka + kb - us)
    sel = np.flatnonzero(ok_lvl[inverse])
    lvl = inverse[sel]
    ra, rb = _cells_to_rows(sel, cell_parts, starts, n)
    return {"a": rows[ra], "b": rows[rb], "shared": us.astype(np.float64)[lvl],
            "jaccard": jac_lvl[lvl], "p_value": p_lvl[lvl], "q_value": q_lvl[lvl]}


def _selected_p(p: np.ndarray, null: OverlapNull, ia: np.ndarray, ib: np.ndarray,
                min_shared: int) -> np.ndarray:
    """p-values of pairs selected for sharing at least ``min_shared`` features:
    P(S >= s | S >= min_shared) = P(S >= s) / P(S >= min_shared), valid given the
    selection, so BH over the selected pairs alone keeps the FDR."""
    base = null.sf(np.full(np.shape(p), min_shared, dtype=np.int64), ia, ib)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(base > 0, np.minimum(p / base, 1.0), 1.0)


def _cells_to_rows(sel: np.ndarray, cell_parts: list[np.ndarray], starts: list[int],
                   n: int) -> tuple[np.ndarray, np.ndarray]:
    """Row and column (indices into the present rows) of the selected candidate cells,
    given the flat cell indices of each row block (block i0 covers columns i0..n-1)."""
    offsets = np.cumsum([0] + [c.size for c in cell_parts])
    ra_parts, rb_parts = [], []
    for b, (cell, i0) in enumerate(zip(cell_parts, starts, strict=True)):
        lo, hi = np.searchsorted(sel, offsets[b : b + 2])
        flat = cell[sel[lo:hi] - offsets[b]]
        width = n - i0
        ra_parts.append(flat // width + i0)
        rb_parts.append(flat % width + i0)
    if len(ra_parts) == 1:
        return ra_parts[0], rb_parts[0]
    return np.concatenate(ra_parts), np.concatenate(rb_parts)


def connection_tests(blocks: Iterable[tuple[np.ndarray, np.ndarray, np.ndarray]],
                     k: np.ndarray, n_features: int, n_present: int, alpha: float,
                     min_shared: int, null: OverlapNull | None = None
                     ) -> dict[str, np.ndarray]:
    """Test pairs (a, b) sharing s > 0 features; return the connected ones with stats.

    p = P(S >= s) under ``null`` (built for the present concepts' sizes; default
    S ~ Hypergeom(n_features, k[a], k[b])); BH over all n_present*(n_present-1)/2 present
    pairs (pairs not evaluated count with p = 1). With ``min_shared`` > 1 the family is
    the pairs sharing at least that many features, selected first, with the p-values
    given the selection (:func:`_selected_p`); BH runs over them only. Pairs whose s is below the null's
    smallest overlap worth evaluating for their (k_a, k_b) are not evaluated: their
    p > alpha, so they cannot be rejected nor change any q <= alpha. ``k`` holds the code
    size of every concept index.
    """
    m = n_present * (n_present - 1) // 2
    select = min_shared > 1
    if select:
        m = 0
    if null is None:
        null = HypergeomNull(k, n_features, alpha)
    ca, cb, cs = [], [], []
    for a, b, s in blocks:
        ia = np.searchsorted(null.values, k[a])
        ib = np.searchsorted(null.values, k[b])
        keep = s >= null.min_overlap_pairs(ia, ib)
        if select:
            m += int(np.count_nonzero(s >= min_shared))
            keep &= s >= min_shared
        ca.append(a[keep])
        cb.append(b[keep])
        cs.append(s[keep].astype(np.int64))
    a = np.concatenate(ca) if ca else np.zeros(0, dtype=np.int64)
    b = np.concatenate(cb) if cb else np.zeros(0, dtype=np.int64)
    s64 = np.concatenate(cs) if cs else np.zeros(0, dtype=np.int64)
    ka, kb = k[a], k[b]
    ia, ib = np.searchsorted(null.values, ka), np.searchsorted(null.values, kb)
    p = null.sf(s64, ia, ib)
    if select:
        p = _selected_p(p, null, ia, ib, min_shared)
    q = bh_qvalues(p, m) if m else p
    ok = (q <= alpha) & (s64 >= min_shared)
    shared = s64[ok]
    return {"a": a[ok].astype(np.int64), "b": b[ok].astype(np.int64),
            "shared": shared.astype(np.float64),
            "jaccard": shared / (ka[ok] + kb[ok] - shared),
            "p_value": p[ok], "q_value": q[ok]}


@dataclass
class StepConnections:
    """One checkpoint's connection tests (:meth:`ConnectionTracker.compute`): the connected
    pairs as sorted keys ``a * n_concepts + b`` with their statistics, and what is needed
    to count the features of pairs that broke (the dense overlaps, else the codes)."""

    keys: np.ndarray
    stats: dict[str, np.ndarray]
    rows: np.ndarray
    codes: sp.csr_array
    shared: np.ndarray | None  # overlaps among ``rows`` (dense path only)
    power: StepPower | None = None  # the family's power at this checkpoint (power.py)

    def shared_of(self, a: np.ndarray, b: np.ndarray, n_concepts: int) -> np.ndarray:
        """Shared features of concept pairs (a, b) at this checkpoint (0 when absent)."""
        if self.shared is None:
            return np.asarray(self.codes[a].multiply(self.codes[b]).sum(axis=1)).ravel()
        where = np.full(n_concepts, -1, dtype=np.int64)
        where[self.rows] = np.arange(self.rows.size)
        pa, pb = where[a], where[b]
        both = (pa >= 0) & (pb >= 0)  # absent concepts share nothing
        out = np.zeros(a.size, dtype=np.int64)
        out[both] = self.shared[pa[both], pb[both]]
        return out


class ConnectionTracker:
    """Feed one checkpoint at a time; :meth:`finish` gives the connection intervals and the
    form/break events. Memory: one checkpoint's pair overlaps.

    :meth:`update` = :meth:`compute` (a pure function of one checkpoint's codes, safe to
    run for several checkpoints in parallel threads) then :meth:`advance` (in step order).
    """

    def __init__(self, n_concepts: int, n_features: int, alpha: float = 0.05,
                 min_shared: int = 1, device: str = "cpu", null: str = "auto",
                 null_samples: int = NULL_SAMPLES, seed: int = 0) -> None:
        self.c, self.f = n_concepts, n_features
        self.alpha, self.min_shared, self.device = alpha, min_shared, device
        self.null_kind, self.null_samples, self.seed = null, null_samples, seed
        self.runs = RunTracker(CONNECTION_STATS, key_space=n_concepts * n_concepts)
        self._ev: list[tuple[str, int, np.ndarray, np.ndarray, np.ndarray]] = []
        self.power: list[tuple[int, StepPower]] = []  # (checkpoint index, power)

    def choose_null(self, sizes: np.ndarray, popularity: np.ndarray) -> str:
        """The null used at a checkpoint of present concepts with code ``sizes``: ``null``
        itself, or for "auto": the FDSM when its cost (:func:`fdsm_cost`) is within budget,
        else the size-conditioned BiCM on dense codes (median size at least
        :data:`CBICM_MIN_DENSITY` of the live features) whose median size its programme's
        budget covers, else the BiCM."""
        if self.null_kind != "auto":
            return self.null_kind
        if fdsm_cost(sizes, popularity, self.null_samples) <= FDSM_BUDGET:
            return "fdsm"
        live = int(np.count_nonzero(np.asarray(popularity) > 0))
        med = float(np.median(sizes)) if np.size(sizes) else 0.0
        cap = affordable_size(popularity, CBICM_BUDGET)
        dense = live > 0 and med >= CBICM_MIN_DENSITY * live
        return "cbicm" if dense and med <= cap else "bicm"

    def cbicm_cap(self, popularity: np.ndarray) -> int:
        """Largest code size the size-conditioned BiCM's programme covers at a checkpoint
        (auto: what its budget affords; explicit: what :data:`CBICM_EXPLICIT_BUDGET`
        affords, at most :data:`CBICM_MAX_SIZE`)."""
        if self.null_kind == "auto":
            return affordable_size(popularity, CBICM_BUDGET)
        return min(CBICM_MAX_SIZE, affordable_size(popularity, CBICM_EXPLICIT_BUDGET))

    def dense(self, n_present: int) -> bool:
        """Does a checkpoint with ``n_present`` concepts use the dense overlap matrix?"""
        item = 2 if self.f < 1 << 16 else 4  # overlap_matrix dtype size
        return self.device == "cpu" and n_present ** 2 * item <= _DENSE_PAIRS_BYTES

    def compute(self, codes: sp.csr_array, present: np.ndarray, t: int = 0
                ) -> StepConnections:
        """Test every present pair of one checkpoint (no tracker state is read or written;
        the FDSM's random stream is seeded by (seed, t), so threads do not change it)."""
        codes = sp.csr_array(codes)
        rows = np.flatnonzero(np.asarray(present, dtype=bool))
        k = np.diff(codes.indptr).astype(np.int64)
        sub = codes[rows] if rows.size != codes.shape[0] else codes
        popularity = np.bincount(sub.indices, minlength=self.f)
        kind = self.choose_null(k[rows], popularity)
        m = rows.size * (rows.size - 1) // 2
        if kind == "fdsm":
            return self._compute_fdsm(codes, sub, rows, k, m, t)
        cap = self.cbicm_cap(popularity) if kind == "cbicm" else None
        null = make_null(kind, k[rows], popularity, self.f, self.alpha, cap)
        power = null_power(null, m, self.alpha, kind)
        shared_mat = None
        if self.dense(rows.size):
            # the tests and the counts of broken pairs (a < b) read the upper triangle only
            shared_mat = overlap_matrix(codes, rows, symmetric=False)
            res = dense_connection_tests(shared_mat, rows, k, self.f, self.alpha,
                                         self.min_shared, null)
            keys = res["a"] * self.c + res["b"]  # already sorted
        else:
            res = connection_tests(iter_pair_blocks(codes, rows, self.device), k, self.f,
                                   rows.size, self.alpha, self.min_shared, null)
            keys = res["a"] * self.c + res["b"]
            order = np.argsort(keys, kind="stable")
            keys = keys[order]
            res = {n: v[order] for n, v in res.items()}
        return StepConnections(keys, {n: res[n] for n in CONNECTION_STATS}, rows, codes,
                               shared_mat, _found(power, keys))

    def _compute_fdsm(self, codes: sp.csr_array, sub: sp.csr_array, rows: np.ndarray,
                      k: np.ndarray, m: int, t: int) -> StepConnections:
        """The connection tests of one checkpoint under the FDSM (Monte Carlo p-values from
        curveball samples, BH over every present pair)."""
        n = rows.size
        if n > _FDSM_LIMIT:
            raise InputError(f"connection null 'fdsm' is for checkpoints of at most "
                             f"{_FDSM_LIMIT} concepts, got {n}; use 'auto' or 'bicm'")
        n_s = self.null_samples
        shared = overlap_matrix(codes, rows, symmetric=False)
        x = sub.toarray().astype(bool)
        rng = np.random.default_rng([self.seed, t])
        a, b = np.triu_indices(n, 1)
        s = shared[a, b].astype(np.int64)
        if self.min_shared > 1:
            # select the pairs sharing >= min_shared, then BH over them with the rank of
            # the data among the samples that pass the same selection (exchangeable)
            exceed, reach = fdsm_exceedances(x, n_s, rng, at_least=self.min_shared)
            sel = s >= self.min_shared
            a, b, s = a[sel], b[sel], s[sel]
            m_family = int(a.size)
            p = (1.0 + exceed[a, b]) / (1.0 + reach[a, b])
        else:
            exceed = fdsm_exceedances(x, n_s, rng)
            p = (1.0 + exceed[a, b]) / (n_s + 1.0)
            m_family = m
        q = bh_qvalues(p, m_family) if m_family else p
        ok = (q <= self.alpha) & (s >= self.min_shared)
        a, b, s = a[ok], b[ok], s[ok]
        ka, kb = k[rows[a]], k[rows[b]]
        stats = {"shared": s.astype(np.float64), "jaccard": s / (ka + kb - s),
                 "p_value": p[ok], "q_value": q[ok]}
        keys = rows[a] * self.c + rows[b]  # row-major upper triangle: already sorted
        size = x.sum(axis=1)
        live = int(np.count_nonzero((size > 0) & (size < x.shape[1])))
        lv = np.array([1.0 / (n_s + 1.0)])
        power = StepPower(m, *bh_power(lv, np.array([live * (live - 1) // 2]), m,
                                       self.alpha), null="fdsm")
        return StepConnections(keys, stats, rows, codes, shared, _found(power, keys))

    def repeat(self, t: int) -> None:
        """Checkpoint ``t`` has the same present concepts and codes as the previous one:
        identical tests, so every connection continues and nothing forms or breaks."""
        self.runs.update(t, self.runs.keys, self.runs.payload)
        if self.power:
            self.power.append((t, self.power[-1][1]))

    def advance(self, t: int, step: StepConnections) -> None:
        """Advance the intervals to checkpoint index ``t`` with its tests ``step``."""
        new, ended = self.runs.update(t, step.keys, step.stats)
        if step.power is not None:
            self.power.append((t, step.power))
        if new.size:
            pos = np.searchsorted(step.keys, new)
            self._ev.append(("connection_form", t, new // self.c, new % self.c,
                             step.stats["shared"][pos].astype(np.int64)))
        if ended.size:
            ea, eb = ended // self.c, ended % self.c
            self._ev.append(("connection_break", t, ea, eb,
                             step.shared_of(ea, eb, self.c).astype(np.int64)))

    def update(self, t: int, codes: sp.csr_array, present: np.ndarray) -> None:
        """Test every present pair at checkpoint index ``t`` and advance the intervals."""
        self.advance(t, self.compute(codes, present, t))

    def finish(self, steps: np.ndarray, concepts: list[str]) -> tuple[Relations, Events]:
        """(connection relations, connection_form/_break events) in step values."""
        steps = np.asarray(steps, dtype=np.int64)
        key, start, end, pay = self.runs.finish()
        n = key.size
        rel = Relations(object_full(n, "connection"), key // self.c, key % self.c,
                        np.full(n, -1, dtype=np.int64), index_to_steps(start, steps),
                        index_to_steps(end, steps), pay)
        if not self._ev:
            return rel, Events.empty()
        kinds, stp, con = [], [], []
        for kind, t, ea, _, _ in self._ev:
            kinds.append(object_full(ea.size, kind))
            stp.append(np.full(ea.size, steps[t], dtype=np.int64))
            con.append(ea.astype(np.int64))
        det = [_details(concepts, np.concatenate([e[3] for e in self._ev]),
                        np.concatenate([e[4] for e in self._ev]))]
        ev = Events(np.concatenate(kinds), np.concatenate(stp), np.concatenate(con),
                    np.full(sum(x.size for x in con), -1, dtype=np.int64), np.concatenate(det))
        return rel, ev


def fdsm_cost(sizes: np.ndarray, popularity: np.ndarray, samples: int) -> float:
    """Estimated elementary steps of one checkpoint's FDSM from its margins: ``samples``
    chains of 2 x :data:`SWEEPS` sweeps over the live cells, then one pair product each."""
    sizes = np.asarray(sizes)
    n = sizes.size
    f = int(np.count_nonzero(np.asarray(popularity) > 0))
    n_live = int(np.count_nonzero((sizes > 0) & (sizes < f)))
    f_live = int(np.count_nonzero((popularity > 0) & (popularity < n)))
    return float(samples) * n_live * f_live * (2 * SWEEPS + n_live) if n_live > 1 else 0.0


def _found(power: StepPower, keys: np.ndarray) -> StepPower:
    return dataclasses.replace(power, discoveries=int(keys.size))


def null_power(null: OverlapNull, m: int, alpha: float, kind: str) -> StepPower:
    """Power of one checkpoint's connection family under a BiCM, size-conditioned BiCM or
    hypergeometric null:
    per pair of distinct code sizes the p-value of the largest possible overlap
    min(k_a, k_b). For the BiCM, size pairs whose Bernstein bound already puts that p below
    alpha / m (they can pass at every k) keep the bound; the rest get the exact tail only
    when no size pair is settled so (otherwise the family certainly has power, and they keep
    their bound too: ``min_p`` is then an upper bound below alpha / m and
    ``max_discoveries`` a lower bound)."""
    counts = np.bincount(null.index, minlength=null.values.size)
    ia, ib, mult = pair_counts(counts)
    top = np.minimum(null.values[ia], null.values[ib])
    if isinstance(null, HypergeomNull):
        lv = np.where(top > 0, min_attainable_p(null.n_features, null.values[ia],
                                                null.values[ib]), 1.0)
    elif isinstance(null, SizeNull):  # exact tails, tabulated for every size pair
        lv = np.where(top > 0, null.sf(top, ia, ib), 1.0)
    else:
        mean, var = null.mean[ia, ib], null.var[ia, ib]
        t = np.maximum(top - mean, 0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            bound = np.where(t > 0, np.exp(-t * t / (2.0 * (var + t / 3.0))), 1.0)
        lv = np.where(top > 0, bound, 1.0)
        exact = np.flatnonzero((top > 0) & (bound > alpha / max(m, 1)))
        if exact.size and exact.size == np.count_nonzero(top > 0):
            lv[exact] = null.sf(top[exact], ia[exact], ib[exact])
    return StepPower(m, *bh_power(lv, mult, m, alpha), null=kind)


def _details(concepts: list[str], partner: np.ndarray, shared: np.ndarray) -> np.ndarray:
    """JSON detail ``{"b": name, "shared": n}`` per event, as an object array; each distinct
    (partner, shared) string is built once and shared by reference."""
    partner = partner.astype(np.int64)
    shared = shared.astype(np.int64)
    if partner.size == 0:
        return np.zeros(0, dtype=object)
    base = int(shared.max()) + 1
    key = partner * base + shared
    space = (int(partner.max()) + 1) * base
    if space <= _MAX_KEY_SPACE:  # O(n) tabulation instead of a sort of every event
        slot = np.zeros(space, dtype=np.int64)
        slot[key] = 1
        uniq = np.flatnonzero(slot)
        slot[uniq] = np.arange(uniq.size)
        inverse = slot[key]
    else:
        uniq, inverse = np.unique(key, return_inverse=True)
    text = np.array([f'{{"b": {json.dumps(concepts[j])}, "shared": {v}}}'
                     for j, v in zip((uniq // base).tolist(), (uniq % base).tolist(),
                                     strict=True)], dtype=object)
    return text[inverse]
