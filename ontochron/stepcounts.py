"""What changed at each checkpoint of an analysed run, as counts per step: the numbers behind
``watch``'s one line per checkpoint, its alerts and the TensorBoard scalars."""

from __future__ import annotations

from typing import Any

import numpy as np

from ontochron.ingest.snapshot import CodeStack
from ontochron.lineage.result import Lineage
from ontochron.ontology.result import Ontology

#: (name, Ontology event kind) of the event counts per step.
EVENT_COUNTS = (("births", "birth"), ("deaths", "death"),
                ("connections_formed", "connection_form"),
                ("connections_broken", "connection_break"),
                ("phase_transitions", "phase_transition"))
#: counts only a run with a lineage (per-checkpoint dictionaries) has
LINEAGE_COUNTS = ("lineage_births", "lineage_deaths", "lineage_splits", "lineage_merges",
                  "mean_drift")


def _per_step(steps: np.ndarray, at: np.ndarray) -> np.ndarray:
    """How many of the steps ``at`` fall on each of ``steps`` (sorted)."""
    at = np.asarray(at, dtype=np.int64)
    idx = np.searchsorted(steps, at)
    ok = (idx < steps.size) & (steps[np.minimum(idx, steps.size - 1)] == at)
    return np.bincount(idx[ok], minlength=steps.size).astype(np.float64)


def active_features(stack: CodeStack) -> np.ndarray:
    """Features on for at least one concept, per checkpoint."""
    return np.array([np.unique(c.indices).size for c in stack.codes], dtype=np.float64)


def concept_feature_counts(stack: CodeStack, t: int) -> np.ndarray:
    """Features on per concept at checkpoint ``t`` (0 for absent concepts)."""
    return np.diff(stack.codes[t].indptr).astype(np.int64)


def lineage_counts(lineage: Lineage, steps: np.ndarray) -> dict[str, np.ndarray]:
    """Lineage births, deaths, split and merge events (one per parent / merged lineage, as the
    graph's Split and Merge nodes) and the mean drift ``1 - cos_prev`` of the features that
    continue a lineage, per step (NaN where none continues)."""
    kinds: dict[str, list[int]] = {"birth": [], "death": [], "split": [], "merge": []}
    seen: set[tuple[str, int, int]] = set()
    for e in lineage.events:
        if e.kind in ("split", "merge"):
            one = e.source if e.kind == "split" else e.target
            key = (e.kind, int(e.step), -1 if one is None else int(one))
            if key in seen:
                continue
            seen.add(key)
        kinds[e.kind].append(int(e.step))
    out = {f"lineage_{k}s": _per_step(steps, np.asarray(v, dtype=np.int64))
           for k, v in kinds.items()}
    drift = np.full(steps.size, np.nan)
    pos = {int(s): i for i, s in enumerate(steps.tolist())}
    for s, cos in zip(np.asarray(lineage.steps).tolist(), lineage.cos_prev, strict=True):
        c = np.asarray(cos, dtype=np.float64)
        c = c[np.isfinite(c)]
        if c.size and int(s) in pos:
            drift[pos[int(s)]] = float(np.mean(1.0 - c))
    out["mean_drift"] = drift
    return out


def step_counts(ont: Ontology, stack: CodeStack,
                lineage: Lineage | None = None) -> dict[str, np.ndarray]:
    """name -> (n_steps,) float array aligned with ``ont.steps``: births, deaths, connections
    formed and broken, phase transitions, active features; with a lineage also lineage
    births, deaths, splits, merges and mean drift."""
    steps = np.asarray(ont.steps, dtype=np.int64)
    ev = ont.events
    out: dict[str, np.ndarray] = {name: _per_step(steps, ev.step[ev.kind == kind])
                                  for name, kind in EVENT_COUNTS}
    out["active_features"] = active_features(stack)
    if lineage is not None:
        out.update(lineage_counts(lineage, steps))
    return out


def at_step(counts: dict[str, np.ndarray], steps: np.ndarray, step: int) -> dict[str, Any]:
    """The counts of one step as plain numbers (ints where whole; None for NaN)."""
    i = int(np.searchsorted(steps, step))
    out: dict[str, Any] = {}
    for name, arr in counts.items():
        v = float(arr[i])
        out[name] = None if not np.isfinite(v) else int(v) if v.is_integer() and \
            name != "mean_drift" else v
    return out
