"""Pictures of a run: PNG (matplotlib) and self-contained interactive HTML (plotly) views."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from ontochron.errors import InputError
from ontochron.viz import causal, churn, drift, hierarchy, lineage, phases, swimlane
from ontochron.viz.common import DEFAULT_TOP, PLOTLY_JS, save_html, save_png
from ontochron.viz.data import (
    LineageData,
    PlotData,
    from_ontology,
    load_analysis,
    read_lineage_files,
)

PLOTS = {"swimlane": swimlane, "phases": phases, "churn": churn, "hierarchy": hierarchy,
         "causal": causal, "lineage": lineage, "drift": drift}
LINEAGE_PLOTS = ("lineage", "drift")   # drawn by default only when the run has lineage files
FORMATS = ("png", "html")


def default_plots(data: PlotData) -> list[str]:
    """The plots drawn when none are named: all, lineage ones only when lineages exist."""
    return [n for n in PLOTS if data.lineage is not None or n not in LINEAGE_PLOTS]


def render_all(data: PlotData, out_dir: str | os.PathLike[str],
               formats: Iterable[str] = FORMATS, top: int = DEFAULT_TOP,
               plots: Iterable[str] | None = None, *, concepts: list[str] | None = None,
               features: list[int] | None = None, label: str | None = None,
               color: str = "drift") -> list[Path]:
    """Write plots (``<name>.png`` / ``<name>.html``, the HTML sharing one ``plotly.min.js``)
    into ``out_dir``; return the paths. ``concepts``/``features``/``label`` pick the swimlane's
    lanes; ``color`` colours the lineage flow (drift, label or family)."""
    fmts = list(formats)
    bad = [f for f in fmts if f not in FORMATS]
    if bad or not fmts:
        raise InputError(f"formats must be among {FORMATS}, got {fmts}")
    names = default_plots(data) if plots is None else list(plots)
    unknown = [n for n in names if n not in PLOTS]
    if unknown:
        raise InputError(f"unknown plot(s) {unknown}; choose from {list(PLOTS)}")
    if color not in lineage.COLORS:
        raise InputError(f"lineage colour must be one of {lineage.COLORS}, got {color!r}")
    out = Path(out_dir)
    opts = {"swimlane": {"concepts": concepts, "features": features, "label": label},
            "lineage": {"color": color}}
    written = []
    for n in names:
        mod, kw = PLOTS[n], opts.get(n, {})
        if "png" in fmts:
            written.append(save_png(mod.png(data, top, **kw), out / f"{n}.png"))
        if "html" in fmts:
            written.append(save_html(mod.figure(data, top, **kw), out / f"{n}.html"))
    return written


__all__ = ["FORMATS", "LINEAGE_PLOTS", "PLOTLY_JS", "PLOTS", "LineageData", "PlotData",
           "default_plots", "from_ontology", "load_analysis", "read_lineage_files",
           "render_all"]
