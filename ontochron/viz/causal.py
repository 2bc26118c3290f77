"""Causal-effect heatmap: intervention effect per feature and step, causal ones marked."""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import plotly.graph_objects as go

from ontochron.viz.common import DEFAULT_TOP, check_top, empty_note
from ontochron.viz.data import PlotData

TITLE = "Causal effect of features"


def grid(data: PlotData, top: int = DEFAULT_TOP) -> dict[str, Any]:
    """features x steps effect matrix (NaN = untested) and causal flags for the top features."""
    top = check_top(top)
    rows = [r for r in data.causal if r.get("feature") is not None and r.get("step") is not None]
    if not rows:
        return {"features": np.zeros(0, int), "steps": np.zeros(0, int),
                "effect": np.zeros((0, 0)), "causal": np.zeros((0, 0), bool)}
    f = np.array([int(r["feature"]) for r in rows])
    s = np.array([int(r["step"]) for r in rows])
    e = np.array([np.nan if r.get("effect") is None else float(r["effect"]) for r in rows])
    c = np.array([bool(r.get("causal")) for r in rows])
    feats, fi = np.unique(f, return_inverse=True)
    steps, si = np.unique(s, return_inverse=True)
    eff = np.full((feats.size, steps.size), np.nan)
    cau = np.zeros((feats.size, steps.size), dtype=bool)
    eff[fi, si] = e
    cau[fi, si] = c
    score = np.nan_to_num(np.abs(eff)).max(1) + cau.any(1) * 1e12  # causal first, then |effect|
    keep = np.sort(np.lexsort((feats, -score))[:top])
    return {"features": feats[keep], "steps": steps, "effect": eff[keep], "causal": cau[keep]}


def png(data: PlotData, top: int = DEFAULT_TOP) -> Any:
    """Matplotlib heatmap; causal cells carry a star."""
    g = grid(data, top)
    nf = g["features"].size
    fig, ax = plt.subplots(figsize=(max(5, 0.5 * g["steps"].size + 3), max(2.5, 0.25 * nf + 1.3)))
    if nf == 0:
        empty_note(ax, "no causal tests (run `ontochron verify`)")
    else:
        lim = np.nanmax(np.abs(g["effect"])) if np.isfinite(g["effect"]).any() else 1.0
        cmap = plt.get_cmap("RdBu_r").with_extremes(bad="#e9e9ee")  # untested cells grey
        im = ax.imshow(g["effect"], aspect="auto", cmap=cmap, vmin=-lim, vmax=lim,
                       interpolation="nearest")
        yy, xx = np.nonzero(g["causal"])
        ax.scatter(xx, yy, marker="*", color="black", s=30)
        ax.set_yticks(range(nf), [f"f{f}" for f in g["features"]], fontsize=7)
        ax.set_xticks(range(g["steps"].size), [str(s) for s in g["steps"]], fontsize=7)
        ax.set_xlabel("training step   (* = causal, q <= alpha)")
        fig.colorbar(im, ax=ax, label="effect (own - other)")
    ax.set_title(f"{TITLE} ({int(g['causal'].any(1).sum())} causal of {nf} shown)")
    return fig


def figure(data: PlotData, top: int = DEFAULT_TOP) -> go.Figure:
    """Plotly heatmap; causal cells are labelled with a star."""
    g = grid(data, top)
    text = np.where(g["causal"], "★", "")
    fig = go.Figure(go.Heatmap(
        z=g["effect"], x=[str(s) for s in g["steps"]], y=[f"f{f}" for f in g["features"]],
        text=text, texttemplate="%{text}", colorscale="RdBu", reversescale=True, zmid=0,
        colorbar={"title": "effect"},
        hovertemplate="%{y} @ step %{x}<br>effect %{z:.4g} %{text}<extra></extra>"))
    nf = g["features"].size
    fig.update_layout(title=f"{TITLE} ({int(g['causal'].any(1).sum())} causal of {nf} shown)",
                      xaxis_title="training step", xaxis_type="category",
                      height=max(300, 20 * nf + 140), template="plotly_white")
    return fig
