"""Link the latents of two dictionaries: candidate cosines above the null threshold, an exact
1:1 assignment on them, then splits and merges decided by a residual test (docs/lineage.md).

The candidate search is blockwise (rows of A against all of B, a bounded block at a time) and
keeps per row at most ``topk`` cosines above the threshold plus each column's best, so memory
is O(n_a * topk + n_b) whatever the widths. The full A x B product is quadratic in latents by
nature (every pair may be a link); bench/bench_lineage.py measures it against a bare matmul.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.optimize import linear_sum_assignment
from scipy.sparse.csgraph import min_weight_full_bipartite_matching

DENSE_LIMIT = 2048 * 2048  # exact dense assignment up to this many pairs
BLOCK_BYTES = 1 << 27      # 128 MiB of float32 cosines per block


def unit_rows(W: np.ndarray) -> np.ndarray:
    """Rows scaled to unit norm (zero rows stay zero), float32."""
    W = np.asarray(W, dtype=np.float32)
    norm = np.linalg.norm(W, axis=1, keepdims=True)
    return W / np.where(norm > 0, norm, 1.0)


@dataclass
class Candidates:
    """Cosines above threshold (COO), each row's and each column's best partner."""

    rows: np.ndarray
    cols: np.ndarray
    cos: np.ndarray
    row_best: np.ndarray
    row_best_cos: np.ndarray
    col_best: np.ndarray
    col_best_cos: np.ndarray


def candidates(A: np.ndarray, B: np.ndarray, threshold: float, *, topk: int = 8,
               device: str = "cpu", block_bytes: int = BLOCK_BYTES) -> Candidates:
    """Blockwise search of the cosines >= threshold between unit rows of A and B."""
    n_a, n_b = A.shape[0], B.shape[0]
    rows_per = max(1, block_bytes // (4 * max(n_b, 1)))
    col_best = np.zeros(n_b, dtype=np.int64)
    col_best_cos = np.full(n_b, -np.inf)
    row_best = np.zeros(n_a, dtype=np.int64)
    row_best_cos = np.full(n_a, -np.inf)
    r_all, c_all, v_all = [], [], []
    torch_b = None
    if device != "cpu":
        import torch

        torch_b = torch.as_tensor(B, device=device)
    for s in range(0, n_a, rows_per):
        blk = A[s:s + rows_per]
        if torch_b is not None:
            import torch

            S = (torch.as_tensor(blk, device=device) @ torch_b.T).cpu().numpy()
        else:
            S = blk @ B.T
        rb = S.argmax(axis=1)
        row_best[s:s + blk.shape[0]] = rb
        row_best_cos[s:s + blk.shape[0]] = S[np.arange(blk.shape[0]), rb]
        cb = S.argmax(axis=0)
        cv = S[cb, np.arange(n_b)]
        better = cv > col_best_cos
        col_best[better] = cb[better] + s
        col_best_cos[better] = cv[better]
        r, c = np.nonzero(S >= threshold)
        if r.size:
            counts = np.bincount(r, minlength=blk.shape[0])
            crowded = np.nonzero(counts > topk)[0]
            if crowded.size:  # keep only each crowded row's topk best
                keep = ~np.isin(r, crowded)
                r, c = r[keep], c[keep]
                top = np.argpartition(-S[crowded], topk - 1, axis=1)[:, :topk]
                r = np.concatenate([r, np.repeat(crowded, topk)])
                c = np.concatenate([c, top.ravel()])
            r_all.append(r + s)
            c_all.append(c)
            v_all.append(S[r, c].astype(np.float64))
    rows = np.concatenate(r_all) if r_all else np.zeros(0, np.int64)
    cols = np.concatenate(c_all) if c_all else np.zeros(0, np.int64)
    cos = np.concatenate(v_all) if v_all else np.zeros(0)
    # every column's best partner above threshold is a candidate even if its row was crowded
    ok = col_best_cos >= threshold
    rows = np.concatenate([rows, col_best[ok]])
    cols = np.concatenate([cols, np.nonzero(ok)[0]])
    cos = np.concatenate([cos, col_best_cos[ok]])
    key = np.unique(rows * n_b + cols, return_index=True)[1]
    return Candidates(rows[key].astype(np.int64), cols[key].astype(np.int64), cos[key],
                      row_best, row_best_cos, col_best, col_best_cos)


def assign(c: Candidates, n_a: int, n_b: int) -> tuple[np.ndarray, np.ndarray]:
    """Maximum-total-cosine 1:1 matching over the candidate pairs: dense Hungarian
    (linear_sum_assignment) when small, sparse min_weight_full_bipartite_matching otherwise."""
    if c.rows.size == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    if n_a * n_b <= DENSE_LIMIT:
        W = np.zeros((n_a, n_b))
        W[c.rows, c.cols] = c.cos
        r, col = linear_sum_assignment(W, maximize=True)
        ok = W[r, col] > 0
        return r[ok].astype(np.int64), col[ok].astype(np.int64)
    # Maximum-weight (not necessarily full) matching as a full matching of an augmented graph:
    # left = A + B*, right = B + A*; A_i-B_j cost 2 - cos, A_i-A*_i and B*_j-B_j cost 1 (left
    # unmatched), B*_j-A*_i cost eps for every candidate (i, j). Total cost = const - sum(cos)
    # + eps * |M|, so the optimum maximises the summed cosine of the matched candidates.
    eps = 1e-9
    ia, ib = np.arange(n_a), np.arange(n_b)
    rows = np.concatenate([c.rows, ia, n_a + ib, n_a + c.cols])
    cols = np.concatenate([c.cols, n_b + ia, ib, n_b + c.rows])
    vals = np.concatenate([2.0 - c.cos, np.ones(n_a), np.ones(n_b), np.full(c.rows.size, eps)])
    G = sp.csr_array((vals, (rows, cols)), shape=(n_a + n_b, n_a + n_b))
    match = min_weight_full_bipartite_matching(G)[1]
    left = np.arange(n_a)
    right = match[:n_a]
    ok = right < n_b
    return left[ok].astype(np.int64), right[ok].astype(np.int64)


def _explains(target: np.ndarray, basis: list[np.ndarray], cand: np.ndarray,
              threshold: float) -> bool:
    """Whether ``cand`` explains a part of ``target`` the ``basis`` directions do not: the
    cosine of ``cand`` with the residual of ``target`` after projecting onto their span."""
    Q, _ = np.linalg.qr(np.stack(basis, axis=1).astype(np.float64))
    t = target.astype(np.float64)
    resid = t - Q @ (Q.T @ t)
    norm = np.linalg.norm(resid)
    if norm < 1e-9:
        return False
    return float(resid @ cand / (norm * max(np.linalg.norm(cand), 1e-12))) >= threshold


def _cos(value: float) -> float:
    """A cosine of unit vectors in float32: rounding can put it just past 1 (1.000000238);
    clipped to [-1, 1]."""
    return float(min(1.0, max(-1.0, float(value))))


@dataclass
class Links:
    """The links between dictionaries A and B (indices into each)."""

    continues: list[tuple[int, int, float]] = field(default_factory=list)
    splits: list[tuple[int, list[tuple[int, float]]]] = field(default_factory=list)
    merges: list[tuple[list[tuple[int, float]], int]] = field(default_factory=list)
    deaths: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    births: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    info: dict[str, Any] = field(default_factory=dict)


def link(A: np.ndarray, B: np.ndarray, threshold: float, *, topk: int = 8,
         device: str = "cpu", alpha: float = 0.001,
         resid_threshold: float | None = None) -> Links:
    """Continue, split, merge, birth and death links between unit-row dictionaries A and B.

    1. Candidates: cosines >= threshold. 2. Primary 1:1 links: the maximum-total-cosine
    matching of the candidates. 3. An unmatched B latent attaches to its best A partner and an
    unmatched A latent to its best B partner when that cosine is >= threshold (a possible split
    or merge child/parent); if a matched pair gets both extra children and extra parents, only
    the side with the higher extra cosine is kept. 4. Each extra is kept only if it explains a
    part of the shared latent that the already kept ones do not: its cosine with the residual
    is above the (1 - alpha) quantile of one random cosine in d dimensions (one comparison, so
    no maximum over latents; ``resid_threshold`` overrides it, e.g. with a permutation null);
    otherwise it is a birth (death). So a latent that continues almost unchanged
    next to a new, merely similar latent is a continue plus a birth, not a split.
    """
    from ontochron.lineage.null import random_threshold

    n_a, n_b = A.shape[0], B.shape[0]
    resid_thr = (random_threshold(A.shape[1], 1, alpha) if resid_threshold is None
                 else float(resid_threshold))
    c = candidates(A, B, threshold, topk=topk, device=device)
    mr, mc = assign(c, n_a, n_b)
    match_a = np.full(n_a, -1, np.int64)
    match_b = np.full(n_b, -1, np.int64)
    match_a[mr], match_b[mc] = mc, mr
    extra_children: dict[int, list[tuple[int, float]]] = {}
    for j in np.nonzero((match_b < 0) & (c.col_best_cos >= threshold))[0]:
        i = int(c.col_best[j])
        if match_a[i] >= 0:
            extra_children.setdefault(i, []).append((int(j), _cos(c.col_best_cos[j])))
    extra_parents: dict[int, list[tuple[int, float]]] = {}
    for i in np.nonzero((match_a < 0) & (c.row_best_cos >= threshold))[0]:
        j = int(c.row_best[i])
        if match_b[j] >= 0:
            extra_parents.setdefault(j, []).append((int(i), _cos(c.row_best_cos[i])))
    out = Links()
    linked_a = np.zeros(n_a, bool)
    linked_b = np.zeros(n_b, bool)
    order = np.argsort(mr, kind="stable")
    for i, j in zip(mr[order].tolist(), mc[order].tolist(), strict=True):
        cos_ij = _cos(A[i] @ B[j])
        kids = sorted(extra_children.get(i, []), key=lambda x: -x[1])
        pars = sorted(extra_parents.get(j, []), key=lambda x: -x[1])
        if kids and pars:
            if kids[0][1] >= pars[0][1]:
                pars = []
            else:
                kids = []
        linked_a[i] = linked_b[j] = True
        if kids:
            kept, basis = [(j, cos_ij)], [B[j]]
            for jj, cs in kids:
                if _explains(A[i], basis, B[jj], resid_thr):
                    kept.append((jj, cs))
                    basis.append(B[jj])
                    linked_b[jj] = True
            if len(kept) > 1:
                out.splits.append((i, sorted(kept)))
                continue
        if pars:
            kept, basis = [(i, cos_ij)], [A[i]]
            for ii, cs in pars:
                if _explains(B[j], basis, A[ii], resid_thr):
                    kept.append((ii, cs))
                    basis.append(A[ii])
                    linked_a[ii] = True
            if len(kept) > 1:
                out.merges.append((sorted(kept), j))
                continue
        out.continues.append((i, j, cos_ij))
    out.deaths = np.nonzero(~linked_a)[0].astype(np.int64)
    out.births = np.nonzero(~linked_b)[0].astype(np.int64)
    out.info = {"candidates": int(c.rows.size), "matched": int(mr.size),
                "residual_threshold": resid_thr if np.isfinite(resid_thr) else None}
    return out
