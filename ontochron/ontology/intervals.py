"""Validity intervals: turn "holds at these checkpoints" into half-open step intervals.

A relation that holds at a maximal run of consecutive checkpoints ``steps[i..j]`` gets the
interval ``[steps[i], steps[j+1])``; when the run reaches the last checkpoint the interval is
open and ``valid_to`` is ``OPEN`` (-1 here, null in CSV and in the graph).
"""

from __future__ import annotations

import numpy as np

OPEN = -1


def intervals_from_occurrences(step_idx: np.ndarray, keys: np.ndarray,
                               steps: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Intervals from (checkpoint index, key) occurrences; sparse-friendly.

    ``step_idx`` and ``keys`` are equal-length integer arrays, one entry per checkpoint at
    which the keyed relation holds (duplicates allowed). Returns ``(key, valid_from,
    valid_to)`` sorted by key then start, with ``valid_to == OPEN`` for runs reaching the last
    checkpoint. Cost: one sort, O(n log n) in the number of occurrences.
    """
    step_idx = np.asarray(step_idx, dtype=np.int64)
    keys = np.asarray(keys, dtype=np.int64)
    steps = np.asarray(steps, dtype=np.int64)
    if step_idx.size == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty.copy(), empty.copy()
    order = np.lexsort((step_idx, keys))
    k, t = keys[order], step_idx[order]
    keep = np.ones(k.size, dtype=bool)
    keep[1:] = (k[1:] != k[:-1]) | (t[1:] != t[:-1])
    k, t = k[keep], t[keep]
    new_run = np.ones(k.size, dtype=bool)
    new_run[1:] = (k[1:] != k[:-1]) | (t[1:] != t[:-1] + 1)
    starts = np.flatnonzero(new_run)
    ends = np.append(starts[1:], k.size) - 1
    last_t = t[ends]
    n_steps = steps.size
    valid_to = np.where(last_t + 1 < n_steps, steps[np.minimum(last_t + 1, n_steps - 1)], OPEN)
    return k[starts], steps[t[starts]], valid_to.astype(np.int64)


def intervals_from_mask(mask: np.ndarray, steps: np.ndarray
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Intervals from a dense (n_checkpoints, n_keys) boolean mask; see above for the output."""
    mask = np.asarray(mask, dtype=bool)
    t, k = np.nonzero(mask)
    return intervals_from_occurrences(t, k, steps)


def holds_at(valid_from: np.ndarray, valid_to: np.ndarray, step: int) -> np.ndarray:
    """Boolean mask of intervals that contain ``step`` (half-open, OPEN = unbounded)."""
    valid_from = np.asarray(valid_from)
    valid_to = np.asarray(valid_to)
    return (valid_from <= step) & ((valid_to == OPEN) | (step < valid_to))
