"""Drift heatmap: lineage x checkpoint decoder cosine to the previous and to the first direction."""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ontochron.viz.common import DEFAULT_TOP, check_top, empty_note
from ontochron.viz.data import LineageData, PlotData
from ontochron.viz.lineage import _CMAP, _NO_LINEAGE, _matrices

TITLE = "Direction drift of lineages"


def rows(lin: LineageData, top: int = DEFAULT_TOP) -> dict[str, Any]:
    """The ``top`` lineages that drift most (lowest cosine to their first direction), in id
    order, with their cos_prev / cos_first rows (NaN where absent)."""
    top = check_top(top)
    mats = _matrices(lin)
    cf = np.where(mats["present"], mats["cos_first"], np.nan)
    with np.errstate(all="ignore"):
        low = np.nan_to_num(np.nanmin(cf, axis=1), nan=1.0) if cf.size else np.zeros(0)
    life = mats["present"].sum(1)
    rows = np.sort(np.lexsort((np.arange(low.size), -life, low))[:top])
    return {"lineages": rows, "cos_prev": mats["cos_prev"][rows], "cos_first": cf[rows],
            "min_cos_first": low[rows], "n": int(low.size)}


def title(lin: LineageData, d: dict[str, Any]) -> str:
    return (f"{TITLE}: the {d['lineages'].size:,} most drifting of {d['n']:,} lineages "
            "(decoder cosine)")


def caption(data: PlotData, top: int = DEFAULT_TOP) -> str:
    if data.lineage is None:
        return _NO_LINEAGE
    return ("Left: cosine of a lineage's decoder direction to its direction at the previous "
            "checkpoint (how much it moved in one step); right: to its first direction (how far "
            "it has drifted in total). Rows are the lineages that drift most; blank cells: not "
            "alive. Look for vertical bands (many features moving at the same step) and rows "
            "that fade to dark on the right (a feature that kept its identity but changed "
            "meaning).")


def png(data: PlotData, top: int = DEFAULT_TOP, **_: Any) -> Any:
    """Matplotlib drift heatmap: cos to previous | cos to first."""
    lin = data.lineage
    if lin is None or lin.n_lineages == 0:
        fig, ax = plt.subplots(figsize=(10, 2.6))
        empty_note(ax, _NO_LINEAGE)
        ax.set_title(TITLE)
        return fig
    d = rows(lin, top)
    n = d["lineages"].size
    fig, axes = plt.subplots(1, 2, figsize=(11, max(2.8, 0.17 * n + 1.6)), sharey=True)
    finite = np.r_[d["cos_prev"][np.isfinite(d["cos_prev"])],
                   d["cos_first"][np.isfinite(d["cos_first"])]]
    vmin = float(min(finite.min(), 0.9)) if finite.size else 0.0
    cmap = plt.get_cmap(_CMAP).with_extremes(bad="#f1f2f6")
    steps = lin.steps
    ticks = np.unique(np.linspace(0, steps.size - 1, min(9, steps.size)).astype(int))
    im = None
    for ax, key, name in ((axes[0], "cos_prev", "cosine to previous checkpoint"),
                          (axes[1], "cos_first", "cosine to first direction")):
        im = ax.imshow(d[key], aspect="auto", cmap=cmap, vmin=vmin, vmax=1.0,
                       interpolation="nearest")
        ax.set_title(name, fontsize=9)
        ax.set_xticks(ticks, [str(int(steps[t])) for t in ticks], fontsize=7)
        ax.set_xlabel("training step")
    every = max(1, n // 40)
    axes[0].set_yticks(range(0, n, every), [f"L{d['lineages'][i]}" for i in range(0, n, every)],
                       fontsize=6)
    axes[0].set_ylabel("lineage")
    fig.colorbar(im, ax=axes, label="decoder cosine", fraction=0.03, pad=0.01)
    fig.suptitle(title(lin, d), fontsize=10)
    return fig


def figure(data: PlotData, top: int = DEFAULT_TOP, **_: Any) -> go.Figure:
    """Plotly drift heatmap, two panels sharing rows and colour scale."""
    lin = data.lineage
    if lin is None or lin.n_lineages == 0:
        fig = go.Figure()
        fig.update_layout(title=TITLE, template="plotly_white", height=300, annotations=[
            {"text": _NO_LINEAGE, "showarrow": False, "xref": "paper", "yref": "paper",
             "x": 0.5, "y": 0.5}])
        return fig
    d = rows(lin, top)
    finite = np.r_[d["cos_prev"][np.isfinite(d["cos_prev"])],
                   d["cos_first"][np.isfinite(d["cos_first"])]]
    vmin = float(min(finite.min(), 0.9)) if finite.size else 0.0
    fig = make_subplots(rows=1, cols=2, shared_yaxes=True, horizontal_spacing=0.04,
                        subplot_titles=["cosine to previous checkpoint",
                                        "cosine to first direction"])
    y = [f"L{i}" for i in d["lineages"]]
    x = [str(int(s)) for s in lin.steps]
    for col, key in ((1, "cos_prev"), (2, "cos_first")):
        z = np.round(d[key], 4)
        fig.add_trace(go.Heatmap(z=np.where(np.isfinite(z), z, None).tolist(), x=x, y=y,
                                 zmin=vmin, zmax=1.0, colorscale=_CMAP.capitalize(),
                                 showscale=col == 2, colorbar={"title": "cosine"},
                                 hovertemplate="%{y} at step %{x}: %{z:.3f}<extra></extra>"),
                      1, col)
    fig.update_xaxes(title_text="training step", type="category")
    fig.update_yaxes(autorange="reversed")
    fig.update_layout(title={"text": title(lin, d), "font": {"size": 13}},
                      height=max(340, 15 * len(y) + 160), template="plotly_white")
    return fig
