"""Planted code stacks and hypotheses for the overlay tests (truth known by construction)."""

from __future__ import annotations

import numpy as np

from tests.synthetic import stack_from_dense

N_FEATURES = 20
STEPS = [0, 100, 200, 300, 400, 500]


def planted_codes(n: int = 160, seed: int = 0) -> np.ndarray:
    """One concept x feature code with planted relations:
    f1 -> f0 (dependency), f2 ~ f3 (dual), f4 == f5 (positively associated),
    f10 -> f9 (dependency), f11 -> f0, f12 -> f2 (dependencies), f7 never on,
    f8 on at random (unassigned), f13 independent noise, f14 -> f9 (unassigned)."""
    rng = np.random.default_rng(seed)
    x = np.zeros((n, N_FEATURES), dtype=np.int8)
    x[:, 0] = rng.random(n) < 0.5
    x[:, 1] = x[:, 0] & (rng.random(n) < 0.5)
    x[:, 2] = rng.random(n) < 0.5
    x[:, 3] = 1 - x[:, 2]
    x[:, 4] = rng.random(n) < 0.4
    x[:, 5] = x[:, 4]
    x[:, 9] = rng.random(n) < 0.5
    x[:, 10] = x[:, 9] & (rng.random(n) < 0.5)
    x[:, 11] = x[:, 0] & (rng.random(n) < 0.5)
    x[:, 12] = x[:, 2] & (rng.random(n) < 0.5)
    x[:, 8] = rng.random(n) < 0.3
    x[:, 13] = rng.random(n) < 0.3
    x[:, 14] = x[:, 9] & (rng.random(n) < 0.5)
    return x


def planted_stack(n: int = 160):
    """Six checkpoints: layer-1 features (0, 2, 3, 9) settle from step 0, the others are
    noise until step 200 and planted from then on, so the higher layer settles later."""
    final = planted_codes(n)
    rng = np.random.default_rng(1)
    names = [f"c{i}" for i in range(n)]
    frames = []
    for s in STEPS:
        x = final.copy()
        if s < 200:
            late = [1, 4, 5, 10, 11, 12, 8, 13, 14]
            x[:, late] = rng.random((n, len(late))) < 0.3
        frames.append((s, names, x))
    return stack_from_dense(frames)


#: partly right, partly wrong (expected verdict at the last step in the comment)
HYPOTHESIS = {"primitives": [
    {"name": "root", "feature": 0, "layer": 1, "definition": "the base"},
    {"name": "leaf", "feature": 1, "layer": 2, "depends_on": ["root"]},          # found
    {"name": "left", "feature": 2, "layer": 1, "dual": "right"},                  # found
    {"name": "right", "feature": 3, "layer": 1, "dual": "left"},
    {"name": "same_a", "feature": 4, "layer": 2, "dual": "same_b"},              # contradicted
    {"name": "same_b", "feature": 5, "layer": 2},
    {"name": "ghost", "feature": 7, "layer": 2},                                  # dead
    {"name": "mom", "feature": 10, "layer": 1},
    {"name": "kid", "feature": 9, "layer": 2, "depends_on": ["mom"]},            # reversed
    {"name": "u", "feature": 12, "layer": 2, "depends_on": ["root"]},            # swapped
    {"name": "w", "feature": 11, "layer": 2, "depends_on": ["left"]},            # swapped
    {"name": "noise", "feature": 13, "layer": 2, "depends_on": ["right"]},       # missing
    {"name": "stray", "feature": 15, "layer": 2, "depends_on": ["kid"]},         # move to 14
]}
