"""Phase dashboard: entropy, churn, utilization (and any other curves) with transitions marked."""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ontochron.viz.common import DEFAULT_TOP, active_counts, churn_matrix, empty_note
from ontochron.viz.data import PlotData

TITLE = "Phase dashboard"
PREFERRED = ("entropy", "churn", "utilization")


def curves(data: PlotData) -> dict[str, np.ndarray]:
    """Curves to show: the run's own (preferred names first), else ones derived from intervals."""
    own = {k: np.asarray(v, dtype=float) for k, v in data.curves.items()
           if np.asarray(v).shape == data.steps.shape}
    if not own and data.steps.size:
        own = {"active pairs": active_counts(data).astype(float),
               "churn": churn_matrix(data).sum(0).astype(float)}
    names = [k for k in PREFERRED if k in own] + sorted(k for k in own if k not in PREFERRED)
    return {k: own[k] for k in names[:8]}


def transitions(data: PlotData) -> np.ndarray:
    """Steps of detected phase transitions."""
    ev = data.events
    kinds = np.asarray(ev["kind"], dtype=object)
    return np.unique(np.asarray(ev["step"], dtype=np.int64)[kinds == "phase_transition"])


def png(data: PlotData, top: int = DEFAULT_TOP) -> Any:
    """Matplotlib dashboard: one stacked panel per curve."""
    cs = curves(data)
    tr = transitions(data)
    n = max(len(cs), 1)
    fig, axes = plt.subplots(n, 1, figsize=(10, 1.9 * n + 0.8), sharex=True, squeeze=False)
    if not cs:
        empty_note(axes[0, 0], "no curves")
    for ax, (name, v) in zip(axes[:, 0], cs.items(), strict=False):
        ax.plot(data.steps, v, marker="o", ms=2.5, lw=1.3)
        for s in tr:
            ax.axvline(s, color="crimson", ls="--", lw=0.9, alpha=0.8)
        ax.set_ylabel(name, fontsize=8)
        ax.grid(alpha=0.3)
    axes[-1, 0].set_xlabel("training step")
    axes[0, 0].set_title(f"{TITLE} ({tr.size} transitions)")
    return fig


def figure(data: PlotData, top: int = DEFAULT_TOP) -> go.Figure:
    """Plotly dashboard with shared x axis; transitions as dashed vertical lines."""
    cs = curves(data)
    tr = transitions(data)
    n = max(len(cs), 1)
    fig = make_subplots(rows=n, cols=1, shared_xaxes=True, subplot_titles=list(cs) or ["(none)"])
    for i, (name, v) in enumerate(cs.items(), start=1):
        fig.add_trace(go.Scatter(x=data.steps, y=v, name=name, mode="lines+markers"), i, 1)
    for s in tr:
        fig.add_vline(x=float(s), line_dash="dash", line_color="crimson")
    fig.update_layout(title=f"{TITLE} ({tr.size} transitions)", height=200 * n + 120,
                      showlegend=False, template="plotly_white")
    return fig
