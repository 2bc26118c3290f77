"""Pictures of a run: PNG (matplotlib) and self-contained interactive HTML (plotly) views."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from ontochron.errors import InputError
from ontochron.viz import causal, churn, hierarchy, phases, swimlane
from ontochron.viz.common import DEFAULT_TOP, save_html, save_png
from ontochron.viz.data import PlotData, from_ontology, load_analysis

PLOTS = {"swimlane": swimlane, "phases": phases, "churn": churn, "hierarchy": hierarchy,
         "causal": causal}
FORMATS = ("png", "html")


def render_all(data: PlotData, out_dir: str | os.PathLike[str],
               formats: Iterable[str] = FORMATS, top: int = DEFAULT_TOP,
               plots: Iterable[str] | None = None) -> list[Path]:
    """Write every plot (``<name>.png`` / ``<name>.html``) into ``out_dir``; return the paths."""
    fmts = list(formats)
    bad = [f for f in fmts if f not in FORMATS]
    if bad or not fmts:
        raise InputError(f"formats must be among {FORMATS}, got {fmts}")
    names = list(PLOTS) if plots is None else list(plots)
    unknown = [n for n in names if n not in PLOTS]
    if unknown:
        raise InputError(f"unknown plot(s) {unknown}; choose from {list(PLOTS)}")
    out = Path(out_dir)
    written = []
    for n in names:
        mod = PLOTS[n]
        if "png" in fmts:
            written.append(save_png(mod.png(data, top), out / f"{n}.png"))
        if "html" in fmts:
            written.append(save_html(mod.figure(data, top), out / f"{n}.html"))
    return written


__all__ = ["FORMATS", "PLOTS", "PlotData", "from_ontology", "load_analysis", "render_all"]
