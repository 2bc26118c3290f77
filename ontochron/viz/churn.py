"""Churn heatmap: how often each feature switches on/off for concepts at each checkpoint."""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import plotly.graph_objects as go

from ontochron.viz.common import (
    DEFAULT_TOP,
    check_top,
    churn_matrix,
    empty_figure_note,
    empty_note,
)
from ontochron.viz.data import PlotData

TITLE = "Churn per feature"


def matrix(data: PlotData, top: int = DEFAULT_TOP) -> tuple[np.ndarray, np.ndarray]:
    """(feature ids, top x n_steps churn counts) for the ``top`` features by total churn."""
    top = check_top(top)
    m = churn_matrix(data)
    total = m.sum(1)
    feats = np.lexsort((np.arange(total.size), -total))[:top]
    feats = np.sort(feats[total[feats] > 0])
    return feats, m[feats]


def caption(data: PlotData, top: int = DEFAULT_TOP) -> str:
    return ("How many concepts switch each feature on or off at each checkpoint (darker: more), "
            f"for the {top} features that switch most. Look for columns (a step where many "
            "features reorganise at once) and rows that never settle (unstable features).")


def empty_reason(data: PlotData) -> str | None:
    """Why there is nothing to draw (None when there is)."""
    return None if matrix(data, DEFAULT_TOP)[0].size else (
        "No churn: no concept switched a feature on or off between checkpoints.")


def png(data: PlotData, top: int = DEFAULT_TOP) -> Any:
    """Matplotlib heatmap, features as rows."""
    feats, m = matrix(data, top)
    fig, ax = plt.subplots(figsize=(10, max(2.5, 0.2 * feats.size + 1.3)))
    if feats.size == 0:
        empty_note(ax, empty_reason(data) or "no churn")
    else:
        im = ax.imshow(m, aspect="auto", cmap="magma_r", interpolation="nearest")
        ax.set_yticks(range(feats.size), [f"f{f}" for f in feats], fontsize=7)
        ticks = np.unique(np.linspace(0, data.steps.size - 1, min(10, data.steps.size)).astype(int))
        ax.set_xticks(ticks, [str(data.steps[t]) for t in ticks], fontsize=7)
        ax.set_xlabel("training step")
        fig.colorbar(im, ax=ax, label="on/off switches")
    ax.set_title(f"{TITLE} (top {feats.size} features)")
    return fig


def figure(data: PlotData, top: int = DEFAULT_TOP) -> go.Figure:
    """Plotly heatmap."""
    feats, m = matrix(data, top)
    fig = go.Figure(go.Heatmap(z=m, x=[str(s) for s in data.steps],
                               y=[f"f{f}" for f in feats], colorscale="Magma", reversescale=True,
                               colorbar={"title": "switches"}))
    fig.update_layout(title=f"{TITLE} (top {feats.size} features)", xaxis_title="training step",
                      xaxis_type="category", height=max(300, 18 * feats.size + 140),
                      template="plotly_white")
    return empty_figure_note(fig, empty_reason(data) or "") if not feats.size else fig
