"""The lineage of a run (docs/lineage.md): the lineage id (``feature``) of every dictionary
index at every checkpoint, the events between checkpoints and the drift along each lineage.

Minimal stand-in with exactly the fields of the agreed interface, so the graph side can be
built and tested; engineer i10a's version replaces this file at merge.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class LineageEvent:
    """One change between consecutive checkpoints (one row of lineage_events.csv)."""

    kind: str            # "birth" | "death" | "split" | "merge"
    step: int            # checkpoint at which the change is first seen
    source: int | None   # feature id at the previous checkpoint (None for a birth)
    target: int | None   # feature id at this checkpoint (None for a death)
    cosine: float | None  # decoder cosine of the link (split/merge), else None


@dataclass
class Lineage:
    """Per checkpoint t: ``features[t][i]`` is the lineage id of dictionary index i,
    ``cos_prev[t][i]`` its cosine to the predecessor on the lineage (NaN where the lineage
    starts), ``cos_first[t][i]`` its cosine to the lineage's first direction."""

    steps: np.ndarray
    features: list[np.ndarray]
    cos_prev: list[np.ndarray]
    cos_first: list[np.ndarray]
    events: list[LineageEvent]
    threshold: float
    null: dict[str, Any]
    n_lineages: int

    @classmethod
    def identity(cls, steps: Any, n_features: int) -> Lineage:
        """A fixed dictionary: feature == index at every checkpoint, births at the first step."""
        steps = np.asarray(steps, dtype=np.int64)
        idx = np.arange(n_features, dtype=np.int64)
        ones = np.ones(n_features)
        events = ([LineageEvent("birth", int(steps[0]), None, i, None)
                   for i in range(n_features)] if steps.size else [])
        prev = [np.full(n_features, np.nan)] + [ones.copy() for _ in range(steps.size - 1)]
        return cls(steps, [idx.copy() for _ in steps], prev[:steps.size],
                   [ones.copy() for _ in steps], events, float("nan"), {"kind": "identity"},
                   int(n_features))

    def index_matrix(self) -> np.ndarray:
        """(n_lineages, T) int64: the dictionary index of each lineage at each step, -1 absent."""
        out = np.full((self.n_lineages, len(self.features)), -1, dtype=np.int64)
        for t, feats in enumerate(self.features):
            out[np.asarray(feats, dtype=np.int64), t] = np.arange(len(feats), dtype=np.int64)
        return out
