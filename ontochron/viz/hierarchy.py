"""Hierarchy layers over time: how many features sit at each depth of the hierarchy per step."""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import plotly.graph_objects as go

from ontochron.ontology.intervals import holds_at
from ontochron.viz.common import DEFAULT_TOP, empty_figure_note, empty_note
from ontochron.viz.data import PlotData

TITLE = "Hierarchy layers"
MAX_DEPTH = 24  # deeper layers are lumped into the last one (and a cycle stops here)


def depths(parent: np.ndarray, child: np.ndarray, n: int, cap: int = MAX_DEPTH) -> np.ndarray:
    """Longest-path depth of every node (roots 0), capped at ``cap``, by edge relaxation.

    Each round is one vectorized pass over the edges; at most ``cap`` rounds, so a cycle
    (which a hierarchy should not have) ends at the cap instead of looping.
    """
    d = np.zeros(n, dtype=np.int64)
    for _ in range(min(n, cap)):
        new = d.copy()
        np.maximum.at(new, child, np.minimum(d[parent] + 1, cap))
        if np.array_equal(new, d):
            break
        d = new
    return d


def layers(data: PlotData) -> np.ndarray:
    """n_steps x n_layers count of features at each depth (only features in the hierarchy)."""
    r = data.relations
    m = np.asarray(r["kind"], dtype=object) == "hierarchy"
    a, b = np.asarray(r["a"])[m], np.asarray(r["b"])[m]
    vf, vt = np.asarray(r["valid_from"])[m], np.asarray(r["valid_to"])[m]
    if a.size == 0:
        return np.zeros((data.steps.size, 0), dtype=np.int64)
    nodes, inv = np.unique(np.concatenate([a, b]), return_inverse=True)
    pa, ch = inv[:a.size], inv[a.size:]
    rows = []
    for s in data.steps:  # one relaxation per checkpoint; checkpoints are few (hundreds)
        h = holds_at(vf, vt, int(s))
        if not h.any():
            rows.append(np.zeros(1, dtype=np.int64))
            continue
        d = depths(pa[h], ch[h], nodes.size)
        used = np.zeros(nodes.size, dtype=bool)
        used[pa[h]] = used[ch[h]] = True
        rows.append(np.bincount(d[used]))
    width = max(r.size for r in rows)
    out = np.zeros((data.steps.size, width), dtype=np.int64)
    for i, r in enumerate(rows):
        out[i, :r.size] = r
    return out


def caption(data: PlotData, top: int = DEFAULT_TOP) -> str:
    return ("How many features sit at each depth of the feature hierarchy (PARENT_OF: a "
            "feature whose concepts are a subset of another's) at every checkpoint. Look for "
            "when deeper layers appear: the code gaining compositional structure.")


def empty_reason(data: PlotData) -> str | None:
    """Why there is nothing to draw (None when there is)."""
    L = layers(data)
    if L.size and L.sum():
        return None
    t = data.summary.get("thresholds") if isinstance(data.summary.get("thresholds"), dict) \
        else {}
    if t.get("structure") is False or t.get("mode") == "reptimeline":
        return "No hierarchy: the structure detectors were not run for this run."
    sc = t.get("structure_config") if isinstance(t.get("structure_config"), dict) else {}
    how = (f" (dependency confidence ≥ {sc['dep_confidence']}, support ≥ "
           f"{sc.get('min_support', '?')} concepts)" if "dep_confidence" in sc else "")
    return ("No hierarchy: no PARENT_OF relation at any checkpoint, i.e. no feature's concepts "
            f"were a significant subset of another's{how}.")


def png(data: PlotData, top: int = DEFAULT_TOP, **_: Any) -> Any:
    """Matplotlib stacked area of features per layer."""
    L = layers(data)
    fig, ax = plt.subplots(figsize=(10, 3.6))
    if L.size == 0 or L.sum() == 0:
        empty_note(ax, empty_reason(data) or "no hierarchy relations")
    else:
        ax.stackplot(data.steps, L.T, labels=[f"layer {i}" for i in range(L.shape[1])],
                     alpha=0.85)
        ax.legend(loc="upper left", fontsize=7, ncol=min(L.shape[1], 6))
        ax.set_xlabel("training step")
        ax.set_ylabel("features")
    ax.set_title(f"{TITLE} ({L.shape[1]} layers)")
    return fig


def figure(data: PlotData, top: int = DEFAULT_TOP, **_: Any) -> go.Figure:
    """Plotly stacked area of features per layer."""
    L = layers(data)
    fig = go.Figure()
    for i in range(L.shape[1]):
        fig.add_trace(go.Scatter(x=data.steps, y=L[:, i], name=f"layer {i}", stackgroup="one",
                                 mode="lines"))
    fig.update_layout(title=f"{TITLE} ({L.shape[1]} layers)", xaxis_title="training step",
                      yaxis_title="features", height=380, template="plotly_white")
    reason = empty_reason(data)
    return empty_figure_note(fig, reason) if reason else fig
