"""Per-checkpoint curves of the whole code population: entropy, churn, utilization and
active fraction, computed on sparse codes without per-concept Python loops."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

CURVE_NAMES = ("entropy", "churn", "utilization", "active_fraction")


def row_hashes(codes: sp.csr_array, weights: np.ndarray) -> np.ndarray:
    """64-bit hash of every row's set of active features: the wrapping sum of one random
    uint64 weight per feature (distinct sets collide with probability ~2**-64)."""
    codes = sp.csr_array(codes)
    w = weights[codes.indices]
    csum = np.concatenate([np.zeros(1, dtype=np.uint64), np.cumsum(w, dtype=np.uint64)])
    return csum[codes.indptr[1:]] - csum[codes.indptr[:-1]]


def feature_weights(n_features: int, seed: int) -> np.ndarray:
    """Random uint64 per-feature weights for :func:`row_hashes`."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, np.iinfo(np.uint64).max, size=n_features, dtype=np.uint64,
                        endpoint=True)


def binary_entropy(p: np.ndarray) -> np.ndarray:
    """H(p) in bits, 0 at p in {0, 1}."""
    p = np.asarray(p, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        h = -(p * np.log2(p) + (1 - p) * np.log2(1 - p))
    return np.where((p <= 0) | (p >= 1), 0.0, h)


def step_curves(codes: sp.csr_array, present: np.ndarray, weights: np.ndarray,
                changed_rows: np.ndarray | None, n_both: int) -> dict[str, float]:
    """The four curve values at one checkpoint; ``codes`` rows of absent concepts are empty.

    ``changed_rows`` marks concepts present at t-1 and t whose code changed (None at the
    first checkpoint), ``n_both`` counts concepts present at both.
    """
    codes = sp.csr_array(codes)
    n_present = int(np.count_nonzero(present))
    n_feat = codes.shape[1]
    if n_present == 0 or n_feat == 0:
        return {"entropy": np.nan, "churn": np.nan, "utilization": np.nan,
                "active_fraction": np.nan}
    rate = np.bincount(codes.indices, minlength=n_feat) / n_present
    hashes = row_hashes(codes, weights)[np.asarray(present, dtype=bool)]
    if changed_rows is None:
        churn = 0.0
    else:
        churn = float(np.count_nonzero(changed_rows)) / n_both if n_both else np.nan
    return {
        "entropy": float(binary_entropy(rate).mean()),
        "churn": churn,
        "utilization": float(np.unique(hashes).size) / n_present,
        "active_fraction": float(codes.nnz) / (n_present * n_feat),
    }


def curve_resolution(n_present: np.ndarray, n_features: int) -> dict[str, float]:
    """The smallest change each curve can show (one concept, or one bit of one concept) at
    the checkpoint with the fewest present concepts: a phase transition must be larger.

    ``active_fraction``: one bit, 1 / (n x F); ``churn`` and ``utilization``: one concept,
    1 / n; ``entropy``: one bit moves one feature's rate by 1 / n, which changes the mean
    binary entropy by at most H(1 / n) / F (the steepest step, from rate 0 to 1 / n)."""
    n = np.asarray(n_present, dtype=np.int64)
    n = n[n > 0]
    if n.size == 0 or n_features <= 0:
        return dict.fromkeys(CURVE_NAMES, 0.0)
    c = float(n.min())
    return {"entropy": float(binary_entropy(np.array([1.0 / c]))[0]) / n_features,
            "churn": 1.0 / c, "utilization": 1.0 / c,
            "active_fraction": 1.0 / (c * n_features)}
