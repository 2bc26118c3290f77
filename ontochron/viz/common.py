"""Shared plot helpers: headless matplotlib, self-contained plotly HTML, top-N selection."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # headless: no display needed, safe in CI and on servers

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from ontochron.errors import InputError  # noqa: E402
from ontochron.viz.data import PlotData  # noqa: E402

DEFAULT_TOP = 40


def check_top(top: int) -> int:
    """Validate a top-N limit."""
    if isinstance(top, bool) or not isinstance(top, (int, np.integer)) or top < 1:
        raise InputError(f"top must be a positive integer, got {top!r}")
    return int(top)


def top_keys(keys: np.ndarray, weights: np.ndarray, top: int) -> np.ndarray:
    """The ``top`` distinct keys with the largest summed weight (ties: smaller key first)."""
    if keys.size == 0:
        return np.zeros(0, dtype=keys.dtype)
    uniq, inv = np.unique(keys, return_inverse=True)
    total = np.bincount(inv, weights=weights.astype(float))
    order = np.lexsort((uniq, -total))[:top]
    return uniq[order]


def step_index(data: PlotData, values: np.ndarray) -> np.ndarray:
    """Index of each step value among ``data.steps`` (-1 when not a checkpoint)."""
    steps = data.steps
    v = np.asarray(values, dtype=np.int64)
    if steps.size == 0:
        return np.full(v.shape, -1, dtype=np.int64)
    i = np.clip(np.searchsorted(steps, v), 0, steps.size - 1)
    return np.where(steps[i] == v, i, -1)


def active_counts(data: PlotData) -> np.ndarray:
    """Active (concept, feature) pairs at each checkpoint, from ACTIVATES intervals."""
    a = data.activations
    starts = np.sort(np.asarray(a["valid_from"], dtype=np.int64))
    ends = np.sort(data.closed_to(a["valid_to"]))
    return (np.searchsorted(starts, data.steps, side="right")
            - np.searchsorted(ends, data.steps, side="right")).astype(np.int64)


def churn_matrix(data: PlotData) -> np.ndarray:
    """features x checkpoints count of ACTIVATES intervals starting or ending at each step.

    Starts at the first checkpoint are not churn. Dense n_features x n_steps (int32).
    """
    a = data.activations
    m = np.zeros((max(data.n_features, 1), max(data.steps.size, 1)), dtype=np.int32)
    f = np.asarray(a["feature"], dtype=np.int64)
    si = step_index(data, a["valid_from"])
    ok = si > 0
    np.add.at(m, (f[ok], si[ok]), 1)
    ei = step_index(data, a["valid_to"])
    ok = ei >= 0
    np.add.at(m, (f[ok], ei[ok]), 1)
    return m


def save_png(fig: Any, path: str | os.PathLike[str]) -> Path:
    """Write a matplotlib figure as PNG and close it."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(p, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return p


PLOTLY_JS = "plotly.min.js"
HTML_CONFIG = {"displaylogo": False, "responsive": True}


def write_plotly_js(directory: str | os.PathLike[str]) -> Path:
    """Write plotly.js (minified, ~4.8 MB) once into ``directory`` as ``plotly.min.js``.

    Every HTML plot and the report in that directory loads it by relative path, so the files
    stay small and still open offline; rewritten only when its bytes differ (a plotly upgrade).
    """
    from plotly.offline import get_plotlyjs

    p = Path(directory) / PLOTLY_JS
    js = get_plotlyjs().encode("utf-8")
    if not p.exists() or p.stat().st_size != len(js) or p.read_bytes() != js:
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(js)
    return p


def save_html(fig: Any, path: str | os.PathLike[str]) -> Path:
    """Write a plotly figure as an HTML file that loads ``plotly.min.js`` from its directory
    (written there by :func:`write_plotly_js`; no CDN, works offline)."""
    p = Path(path)
    write_plotly_js(p.parent)
    fig.write_html(p, include_plotlyjs=PLOTLY_JS, full_html=True, config=HTML_CONFIG)
    return p


def distinct_colors(n: int, base: tuple[str, ...] | list[str] = ()) -> list[str]:
    """``n`` distinct colours (hex): ``base`` when it has enough, else evenly spaced hues of
    the turbo map, interleaved so neighbours differ strongly; never a repeat."""
    if n <= len(base):
        return list(base[:max(n, 0)])
    from matplotlib import colormaps
    from matplotlib.colors import to_hex

    cmap = colormaps["turbo"]
    half = (n + 1) // 2
    order = [i // 2 + (half if i % 2 else 0) for i in range(n)]
    return [to_hex(cmap(0.05 + 0.9 * k / max(n - 1, 1))) for k in order]


def empty_note(ax: Any, text: str) -> None:
    """Mark an axis as having nothing to show."""
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="0.4")
    ax.set_xticks([])
    ax.set_yticks([])


def empty_figure_note(fig: Any, text: str) -> Any:
    """Say on a plotly figure why it has nothing to show (instead of blank axes)."""
    fig.update_layout(annotations=[{"text": text, "showarrow": False, "xref": "paper",
                                    "yref": "paper", "x": 0.5, "y": 0.5,
                                    "font": {"color": "#666"}}],
                      xaxis={"visible": False}, yaxis={"visible": False})
    return fig


def concept_label(data: PlotData, i: int) -> str:
    return data.concepts[i] if 0 <= i < len(data.concepts) else f"#{i}"
