"""One orchestration path for ``ontochron overlay`` and the Python API."""

from __future__ import annotations

import os
from typing import Any

from ontochron.overlay.analysis import run_overlay
from ontochron.overlay.hypothesis import Hypothesis, load_hypothesis
from ontochron.overlay.result import OverlayResult
from ontochron.overlay.source import load_analysis_overlay, load_run_overlay


def overlay(hypothesis: str | os.PathLike[str] | Hypothesis, *,
            analysis: str | os.PathLike[str] | None = None, run: str | None = None,
            store: Any = None, at: int | None = None, write: bool = False) -> OverlayResult:
    """Hold ``hypothesis`` against an analysis directory or a stored run (``store``: an open
    GraphStore, a URI or None for the configured one) at step ``at`` (default the last);
    ``write=True`` also writes the Primitive nodes and expected relations into the graph."""
    if (analysis is None) == (run is None):
        from ontochron.errors import InputError

        raise InputError("give exactly one of analysis=DIR or run=NAME")
    if analysis is not None:
        od = load_analysis_overlay(analysis)
        hyp = _hyp(hypothesis, od.n_features)
        return run_overlay(hyp, od, at)
    from ontochron.graph.store import GraphStore, StoreConfig, open_store

    own = not isinstance(store, GraphStore)
    st = (store if not own else open_store(config=store) if isinstance(store, StoreConfig)
          else open_store(store))
    try:
        od = load_run_overlay(st, run)
        hyp = _hyp(hypothesis, od.n_features)
        res = run_overlay(hyp, od, at)
        if write:
            from ontochron.overlay.graph import write_overlay

            write_overlay(st, run, res)
        return res
    finally:
        if own:
            st.close()


def _hyp(h: str | os.PathLike[str] | Hypothesis, n_features: int) -> Hypothesis:
    if isinstance(h, Hypothesis):
        from ontochron.overlay.hypothesis import parse_hypothesis

        raw = {"primitives": [{"name": p.name, "feature": p.feature, "layer": p.layer,
                               "depends_on": list(p.depends_on), "dual": p.dual,
                               "definition": p.definition} for p in h.primitives]}
        return parse_hypothesis(raw, h.source, n_features)
    return load_hypothesis(h, n_features)
