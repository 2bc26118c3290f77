"""Typed, columnar results of ontology detection (what ``analyze`` returns).

Tables are dicts of equal-length numpy arrays so that millions of rows (births at
5,000 concepts x 16,384 features) stay compact; names are resolved only when written out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ontochron.ontology.intervals import OPEN
from ontochron.ontology.power import PowerReport

EVENT_KINDS = ("birth", "death", "connection_form", "connection_break", "phase_transition")
RELATION_KINDS = ("connection", "dual", "dependency", "triad", "hierarchy")


@dataclass
class Events:
    """Lifecycle events. ``concept``/``feature`` are indices (-1 when not applicable);
    ``detail`` holds a short JSON string per row (metric, delta, direction, partner...)."""

    kind: np.ndarray      # str (object) array, one of EVENT_KINDS
    step: np.ndarray      # int64
    concept: np.ndarray   # int64 index into Ontology.concepts, -1 if none
    feature: np.ndarray   # int64 feature index, -1 if none
    detail: np.ndarray    # str (object) array, JSON text or ""

    def __len__(self) -> int:
        return int(self.step.shape[0])

    @classmethod
    def empty(cls) -> Events:
        z = np.zeros(0, dtype=np.int64)
        return cls(np.zeros(0, dtype=object), z, z.copy(), z.copy(), np.zeros(0, dtype=object))

    @classmethod
    def concat(cls, parts: list[Events]) -> Events:
        parts = [p for p in parts if len(p)]
        if not parts:
            return cls.empty()
        return cls(*(np.concatenate([getattr(p, f) for p in parts])
                     for f in ("kind", "step", "concept", "feature", "detail")))

    def count(self, kind: str) -> int:
        return int(np.count_nonzero(self.kind == kind))


@dataclass
class Relations:
    """One row per validity interval of a relation.

    ``a``, ``b``, ``c`` are concept indices for ``connection`` and feature indices otherwise
    (-1 when unused). For ``dependency`` a is the child and b the parent; for ``triad`` a and
    b are the AND inputs and c the output; for ``hierarchy`` a is the parent and b the child.
    ``valid_to`` is OPEN (-1) while the relation still holds at the last checkpoint.
    ``stats`` maps statistic name -> float array (NaN where not applicable).
    """

    kind: np.ndarray
    a: np.ndarray
    b: np.ndarray
    c: np.ndarray
    valid_from: np.ndarray
    valid_to: np.ndarray
    stats: dict[str, np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.a.shape[0])

    @classmethod
    def empty(cls, stat_names: tuple[str, ...] = ()) -> Relations:
        z = np.zeros(0, dtype=np.int64)
        return cls(np.zeros(0, dtype=object), z, z.copy(), z.copy(), z.copy(), z.copy(),
                   {n: np.zeros(0) for n in stat_names})

    @classmethod
    def concat(cls, parts: list[Relations]) -> Relations:
        parts = [p for p in parts if len(p)]
        if not parts:
            return cls.empty()
        names: list[str] = []
        for p in parts:
            names += [n for n in p.stats if n not in names]
        stats = {n: np.concatenate([p.stats.get(n, np.full(len(p), np.nan)) for p in parts])
                 for n in names}
        return cls(*(np.concatenate([getattr(p, f) for p in parts])
                     for f in ("kind", "a", "b", "c", "valid_from", "valid_to")), stats)

    def of_kind(self, kind: str) -> Relations:
        m = self.kind == kind
        return Relations(self.kind[m], self.a[m], self.b[m], self.c[m], self.valid_from[m],
                         self.valid_to[m], {k: v[m] for k, v in self.stats.items()})

    def open_mask(self) -> np.ndarray:
        return self.valid_to == OPEN


@dataclass
class Ontology:
    """Everything detected over a run: events, interval relations, curves, per-feature stats.

    ``activations`` are the ACTIVATES intervals (concept index, feature index, valid_from,
    valid_to) during which a concept's code has the feature on.
    ``summary`` holds the integer counts written to summary.json plus run metadata.
    ``power`` (native mode) says per test family and checkpoint how many tests there were,
    the smallest attainable p-value and how many discoveries BH could make
    (:class:`ontochron.ontology.power.PowerReport`; ``power.notes`` when a family could
    find nothing).
    """

    steps: np.ndarray
    concepts: list[str]
    n_features: int
    events: Events
    relations: Relations
    activations: Relations
    curves: dict[str, np.ndarray]
    feature_stats: dict[str, np.ndarray]
    summary: dict[str, Any]
    config: dict[str, Any]
    power: PowerReport | None = None
