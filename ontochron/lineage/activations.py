"""Lineage from codes alone: a feature is its activation pattern over the probe concepts.

Feature j at checkpoint t is the column ``values_t[:, j]`` over the C concepts present at both
t-1 and t. Similarity: Pearson correlation (cosine of the centred columns), so a pattern and a
shifted or rescaled copy of it match and the base rate of a feature does not count as
similarity. The link threshold comes from a concept-permutation null: one checkpoint's concepts
are permuted (every column keeps its values, the association between checkpoints is destroyed)
and the (1 - alpha) quantile of the per-feature best similarity is taken (docs/lineage.md).

A column that is never on over a checkpoint's concepts is a dead feature there (no pattern):
it takes no part in the matching and is marked dead once (a dead lineage), never born or killed
at every checkpoint. Any other constant column (always on over the shared concepts) has no
pattern either: it is never linked (so it is a birth or death) and it is counted in the pair's
``constant_a``/``constant_b``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ontochron.errors import InputError
from ontochron.ingest.snapshot import CodeStack
from ontochron.lineage.match import unit_rows
from ontochron.lineage.null import SEED, best_cosines, content_sample, random_threshold

MIN_NULL_SAMPLES = 10  # per 1/alpha: at least 10/alpha null best-similarities per pair
MAX_PERMUTATIONS = 64
NULL_FLOPS = 4e10      # bound on the multiply-adds one pair's null may cost
RESID_ROWS = 256       # rows of the one-comparison null (the split/merge residual test)
LOW_POWER = 0.9        # a threshold above this only links near-identical patterns
REFERENCE_SIM = 0.9    # the similarity the "concepts needed" figure is computed for


def stack_values(stack: CodeStack, values: str = "auto") -> tuple[list[np.ndarray], str]:
    """Per step a (F, C_total) float32 matrix of activation patterns, NaN at concepts absent
    at that step; ``values``: ``activations`` (continuous), ``codes`` (0/1) or ``auto``
    (activations when every step has them)."""
    if values not in ("auto", "activations", "codes"):
        raise InputError(f"values must be auto, activations or codes, got {values!r}")
    have = all(a is not None for a in stack.activations)
    if values == "activations" and not have:
        raise InputError("matching on activations needs continuous activations at every step "
                         "(use values='codes')")
    use = "activations" if values == "activations" or (values == "auto" and have) else "codes"
    out = []
    for t in range(stack.n_steps):
        if use == "activations":
            X = np.asarray(stack.activations[t], dtype=np.float32).T.copy()
        else:
            X = stack.dense(t).T.astype(np.float32)
        X[:, ~stack.present[t]] = np.nan
        out.append(X)
    return out, use


def centred_rows(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(unit centred rows, constant mask): Pearson correlation becomes a dot product; constant
    rows (no pattern) stay zero."""
    X = np.asarray(X, dtype=np.float32)
    constant = (X.max(axis=1) - X.min(axis=1)) <= 0 if X.shape[1] else np.ones(X.shape[0], bool)
    Z = X - X.mean(axis=1, keepdims=True)
    Z[constant] = 0.0
    return unit_rows(Z), constant


def masked_pearson(X: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """Row-wise Pearson correlation of X[i] and Y[i] over the concepts finite in both (NaN
    where fewer than 3 are shared or a row is constant there)."""
    m = np.isfinite(X) & np.isfinite(Y)
    n = m.sum(axis=1).astype(np.float64)
    x = np.where(m, X, 0.0).astype(np.float64)
    y = np.where(m, Y, 0.0).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        mx, my = x.sum(1) / n, y.sum(1) / n
        xc = np.where(m, x - mx[:, None], 0.0)
        yc = np.where(m, y - my[:, None], 0.0)
        den = np.sqrt((xc * xc).sum(1) * (yc * yc).sum(1))
        r = (xc * yc).sum(1) / den
    return np.where((n >= 3) & (den > 0), r, np.nan)


def concepts_needed(n_b: int, alpha: float, similarity: float = REFERENCE_SIM) -> int:
    """Fewest concepts C for which a link at ``similarity`` clears the null of ``n_b``
    independent Gaussian patterns (centred: C - 1 dimensions); a reference, not the test."""
    lo, hi = 3, 4
    while random_threshold(hi - 1, n_b, alpha) > similarity:
        lo, hi = hi, hi * 2
        if hi > 1 << 24:
            return hi
    while lo < hi:
        mid = (lo + hi) // 2
        if random_threshold(mid - 1, n_b, alpha) > similarity:
            lo = mid + 1
        else:
            hi = mid
    return lo


def permutation_null(A: np.ndarray, B: np.ndarray, alpha: float, null_rows: int = 4096
                     ) -> tuple[float, float, int, int]:
    """(threshold, one-comparison threshold, samples, permutations) of the concept-permutation
    null for unit centred rows A (n_a, C) and B (n_b, C).

    Each permutation shuffles the concepts of B (and, separately, of A): a permuted row is
    still centred and unit, so it is the same feature with its association to the other
    checkpoint destroyed. The best similarity of up to ``null_rows`` non-constant rows per side
    (chosen by content, so row order does not matter) is pooled over enough permutations for
    10 / alpha samples (at most 64, and a bounded number of multiply-adds); the threshold is
    their (1 - alpha) quantile. The one-comparison threshold (for the residual test of splits
    and merges) is the (1 - alpha) quantile of single similarities, no maximum.
    """
    live_a = np.nonzero(np.abs(A).sum(1) > 0)[0]
    live_b = np.nonzero(np.abs(B).sum(1) > 0)[0]
    if live_a.size == 0 or live_b.size == 0 or A.shape[1] < 3:
        return math.inf, math.inf, 0, 0
    sa = live_a[content_sample(A[live_a], null_rows)]
    sb = live_b[content_sample(B[live_b], null_rows)]
    per_perm = sa.size + sb.size
    want = math.ceil(MIN_NULL_SAMPLES / alpha / per_perm)
    cost = max(1.0, 2.0 * A.shape[1] * (sa.size * live_b.size + sb.size * live_a.size))
    n_perm = int(max(1, min(want, MAX_PERMUTATIONS, NULL_FLOPS // cost)))
    rng = np.random.default_rng(SEED)
    Al, Bl = A[live_a], B[live_b]
    pooled, single = [], None
    for _ in range(n_perm):
        pb = rng.permutation(A.shape[1])
        pa = rng.permutation(A.shape[1])
        Bp = np.ascontiguousarray(Bl[:, pb])
        pooled.append(best_cosines(A[sa], Bp))
        pooled.append(best_cosines(B[sb], np.ascontiguousarray(Al[:, pa])))
        if single is None:
            single = (A[sa[:RESID_ROWS]] @ Bp.T).ravel()
    allv = np.concatenate(pooled)
    thr = float(np.quantile(allv, 1.0 - alpha, method="higher"))
    one = float(np.quantile(single, 1.0 - alpha, method="higher"))
    return thr, one, int(allv.size), n_perm


class ActivationSpace:
    """The pair hooks of :func:`ontochron.lineage.build.build_lineage` for activation
    patterns: raw items are (F, C_total) matrices with NaN at absent concepts."""

    kind = "concept_permutation"

    def __init__(self, alpha: float = 0.001, null_rows: int = 4096) -> None:
        if not 0.0 < alpha < 1.0:
            raise InputError(f"null alpha must be in (0, 1), got {alpha}")
        self.alpha = alpha
        self.null_rows = null_rows
        self.steps_without_power: list[int] = []
        self.low_power: list[tuple[int, float]] = []
        self.constant: list[tuple[int, int, int]] = []

    def pair(self, prev: np.ndarray, cur: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Unit centred patterns over the concepts present at both checkpoints."""
        shared = np.isfinite(prev[0]) & np.isfinite(cur[0]) if prev.shape[0] and cur.shape[0] \
            else np.zeros(prev.shape[1], bool)
        A, self._const_a = centred_rows(prev[:, shared])
        B, self._const_b = centred_rows(cur[:, shared])
        return A, B

    def threshold(self, A: np.ndarray, B: np.ndarray, step: int
                  ) -> tuple[float, dict[str, Any], float]:
        """(link threshold, null description, residual threshold) for one pair; no power
        (threshold inf, no links) when even identical patterns are matched by chance."""
        C = int(A.shape[1])
        thr, one, samples, n_perm = permutation_null(A, B, self.alpha, self.null_rows)
        power = bool(np.isfinite(thr) and thr < 1.0 - 1e-6)
        need = concepts_needed(max(A.shape[0], B.shape[0]), self.alpha)
        info: dict[str, Any] = {
            "kind": self.kind, "alpha": self.alpha, "quantile": 1.0 - self.alpha,
            "concepts": C, "n_a": int(A.shape[0]), "n_b": int(B.shape[0]),
            "constant_a": int(self._const_a.sum()), "constant_b": int(self._const_b.sum()),
            "samples": samples, "permutations": n_perm,
            "permuted": thr if np.isfinite(thr) else None,
            "residual_threshold_null": one if np.isfinite(one) else None,
            "power": power, "concepts_for_link_at_0.9": need}
        self.constant.append((step, info["constant_a"], info["constant_b"]))
        if not power:
            self.steps_without_power.append(step)
            thr = one = math.inf
        elif thr > LOW_POWER:
            self.low_power.append((step, thr))
        info["threshold"] = thr if np.isfinite(thr) else None
        return thr, info, one

    def dead(self, X: np.ndarray) -> np.ndarray:
        """Features never active (zero) at every concept present at the checkpoint: they have
        no pattern, so they are dead there (marked once, never born or killed)."""
        X = np.asarray(X)
        return ~np.any(np.isfinite(X) & (X != 0), axis=1)

    def first_cos(self, first: np.ndarray, cur: np.ndarray) -> np.ndarray:
        """Pearson correlation of each pattern with its lineage's first pattern."""
        return masked_pearson(first, cur)

    def power(self, concepts: int, need: int) -> dict[str, Any]:
        """The power block of summary.json, with notes when some pairs cannot link."""
        notes = []
        if self.steps_without_power:
            notes.append(
                f"no power at {len(self.steps_without_power)} checkpoint pair(s) (steps "
                f"{', '.join(map(str, self.steps_without_power[:5]))}"
                f"{', ...' if len(self.steps_without_power) > 5 else ''}): with {concepts} "
                "shared concepts chance alone matches patterns perfectly, so no link can "
                "clear the null and every feature there is a birth/death; use more probe "
                f"concepts (at least about {need} for a link at similarity 0.9 to clear a null of "
                "independent patterns)")
        if self.low_power:
            worst = max(t for _, t in self.low_power)
            notes.append(
                f"low power at {len(self.low_power)} checkpoint pair(s): link threshold up to "
                f"{worst:.3f} with {concepts} shared concepts, so only near-identical patterns "
                f"link (at least about {need} concepts are needed to link at 0.9)")
        return {"concepts": int(concepts), "concepts_for_link_at_0.9": int(need),
                "pairs_without_power": [int(s) for s in self.steps_without_power],
                "pairs_low_power": [int(s) for s, _ in self.low_power],
                "constant": [{"step": s, "a": a, "b": b} for s, a, b in self.constant],
                "notes": notes}
