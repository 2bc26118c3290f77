"""Connections between concepts: per checkpoint, pairs sharing more features than chance
(one-sided hypergeometric test, Benjamini-Hochberg over all present pairs), streamed into
validity intervals and form/break events."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator

import numpy as np
import scipy.sparse as sp

from ontochron.ontology.lifecycle import RunTracker, index_to_steps
from ontochron.ontology.result import Events, Relations
from ontochron.ontology.stats import bh_qvalues, hypergeom_critical, hypergeom_sf

CONNECTION_STATS = ("shared", "jaccard", "p_value", "q_value")
_BLOCK = 1024  # concept rows per block of the pair-overlap product


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


class _Critical:
    """Lookup of the smallest significant overlap per (k_a, k_b) at one checkpoint, built
    once for the distinct code sizes (skipped when they are too many to tabulate)."""

    MAX_SIZES = 128  # distinct code sizes tabulated; beyond, the cheaper median cut only

    def __init__(self, k: np.ndarray, n_features: int, alpha: float) -> None:
        values, self.index = np.unique(k, return_inverse=True)
        u = values.size
        self.table: np.ndarray | None = None
        if 0 < u <= self.MAX_SIZES:
            ia, ib = np.triu_indices(u)
            crit = hypergeom_critical(alpha, n_features, values[ia], values[ib])
            table = np.zeros((u, u), dtype=np.int32)
            table[ia, ib] = crit
            table[ib, ia] = crit
            self.table = table

    def keep(self, a: np.ndarray, b: np.ndarray, s: np.ndarray) -> np.ndarray:
        """Mask of pairs (concept indices a, b) whose overlap s could reach significance."""
        assert self.table is not None
        return s >= self.table[self.index[a], self.index[b]]


def connection_tests(blocks: Iterable[tuple[np.ndarray, np.ndarray, np.ndarray]],
                     k: np.ndarray, n_features: int, n_present: int, alpha: float,
                     min_shared: int) -> dict[str, np.ndarray]:
    """Test pairs (a, b) sharing s > 0 features; return the connected ones with stats.

    p = P(S >= s), S ~ Hypergeom(n_features, k[a], k[b]); BH over all
    n_present*(n_present-1)/2 present pairs (pairs not evaluated count with p = 1). Pairs
    whose s is below the smallest overlap with p <= alpha for their (k_a, k_b) (or, with
    too many distinct sizes to tabulate, s <= floor(k_a k_b / n_features)) are not
    evaluated: their p > alpha, so they cannot be rejected nor change any q <= alpha.
    ``k`` holds the code size of every concept index.
    """
    m = n_present * (n_present - 1) // 2
    crit = _Critical(k, n_features, alpha)
    ca, cb, cs = [], [], []
    for a, b, s in blocks:
        if crit.table is not None:
            keep = crit.keep(a, b, s)
        elif alpha < 0.5:  # s <= floor(mean) is at most the median of S: p >= 0.5 > alpha
            keep = s > (k[a] * k[b]) // max(n_features, 1)
        else:
            keep = s > 0
        ca.append(a[keep])
        cb.append(b[keep])
        cs.append(s[keep].astype(np.int64))
    a = np.concatenate(ca) if ca else np.zeros(0, dtype=np.int64)
    b = np.concatenate(cb) if cb else np.zeros(0, dtype=np.int64)
    s64 = np.concatenate(cs) if cs else np.zeros(0, dtype=np.int64)
    ka, kb = k[a], k[b]
    p = hypergeom_sf(s64, n_features, ka, kb)
    q = bh_qvalues(p, m) if m else p
    ok = (q <= alpha) & (s64 >= min_shared)
    shared = s64[ok]
    return {"a": a[ok].astype(np.int64), "b": b[ok].astype(np.int64),
            "shared": shared.astype(np.float64),
            "jaccard": shared / (ka[ok] + kb[ok] - shared),
            "p_value": p[ok], "q_value": q[ok]}


class ConnectionTracker:
    """Feed one checkpoint at a time; :meth:`finish` gives the connection intervals and the
    form/break events. Memory: one checkpoint's pair overlaps."""

    def __init__(self, n_concepts: int, n_features: int, alpha: float = 0.05,
                 min_shared: int = 1, device: str = "cpu") -> None:
        self.c, self.f = n_concepts, n_features
        self.alpha, self.min_shared, self.device = alpha, min_shared, device
        self.runs = RunTracker(CONNECTION_STATS)
        self._ev: list[tuple[str, int, np.ndarray, np.ndarray, np.ndarray]] = []

    def update(self, t: int, codes: sp.csr_array, present: np.ndarray) -> None:
        """Test every present pair at checkpoint index ``t`` and advance the intervals."""
        rows = np.flatnonzero(present)
        k = np.diff(sp.csr_array(codes).indptr).astype(np.int64)
        res = connection_tests(iter_pair_blocks(codes, rows, self.device), k, self.f,
                               rows.size, self.alpha, self.min_shared)
        keys = res["a"] * self.c + res["b"]
        order = np.argsort(keys, kind="stable")
        keys = keys[order]
        new, ended = self.runs.update(t, keys, {n: res[n][order] for n in CONNECTION_STATS})
        if new.size:
            pos = np.searchsorted(keys, new)
            self._ev.append(("connection_form", t, new // self.c, new % self.c,
                             res["shared"][order][pos].astype(np.int64)))
        if ended.size:
            ea, eb = ended // self.c, ended % self.c
            x = sp.csr_array(codes)
            shared_now = np.asarray(x[ea].multiply(x[eb]).sum(axis=1)).ravel()
            self._ev.append(("connection_break", t, ea, eb, shared_now.astype(np.int64)))

    def finish(self, steps: np.ndarray, concepts: list[str]) -> tuple[Relations, Events]:
        """(connection relations, connection_form/_break events) in step values."""
        steps = np.asarray(steps, dtype=np.int64)
        key, start, end, pay = self.runs.finish()
        n = key.size
        rel = Relations(np.full(n, "connection", dtype=object), key // self.c, key % self.c,
                        np.full(n, -1, dtype=np.int64), index_to_steps(start, steps),
                        index_to_steps(end, steps), pay)
        if not self._ev:
            return rel, Events.empty()
        names = [json.dumps(c) for c in concepts]
        kinds, stp, con, det = [], [], [], []
        for kind, t, ea, eb, sh in self._ev:
            kinds.append(np.full(ea.size, kind, dtype=object))
            stp.append(np.full(ea.size, steps[t], dtype=np.int64))
            con.append(ea.astype(np.int64))
            det.append(np.array([f'{{"b": {names[j]}, "shared": {v}}}'
                                 for j, v in zip(eb.tolist(), sh.tolist(), strict=True)], dtype=object))
        ev = Events(np.concatenate(kinds), np.concatenate(stp), np.concatenate(con),
                    np.full(sum(x.size for x in con), -1, dtype=np.int64), np.concatenate(det))
        return rel, ev
