"""Swimlane: when each (concept, feature) pair is active, one lane per pair, top-N by time."""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import plotly.graph_objects as go

from ontochron.viz.common import DEFAULT_TOP, check_top, concept_label, empty_note
from ontochron.viz.data import PlotData

TITLE = "Concept x feature activity"


def lanes(data: PlotData, top: int = DEFAULT_TOP) -> dict[str, Any]:
    """Intervals of the ``top`` pairs with the longest total active time, lane per pair."""
    top = check_top(top)
    a = data.activations
    c = np.asarray(a["concept"], dtype=np.int64)
    f = np.asarray(a["feature"], dtype=np.int64)
    start = np.asarray(a["valid_from"], dtype=np.int64)
    end = data.closed_to(a["valid_to"])
    width = max(data.n_features, int(f.max()) + 1 if f.size else 1)
    key = c * width + f
    dur = (end - start).astype(float)
    uniq, inv = np.unique(key, return_inverse=True)
    total = np.bincount(inv, weights=dur) if key.size else np.zeros(0)
    chosen = uniq[np.lexsort((uniq, -total))[:top]] if key.size else uniq
    chosen = np.sort(chosen)  # group lanes by concept, then feature
    lane = np.searchsorted(chosen, key)
    keep = (lane < chosen.size) & (chosen[np.minimum(lane, max(chosen.size - 1, 0))] == key) \
        if chosen.size else np.zeros(key.size, dtype=bool)
    labels = [f"{concept_label(data, int(k // width))} · f{int(k % width)}" for k in chosen]
    return {"lane": lane[keep], "start": start[keep], "end": end[keep],
            "feature": f[keep], "labels": labels}


def png(data: PlotData, top: int = DEFAULT_TOP) -> Any:
    """Matplotlib swimlane figure."""
    d = lanes(data, top)
    n = len(d["labels"])
    fig, ax = plt.subplots(figsize=(10, max(2.5, 0.22 * n + 1.2)))
    if n == 0:
        empty_note(ax, "no ACTIVATES intervals")
    else:
        colors = plt.get_cmap("tab20")(d["feature"] % 20)
        ax.barh(d["lane"], d["end"] - d["start"], left=d["start"], height=0.8, color=colors)
        ax.set_yticks(range(n), d["labels"], fontsize=7)
        ax.invert_yaxis()
        ax.set_xlabel("training step")
        ax.set_xlim(data.steps.min() if data.steps.size else 0, data.end_step)
    ax.set_title(f"{TITLE} (top {n} pairs)")
    return fig


def figure(data: PlotData, top: int = DEFAULT_TOP) -> go.Figure:
    """Plotly swimlane figure (hover shows the interval)."""
    d = lanes(data, top)
    labels = d["labels"]
    y = [labels[i] for i in d["lane"]]
    fig = go.Figure(go.Bar(
        x=d["end"] - d["start"], base=d["start"], y=y, orientation="h",
        marker={"color": d["feature"] % 20, "colorscale": "Turbo"},
        customdata=np.stack([d["start"], d["end"]], axis=1) if len(y) else None,
        hovertemplate="%{y}<br>steps [%{customdata[0]}, %{customdata[1]})<extra></extra>"))
    fig.update_layout(title=f"{TITLE} (top {len(labels)} pairs)", xaxis_title="training step",
                      height=max(300, 18 * len(labels) + 120), template="plotly_white")
    fig.update_yaxes(categoryorder="array", categoryarray=labels[::-1])
    if data.steps.size:
        fig.update_xaxes(range=[int(data.steps[0]), data.end_step])
    return fig
