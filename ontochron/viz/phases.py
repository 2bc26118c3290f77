"""Phase dashboard: entropy, churn, utilization (and any other curves) with transitions marked."""

from __future__ import annotations

import json
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
    """Distinct steps of detected phase transitions."""
    ev = data.events
    m = np.asarray(ev["kind"], dtype=object) == "phase_transition"
    return np.unique(np.asarray(ev["step"], dtype=np.int64)[m])


def by_metric(data: PlotData) -> dict[str, np.ndarray]:
    """Transition steps per metric. One transition = one ``phase_transition`` event (a metric
    at a step), the same count as summary.json ``phase_transitions``; "" = no metric named."""
    ev = data.events
    m = np.asarray(ev["kind"], dtype=object) == "phase_transition"
    steps = np.asarray(ev["step"], dtype=np.int64)[m]
    out: dict[str, list[int]] = {}
    for s, det in zip(steps, np.asarray(ev["detail"], dtype=object)[m], strict=True):
        try:
            metric = str(json.loads(det or "{}").get("metric", ""))
        except (json.JSONDecodeError, AttributeError):
            metric = ""
        out.setdefault(metric, []).append(int(s))
    return {k: np.array(sorted(v), dtype=np.int64) for k, v in out.items()}


def title(data: PlotData) -> str:
    bm = by_metric(data)
    n = sum(v.size for v in bm.values())
    at = transitions(data).size
    return (f"{TITLE}: {n} phase transition{'s' if n != 1 else ''} "
            f"(metric × step) at {at} step{'s' if at != 1 else ''}")


def caption(data: PlotData, top: int = DEFAULT_TOP) -> str:
    return ("One panel per curve against training step; a dashed red line marks a phase "
            "transition of that curve (a jump between consecutive checkpoints far outside the "
            "curve's usual step-to-step change). Look for steps where several curves jump "
            "together: that is when the code reorganised.")


def _marks(data: PlotData, name: str, bm: dict[str, np.ndarray]) -> np.ndarray:
    """Transitions drawn on a curve's panel: its own, plus unattributed ones."""
    own = bm.get(name, np.zeros(0, np.int64))
    if name not in bm and not (set(bm) & set(data.curves)):
        own = transitions(data)   # events name no shown curve: mark all steps everywhere
    return np.unique(np.concatenate([own, bm.get("", np.zeros(0, np.int64))]))


def png(data: PlotData, top: int = DEFAULT_TOP) -> Any:
    """Matplotlib dashboard: one stacked panel per curve."""
    cs = curves(data)
    bm = by_metric(data)
    n = max(len(cs), 1)
    fig, axes = plt.subplots(n, 1, figsize=(10, 1.7 * n + 0.9), sharex=True, squeeze=False)
    if not cs:
        empty_note(axes[0, 0], "no curves")
    for ax, (name, v) in zip(axes[:, 0], cs.items(), strict=False):
        ax.plot(data.steps, v, marker="o", ms=2.5, lw=1.3, color="#3b5ba5")
        marks = _marks(data, name, bm)
        for s in marks:
            ax.axvline(s, color="crimson", ls="--", lw=0.9, alpha=0.8)
        ax.set_ylabel(name, fontsize=8)
        ax.text(0.995, 0.06, f"{marks.size} transition{'s' if marks.size != 1 else ''}",
                transform=ax.transAxes, ha="right", fontsize=7, color="crimson")
        ax.grid(alpha=0.3)
    axes[-1, 0].set_xlabel("training step")
    axes[0, 0].set_title(title(data), fontsize=10)
    return fig


def figure(data: PlotData, top: int = DEFAULT_TOP) -> go.Figure:
    """Plotly dashboard with shared x axis; transitions as dashed vertical lines."""
    cs = curves(data)
    bm = by_metric(data)
    n = max(len(cs), 1)
    marks = {name: _marks(data, name, bm) for name in cs}
    fig = make_subplots(rows=n, cols=1, shared_xaxes=True, vertical_spacing=0.06,
                        subplot_titles=[f"{k} ({marks[k].size} transitions)" for k in cs]
                        or ["(no curves)"])
    for i, (name, v) in enumerate(cs.items(), start=1):
        fig.add_trace(go.Scatter(x=data.steps, y=v, name=name, mode="lines+markers",
                                 line={"color": "#3b5ba5"},
                                 hovertemplate=f"{name} %{{y:.4g}} at step %{{x}}<extra></extra>"),
                      i, 1)
        for s in marks[name]:
            fig.add_vline(x=float(s), line_dash="dash", line_color="crimson", row=i, col=1)
    fig.update_xaxes(title_text="training step", row=n, col=1)
    fig.update_layout(title=title(data), height=170 * n + 140, showlegend=False,
                      template="plotly_white")
    return fig
