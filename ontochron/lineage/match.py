"""Link the latents of two dictionaries: candidate cosines above the null threshold, the
stable (strongest-first) 1:1 matching of them, then splits and merges decided by a residual test (docs/lineage.md).

The candidate search is blockwise (rows of A against all of B, a bounded block at a time) and
keeps per row at most ``topk`` cosines above the threshold plus each column's best, so memory
is O(n_a * topk + n_b) whatever the widths. The full A x B product is quadratic in latents by
nature (every pair may be a link); bench/bench_lineage.py measures it against a bare matmul.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

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
    """The stable 1:1 matching of the candidate pairs: strongest link first, each latent
    taken once (docs/lineage.md, "Matching").

    With one symmetric preference (the cosine) the stable matching is unique and is this
    greedy one: no two latents that are each other's stronger choice are left apart, so a
    chain of several weaker links can never displace one strong link (a maximum-total-cosine
    assignment can: 0.806 + 0.677 + ... outscores 0.981 + 0.990). Ties: lower A index, then
    lower B index. Cost O(E log E) in the E candidate pairs (a sort and one pass)."""
    if c.rows.size == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    order = np.lexsort((c.cols, c.rows, -c.cos))
    taken_a = np.zeros(n_a, bool)
    taken_b = np.zeros(n_b, bool)
    out_a: list[int] = []
    out_b: list[int] = []
    for i, j in zip(c.rows[order].tolist(), c.cols[order].tolist(), strict=True):
        if taken_a[i] or taken_b[j]:
            continue
        taken_a[i] = taken_b[j] = True
        out_a.append(i)
        out_b.append(j)
    return np.asarray(out_a, np.int64), np.asarray(out_b, np.int64)


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

    1. Candidates: cosines >= threshold. 2. Primary 1:1 links: the stable matching of the
    candidates (:func:`assign`: strongest link first). 3. An unmatched B latent attaches to its best A partner and an
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
