"""The lineage of a run: lineage id (``feature``) of every dictionary index at every
checkpoint, the events between checkpoints and the drift along each lineage."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np

EVENT_KINDS = ("birth", "death", "split", "merge")


@dataclass(frozen=True)
class LineageEvent:
    """One change between consecutive checkpoints (one row of lineage_events.csv)."""

    kind: str            # "birth" | "death" | "split" | "merge"
    step: int            # checkpoint at which the change is first seen
    source: int | None   # feature id at the previous checkpoint (None for a birth)
    target: int | None   # feature id at this checkpoint (None for a death)
    cosine: float | None = None  # decoder cosine of the link (split/merge), else None


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
    extra: dict[str, Any] = field(default_factory=dict)  # e.g. the matched "on"

    @classmethod
    def identity(cls, steps: Any, n_features: int) -> Lineage:
        """A fixed dictionary: feature == index at every checkpoint, births at the first step."""
        steps = np.asarray(steps, dtype=np.int64)
        idx = np.arange(n_features, dtype=np.int64)
        ones = np.ones(n_features)
        events = ([LineageEvent("birth", int(steps[0]), None, i) for i in range(n_features)]
                  if steps.size else [])
        prev = [np.full(n_features, np.nan)] + [ones.copy() for _ in range(steps.size - 1)]
        return cls(steps, [idx.copy() for _ in steps], prev[:steps.size],
                   [ones.copy() for _ in steps], events, float("nan"),
                   {"kind": "identity"}, int(n_features))

    @property
    def n_steps(self) -> int:
        return int(self.steps.size)

    def index_matrix(self) -> np.ndarray:
        """(n_lineages, T) int64: the dictionary index of each lineage at each step, -1 absent."""
        out = np.full((self.n_lineages, self.n_steps), -1, dtype=np.int64)
        for t, feats in enumerate(self.features):
            out[feats, t] = np.arange(feats.size, dtype=np.int64)
        return out

    def counts(self) -> dict[str, int]:
        """Rows per event kind plus the number of continue links."""
        c = Counter(e.kind for e in self.events)
        out = {k: int(c.get(k, 0)) for k in EVENT_KINDS}
        out["continue"] = int(sum(np.isfinite(p).sum() for p in self.cos_prev))
        return out

    def summary(self) -> dict[str, Any]:
        """The JSON object of summary.json (under ``"lineage"`` in an analysis)."""
        counts = self.counts()
        splits = {(e.step, e.source) for e in self.events if e.kind == "split"}
        merges = {(e.step, e.target) for e in self.events if e.kind == "merge"}
        thr = None if not np.isfinite(self.threshold) else float(self.threshold)
        return {"counts": counts, "split_events": len(splits), "merge_events": len(merges),
                "lineages": int(self.n_lineages), "threshold": thr, "null": self.null,
                "steps": [int(s) for s in self.steps],
                "latents": [int(f.size) for f in self.features], **self.extra}
