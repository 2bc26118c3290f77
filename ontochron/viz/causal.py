"""Causal-effect heatmap: intervention effect per feature and step, causal ones marked."""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import plotly.graph_objects as go
from matplotlib.patches import Patch

from ontochron.viz.common import DEFAULT_TOP, check_top, empty_figure_note, empty_note
from ontochron.viz.data import PlotData

TITLE = "Causal effect of features"


def grid(data: PlotData, top: int = DEFAULT_TOP) -> dict[str, Any]:
    """features x steps effect matrix (NaN = untested) and causal flags for the top features."""
    top = check_top(top)
    rows = [r for r in data.causal if r.get("feature") is not None and r.get("step") is not None]
    if not rows:
        return {"features": np.zeros(0, int), "steps": np.zeros(0, int),
                "effect": np.zeros((0, 0)), "causal": np.zeros((0, 0), bool),
                "lo": np.zeros((0, 0)), "hi": np.zeros((0, 0)), "n_tested": 0}
    f = np.array([int(r["feature"]) for r in rows])
    s = np.array([int(r["step"]) for r in rows])
    e = np.array([np.nan if r.get("effect") is None else float(r["effect"]) for r in rows])
    c = np.array([bool(r.get("causal")) for r in rows])

    def col(k: str) -> np.ndarray:
        return np.array([np.nan if r.get(k) is None else float(r[k]) for r in rows])
    feats, fi = np.unique(f, return_inverse=True)
    steps, si = np.unique(s, return_inverse=True)
    eff = np.full((feats.size, steps.size), np.nan)
    cau = np.zeros((feats.size, steps.size), dtype=bool)
    eff[fi, si] = e
    cau[fi, si] = c
    lo, hi = np.full_like(eff, np.nan), np.full_like(eff, np.nan)
    lo[fi, si], hi[fi, si] = col("ci_low"), col("ci_high")
    score = np.nan_to_num(np.abs(eff)).max(1) + cau.any(1) * 1e12  # causal first, then |effect|
    keep = np.sort(np.lexsort((feats, -score))[:top])
    return {"features": feats[keep], "steps": steps, "effect": eff[keep], "causal": cau[keep],
            "lo": lo[keep], "hi": hi[keep], "n_tested": int(feats.size)}


def empty_reason(data: PlotData) -> str | None:
    """Why there is nothing to draw (None when there is)."""
    if any(r.get("feature") is not None and r.get("step") is not None for r in data.causal):
        return None
    return ("No causal tests in this run: `ontochron verify ... --run NAME` (or `--summary "
            "summary.json`) adds them.")


def title(g: dict[str, Any]) -> str:
    nf = g["features"].size
    at = f" at step {int(g['steps'][0])}" if g["steps"].size == 1 else ""
    return (f"{TITLE}{at}: {int(g['causal'].any(1).sum())} causal of {nf} shown "
            f"({g['n_tested']} tested)")


def caption(data: PlotData, top: int = DEFAULT_TOP) -> str:
    return ("Intervention effect of each feature (own-concept loss change minus other-concept "
            "change, from `ontochron verify`); causal features (q ≤ alpha after "
            "Benjamini-Hochberg) are dark / starred, whiskers are the bootstrap CI. Look for "
            "features that carry concepts in the graph but have no effect: correlational only.")


def _bar_png(g: dict[str, Any]) -> Any:
    e, c = g["effect"][:, 0], g["causal"][:, 0]
    order = np.argsort(-np.nan_to_num(e, nan=-np.inf), kind="stable")
    e, c, f = e[order], c[order], g["features"][order]
    lo, hi = g["lo"][order, 0], g["hi"][order, 0]
    fig, ax = plt.subplots(figsize=(max(6, 0.24 * f.size + 2), 3.6))
    x = np.arange(f.size)
    ax.bar(x, e, color=np.where(c, "#2b6cb0", "#b8c2d6"), width=0.75)
    ok = np.isfinite(lo) & np.isfinite(hi)
    if ok.any():
        ax.errorbar(x[ok], e[ok], yerr=[e[ok] - lo[ok], hi[ok] - e[ok]], fmt="none",
                    ecolor="0.3", lw=0.8, capsize=1.5)
    ax.axhline(0, color="0.3", lw=0.8)
    ax.set_xticks(x, [f"f{v}" for v in f], fontsize=7, rotation=90)
    ax.set_xlabel("feature (sorted by effect)")
    ax.set_ylabel("effect (own − other)")
    ax.legend(handles=[Patch(color="#2b6cb0", label="causal (q ≤ alpha)"),
                       Patch(color="#b8c2d6", label="not causal")], fontsize=7, frameon=False)
    ax.grid(axis="y", alpha=0.3)
    return fig


def png(data: PlotData, top: int = DEFAULT_TOP) -> Any:
    """Matplotlib heatmap; causal cells carry a star."""
    g = grid(data, top)
    nf = g["features"].size
    if g["steps"].size == 1 and nf:
        fig = _bar_png(g)
        fig.axes[0].set_title(title(g), fontsize=10)
        return fig
    fig, ax = plt.subplots(figsize=(max(5, 0.5 * g["steps"].size + 3), max(2.5, 0.25 * nf + 1.3)))
    if nf == 0:
        empty_note(ax, empty_reason(data) or "no causal tests")
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
    ax.set_title(title(g), fontsize=10)
    return fig


def figure(data: PlotData, top: int = DEFAULT_TOP) -> go.Figure:
    """Plotly heatmap; causal cells are labelled with a star."""
    g = grid(data, top)
    if not g["features"].size:
        fig = go.Figure()
        fig.update_layout(title=title(g), height=300, template="plotly_white")
        return empty_figure_note(fig, empty_reason(data) or "no causal tests")
    if g["steps"].size == 1 and g["features"].size:
        e, c = g["effect"][:, 0], g["causal"][:, 0]
        order = np.argsort(-np.nan_to_num(e, nan=-np.inf), kind="stable")
        lo, hi = g["lo"][order, 0], g["hi"][order, 0]
        e, c = e[order], c[order]
        names = [f"f{v}" for v in g["features"][order]]
        fig = go.Figure(go.Bar(
            x=names, y=e, marker={"color": np.where(c, "#2b6cb0", "#b8c2d6").tolist()},
            error_y={"type": "data", "symmetric": False, "array": np.nan_to_num(hi - e),
                     "arrayminus": np.nan_to_num(e - lo), "thickness": 1, "width": 2},
            customdata=np.where(c, "causal", "not causal"),
            hovertemplate="%{x}: effect %{y:.4g} (%{customdata})<extra></extra>"))
        fig.update_layout(title=title(g), xaxis_title="feature (sorted by effect)",
                          yaxis_title="effect (own − other)", xaxis_type="category",
                          height=420, template="plotly_white")
        return fig
    text = np.where(g["causal"], "★", "")
    fig = go.Figure(go.Heatmap(
        z=g["effect"], x=[str(s) for s in g["steps"]], y=[f"f{f}" for f in g["features"]],
        text=text, texttemplate="%{text}", colorscale="RdBu", reversescale=True, zmid=0,
        colorbar={"title": "effect"},
        hovertemplate="%{y} @ step %{x}<br>effect %{z:.4g} %{text}<extra></extra>"))
    nf = g["features"].size
    fig.update_layout(title=title(g),
                      xaxis_title="training step", xaxis_type="category",
                      height=max(300, 20 * nf + 140), template="plotly_white")
    return fig
