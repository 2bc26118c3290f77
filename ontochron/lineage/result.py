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
    starts), ``cos_first[t][i]`` its cosine to the lineage's first direction (NaN for a dead
    latent), ``dead[t][i]`` whether the latent is dead there (None: none is)."""

    steps: np.ndarray
    features: list[np.ndarray]
    cos_prev: list[np.ndarray]
    cos_first: list[np.ndarray]
    events: list[LineageEvent]
    threshold: float
    null: dict[str, Any]
    n_lineages: int
    extra: dict[str, Any] = field(default_factory=dict)  # e.g. the matched "on"
    dead: list[np.ndarray] | None = None

    @classmethod
    def identity(cls, steps: Any, n_features: int) -> Lineage:
        """A fixed dictionary: feature == index at every checkpoint, no events."""
        steps = np.asarray(steps, dtype=np.int64)
        idx = np.arange(n_features, dtype=np.int64)
        ones = np.ones(n_features)
        prev = [np.full(n_features, np.nan)] + [ones.copy() for _ in range(steps.size - 1)]
        return cls(steps, [idx.copy() for _ in steps], prev[:steps.size],
                   [ones.copy() for _ in steps], [], float("nan"),
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

    def dead_mask(self, t: int) -> np.ndarray:
        """Whether each dictionary index is dead at checkpoint position ``t``."""
        n = np.shape(self.features[t])[0]
        return (np.zeros(n, bool) if self.dead is None
                else np.asarray(self.dead[t], dtype=bool))

    def dead_lineages(self) -> np.ndarray:
        """Sorted ids of the lineages of dead latents (dead wherever they exist)."""
        ids = [np.asarray(f)[self.dead_mask(t)] for t, f in enumerate(self.features)]
        return np.unique(np.concatenate(ids)) if ids else np.zeros(0, np.int64)

    def step_thresholds(self) -> np.ndarray:
        """(T,) the link threshold of the pair that ends at each checkpoint (NaN at the first
        one and where a pair has none): from ``null["pairs"]``."""
        by_step = {int(p["step"]): p.get("threshold") for p in self.null.get("pairs", [])
                   if isinstance(p, dict) and "step" in p}
        return np.array([np.nan if by_step.get(int(s)) is None else float(by_step[int(s)])
                         for s in self.steps], dtype=np.float64)

    def turned(self, t: int, thresholds: np.ndarray | None = None) -> np.ndarray:
        """Whether each dictionary index at checkpoint position ``t`` belongs to a lineage
        whose direction has turned away from its first one: ``cos_first`` below that pair's
        link threshold (it would no longer be linked to where it started). ``thresholds``:
        :meth:`step_thresholds`, when the caller has it already."""
        thr = (self.step_thresholds() if thresholds is None else thresholds)[t]
        cf = np.asarray(self.cos_first[t], dtype=np.float64)
        with np.errstate(invalid="ignore"):
            return np.isfinite(cf) & (cf < thr) if np.isfinite(thr) else np.zeros(cf.size, bool)

    def turned_lineages(self) -> dict[int, int]:
        """Lineage id -> the first step at which it has turned (see :meth:`turned`)."""
        out: dict[int, int] = {}
        thr = self.step_thresholds()
        for t in range(self.n_steps):
            for f in np.asarray(self.features[t])[self.turned(t, thr)].tolist():
                out.setdefault(int(f), int(self.steps[t]))
        return out

    def counts(self) -> dict[str, int]:
        """Rows per event kind plus the number of continue links."""
        c = Counter(e.kind for e in self.events)
        out = {k: int(c.get(k, 0)) for k in EVENT_KINDS}
        out["continue"] = int(sum(np.isfinite(p).sum() for p in self.cos_prev))
        return out

    def summary(self) -> dict[str, Any]:
        """The JSON object of summary.json (under ``"lineage"`` in an analysis): ``counts``
        (events after the first checkpoint and continues), ``initial`` (live latents at the
        first checkpoint: lineages that start there, not births), ``dead`` (dead latents per
        checkpoint and the ids of their lineages), ``turned`` (lineages whose direction
        turned away from their first one), ..."""
        counts = self.counts()
        splits = {(e.step, e.source) for e in self.events if e.kind == "split"}
        merges = {(e.step, e.target) for e in self.events if e.kind == "merge"}
        thr = None if not np.isfinite(self.threshold) else float(self.threshold)
        dead_at = [int(self.dead_mask(t).sum()) for t in range(self.n_steps)]
        initial = int(np.shape(self.features[0])[0]) - dead_at[0] if self.n_steps else 0
        return {"counts": counts, "initial": initial, "split_events": len(splits),
                "merge_events": len(merges), "lineages": int(self.n_lineages),
                "dead": {"latents": dead_at,
                         "lineages": [int(x) for x in self.dead_lineages()]},
                "turned": len(self.turned_lineages()), "threshold": thr, "null": self.null,
                "steps": [int(s) for s in self.steps],
                "latents": [int(f.size) for f in self.features], **self.extra}
