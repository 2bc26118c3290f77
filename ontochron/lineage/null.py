"""The link threshold from a null: how high the best cosine of a latent gets by chance.

``random``: the best of ``n_b`` cosines between independent uniformly random directions in
``d`` dimensions, exact: a cosine c has (c + 1) / 2 ~ Beta((d-1)/2, (d-1)/2), and the best of
n_b independent ones is below c with probability F(c)^n_b. ``permuted``: the real dictionaries
with B's coordinates permuted (same marginal values, heavy tails and sparsity, no alignment),
the per-latent best cosine measured on up to ``null_rows`` rows of each side (a seeded
random sample, chosen by a hash of each row's values so that row order does not matter). The threshold is
the (1 - alpha) quantile, so a latent with no true partner is linked with probability alpha.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import stats

from ontochron.errors import InputError

NULL_KINDS = ("both", "random", "permuted")
SEED = 20240611  # fixed, so a rerun gives the same threshold


def random_threshold(d: int, n_b: int, alpha: float) -> float:
    """The (1 - alpha) quantile of the best of ``n_b`` random cosines in ``d`` dimensions."""
    if d < 2:
        return 1.0
    tail = -np.expm1(np.log1p(-alpha) / max(n_b, 1))  # 1 - (1 - alpha) ** (1 / n_b)
    half = (d - 1) / 2.0
    return float(2.0 * stats.beta.isf(tail, half, half) - 1.0)


def content_sample(U: np.ndarray, m: int) -> np.ndarray:
    """Indices of a seeded pseudo-random sample of ``m`` rows, sorted: each row's rank is a
    seeded 64-bit hash of its values (bits), so the sample is a uniform random subset that
    does not depend on row order nor on where the rows point (a representative sample, unlike
    the rows with the smallest projection on one direction)."""
    if U.shape[0] <= m:
        return np.arange(U.shape[0])
    key = row_hash(U)
    return np.sort(np.argsort(key, kind="stable")[:m])


def row_hash(U: np.ndarray, block_bytes: int = 1 << 26) -> np.ndarray:
    """A seeded 64-bit hash of each row's float32 bit pattern: a wrapping sum of the bits
    times one random odd weight per column, mixed by the splitmix64 finaliser; blockwise
    over rows, so memory stays bounded."""
    U = np.ascontiguousarray(U, dtype=np.float32)
    w = np.random.default_rng(SEED).integers(1, 2 ** 63, size=U.shape[1], dtype=np.uint64)
    w |= np.uint64(1)
    out = np.empty(U.shape[0], dtype=np.uint64)
    rows = max(1, block_bytes // (8 * max(U.shape[1], 1)))
    with np.errstate(over="ignore"):
        for s in range(0, U.shape[0], rows):
            h = (U[s:s + rows].view(np.uint32).astype(np.uint64) * w).sum(axis=1,
                                                                          dtype=np.uint64)
            h ^= h >> np.uint64(30)
            h *= np.uint64(0xBF58476D1CE4E5B9)
            h ^= h >> np.uint64(27)
            h *= np.uint64(0x94D049BB133111EB)
            h ^= h >> np.uint64(31)
            out[s:s + rows] = h
    return out


def best_cosines(a: np.ndarray, B: np.ndarray, block_bytes: int = 1 << 27) -> np.ndarray:
    """Best cosine of each unit row of ``a`` against all unit rows of ``B``, blockwise."""
    out = np.empty(a.shape[0], dtype=np.float64)
    rows = max(1, block_bytes // (4 * max(B.shape[0], 1)))
    for s in range(0, a.shape[0], rows):
        out[s:s + rows] = (a[s:s + rows] @ B.T).max(axis=1)
    return out


def permuted_threshold(A: np.ndarray, B: np.ndarray, alpha: float,
                       null_rows: int = 4096) -> tuple[float, int]:
    """(1 - alpha) quantile of per-latent best cosines of A's rows against B with permuted
    coordinates, and of B's rows against permuted A; returns (threshold, samples)."""
    rng = np.random.default_rng(SEED)
    perm_b = rng.permutation(B.shape[1])
    perm_a = rng.permutation(A.shape[1])
    best_a = best_cosines(A[content_sample(A, null_rows)], np.ascontiguousarray(B[:, perm_b]))
    best_b = best_cosines(B[content_sample(B, null_rows)], np.ascontiguousarray(A[:, perm_a]))
    pooled = np.concatenate([best_a, best_b])
    return float(np.quantile(pooled, 1.0 - alpha, method="higher")), int(pooled.size)


def link_threshold(A: np.ndarray, B: np.ndarray, *, null: str = "both", alpha: float = 0.001,
                   null_rows: int = 4096) -> tuple[float, dict[str, Any]]:
    """The link threshold for unit-row matrices A (n_a, d) and B (n_b, d) and a JSON-able
    description of the null; with ``both`` the stricter (higher) of the two."""
    if null not in NULL_KINDS:
        raise InputError(f"null must be one of {NULL_KINDS}, got {null!r}")
    if not 0.0 < alpha < 1.0:
        raise InputError(f"null alpha must be in (0, 1), got {alpha}")
    info: dict[str, Any] = {"kind": null, "alpha": alpha, "quantile": 1.0 - alpha,
                            "d": int(A.shape[1]), "n_a": int(A.shape[0]), "n_b": int(B.shape[0])}
    values = []
    if null in ("both", "random"):
        r = max(random_threshold(A.shape[1], B.shape[0], alpha),
                random_threshold(A.shape[1], A.shape[0], alpha))
        info["random"] = r
        values.append(r)
    if null in ("both", "permuted"):
        p, samples = permuted_threshold(A, B, alpha, null_rows)
        info["permuted"] = p
        info["samples"] = samples
        values.append(p)
    thr = float(max(values))
    info["threshold"] = thr
    return thr, info
