"""Phase transitions: checkpoints where a curve jumps far more than it usually moves."""

from __future__ import annotations

import json

import numpy as np

from ontochron.ontology.result import Events

MAD_SCALE = 1.4826  # makes the MAD a consistent estimate of sigma for normal data
RESOLUTION_RTOL = 1e-6  # a change of exactly one resolution step, up to float rounding


def transition_mask(curve: np.ndarray, *, rule: str = "mad", z: float = 3.5,
                    sigma: float = 2.0, min_delta: float = 1e-9, resolution: float = 0.0
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For one curve: (mask, delta, score) over its T-1 consecutive differences.

    ``rule="mad"``: score = (|d| - median|d|) / max(1.4826 * MAD|d|, floor), transition if
    score > z; ``rule="mean_std"``: score = (|d| - mean|d|) / max(std|d|, floor), transition
    if score > sigma. ``floor`` = max(``resolution``, ``min_delta``): a curve cannot measure a
    spread finer than its own step (``resolution``: the change one concept or one bit makes,
    :func:`ontochron.ontology.curves.curve_resolution`), so a curve that never moves but by
    one bit has no infinite score. A transition also needs |d| > ``min_delta`` and |d| larger
    than ``resolution`` (by more than rounding) and a finite score (with a zero floor and a
    zero spread the score of a jump is +inf and it is not a transition). Non-finite deltas
    never count. Fewer than 3 checkpoints: no transitions.
    """
    curve = np.asarray(curve, dtype=np.float64)
    delta = np.diff(curve)
    absd = np.abs(delta)
    score = np.zeros(delta.shape)
    mask = np.zeros(delta.shape, dtype=bool)
    ok = np.isfinite(absd)
    if curve.size < 3 or ok.sum() < 2:
        return mask, delta, score
    vals = absd[ok]
    if rule == "mad":
        centre = np.median(vals)
        spread = MAD_SCALE * np.median(np.abs(vals - centre))
        cut = z
    elif rule == "mean_std":
        centre, spread, cut = vals.mean(), vals.std(), sigma
    else:
        raise ValueError(f"unknown phase rule {rule!r}")
    spread = max(float(spread), float(resolution), float(min_delta))
    with np.errstate(divide="ignore", invalid="ignore"):
        score[ok] = np.where(spread > 0, (vals - centre) / spread,
                             np.where(vals > centre, np.inf, 0.0))
    big = (vals > min_delta) & (vals > resolution * (1.0 + RESOLUTION_RTOL))
    mask[ok] = (score[ok] > cut) & np.isfinite(score[ok]) & big
    return mask, delta, score


def phase_events(steps: np.ndarray, curves: dict[str, np.ndarray], *, rule: str = "mad",
                 z: float = 3.5, sigma: float = 2.0, min_delta: float = 1e-9,
                 resolution: dict[str, float] | None = None) -> Events:
    """``phase_transition`` events (step = the checkpoint after the jump), one per curve and
    jump, detail JSON {metric, delta, direction, z}; ``resolution`` maps a curve name to its
    resolution (:func:`transition_mask`; 0 for a curve not in it)."""
    steps = np.asarray(steps, dtype=np.int64)
    rows: list[tuple[int, str]] = []
    for name, curve in curves.items():
        mask, delta, score = transition_mask(curve, rule=rule, z=z, sigma=sigma,
                                             min_delta=min_delta,
                                             resolution=(resolution or {}).get(name, 0.0))
        for i in np.flatnonzero(mask):  # a handful of transitions per curve
            detail = {"metric": name, "delta": float(delta[i]),
                      "direction": "up" if delta[i] > 0 else "down", "z": float(score[i])}
            rows.append((int(steps[i + 1]), json.dumps(detail)))
    rows.sort(key=lambda r: r[0])
    n = len(rows)
    return Events(np.full(n, "phase_transition", dtype=object),
                  np.array([r[0] for r in rows], dtype=np.int64),
                  np.full(n, -1, dtype=np.int64), np.full(n, -1, dtype=np.int64),
                  np.array([r[1] for r in rows], dtype=object))
