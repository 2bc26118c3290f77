"""Detection scoring (automated interpretability): a label is scored by how well it picks the
held-out activating concepts from a mix of held-out activating and non-activating ones,
as balanced accuracy ``(TPR + TNR) / 2`` (0.5 = chance, 1 = perfect)."""

from __future__ import annotations

import numpy as np


def balanced_accuracy(predicted: np.ndarray, truth: np.ndarray) -> float | None:
    """Balanced accuracy of boolean predictions; None unless both classes are present."""
    predicted = np.asarray(predicted, dtype=bool)
    truth = np.asarray(truth, dtype=bool)
    n_pos, n_neg = int(truth.sum()), int((~truth).sum())
    if n_pos == 0 or n_neg == 0:
        return None
    tpr = float((predicted & truth).sum()) / n_pos
    tnr = float((~predicted & ~truth).sum()) / n_neg
    return (tpr + tnr) / 2


def fit_threshold(sims: np.ndarray, truth: np.ndarray) -> float:
    """The similarity threshold (predict positive when ``sim >= t``) with the best balanced
    accuracy on a training split. Candidates are the midpoints between consecutive sorted
    similarities plus one below and one above all of them; ties go to the smallest
    threshold. Without both classes: just below the smallest positive (or +inf)."""
    sims = np.asarray(sims, dtype=np.float64)
    truth = np.asarray(truth, dtype=bool)
    if sims.size == 0:
        return float("inf")
    if truth.all() or not truth.any():
        return float(sims[truth].min()) if truth.any() else float("inf")
    s = np.unique(sims)
    cands = np.concatenate([[s[0] - 1.0], (s[:-1] + s[1:]) / 2, [s[-1] + 1.0]])
    # (candidates x examples) comparison: training splits hold at most a few dozen examples
    pred = sims[None, :] >= cands[:, None]
    tpr = (pred & truth).sum(axis=1) / truth.sum()
    tnr = (~pred & ~truth).sum(axis=1) / (~truth).sum()
    return float(cands[int(np.argmax(tpr + tnr))])


def threshold_score(train_sims: np.ndarray, train_truth: np.ndarray,
                    test_sims: np.ndarray, test_truth: np.ndarray) -> tuple[float | None, float]:
    """Fit a threshold on the training split and return (balanced accuracy on the held-out
    split, threshold)."""
    t = fit_threshold(train_sims, train_truth)
    return balanced_accuracy(np.asarray(test_sims) >= t, test_truth), t
