"""What the overlay reads: an ``ontochron analyze`` directory or a stored run, as the plot
data (:mod:`ontochron.viz.data`, steps, concepts, ACTIVATES intervals) plus the dual and
dependency intervals with their native statistics and each feature's first stable step."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ontochron.csvcols import int_column, pick_column, read_columns
from ontochron.errors import InputError
from ontochron.graph.cypher import load_cypher
from ontochron.ontology.intervals import OPEN
from ontochron.viz.data import PlotData, load_analysis

STAT_COLUMNS = {"dual": ("phi", "p_value", "q_value", "support"),
                "dependency": ("confidence", "p_value", "q_value", "support")}
_STORE_QUERIES = {"dual": "viz/cypher/overlay_intervals_dual_stats",
                  "dependency": "viz/cypher/overlay_intervals_dependency_stats"}


@dataclass
class Intervals:
    """Feature-feature relation intervals of one kind (dependency: a = child, b = parent);
    statistics are those at the interval's last checkpoint, NaN where absent."""

    a: np.ndarray
    b: np.ndarray
    valid_from: np.ndarray
    valid_to: np.ndarray  # OPEN (-1) while it holds at the last checkpoint
    stats: dict[str, np.ndarray]

    def holding(self, step: int) -> np.ndarray:
        """Row mask of the intervals that contain ``step``."""
        return (self.valid_from <= step) & ((self.valid_to == OPEN) | (self.valid_to > step))


@dataclass
class OverlayData:
    """Everything the overlay needs about one run."""

    data: PlotData
    relations: dict[str, Intervals]
    first_stable_step: np.ndarray  # per feature, -1 = never stable
    structure: dict[str, Any]  # the analysis' structure thresholds and scope
    source: str

    @property
    def steps(self) -> np.ndarray:
        return self.data.steps

    @property
    def n_features(self) -> int:
        return self.data.n_features


def _floats(values: list[Any] | None, n: int) -> np.ndarray:
    if values is None:
        return np.full(n, np.nan)
    return np.array([np.nan if v in ("", None, "nan") else float(v) for v in values],
                    dtype=np.float64)


_DEFAULTS = {"alpha": 0.05, "min_support": 3, "dual_max_phi": -0.3, "dep_confidence": 0.9,
             "at": "all", "activity_strata": 16}


def _structure(summary: dict[str, Any]) -> dict[str, Any]:
    """The structure thresholds the analysis ran with (defaults where not recorded), and
    ``detected``: False when the analysis ran without structure (``--no-structure``)."""
    th = summary.get("thresholds") or {}
    sc = th.get("structure_config") if isinstance(th.get("structure_config"), dict) else {}
    out = {k: sc.get(k, v) for k, v in _DEFAULTS.items()}
    out["detected"] = bool(th.get("structure", True)) and summary.get("mode", "native") \
        != "reptimeline"
    return out


def _stable(values: list[Any] | None, n_features: int, index: np.ndarray | None = None
            ) -> np.ndarray:
    out = np.full(n_features, -1, dtype=np.int64)
    if values is None or index is None:
        return out
    v = np.array([-1 if x in ("", None) else int(float(x)) for x in values], dtype=np.int64)
    ok = (index >= 0) & (index < n_features)
    out[index[ok]] = v[ok]
    return out


def load_analysis_overlay(path: str | os.PathLike[str]) -> OverlayData:
    """Overlay data of an ``ontochron analyze --out DIR`` directory."""
    d = Path(path)
    data = load_analysis(d)
    rp = d / "relations.csv"
    rc = read_columns(rp)
    nr = len(next(iter(rc.values()), []))
    kinds = np.array(rc.get("kind", [""] * nr), dtype=object)
    # endpoints and intervals from the file's own rows (aligned with its statistics columns;
    # PlotData keeps its rows in its own order)
    vf = int_column(pick_column(rc, ("valid_from", "from"), rp), nr, rp)
    vt = int_column(pick_column(rc, ("valid_to", "to"), rp), nr, rp)
    rel = {}
    for kind, cols in STAT_COLUMNS.items():
        m = kinds == kind
        sel = np.flatnonzero(m)
        a, b = (int_column([rc.get(k, [""] * nr)[i] for i in sel.tolist()], sel.size, rp,
                           blank=-1) for k in ("a", "b"))
        rel[kind] = Intervals(
            a, b, vf[m], vt[m],
            {c: _floats(rc.get(c), nr)[sel] if c in rc else np.full(sel.size, np.nan)
             for c in cols})
    fp = d / "features.csv"
    fc = read_columns(fp)
    idx = (int_column(fc["feature"], len(fc["feature"]), fp) if "feature" in fc else None)
    stable = _stable(fc.get("first_stable_step"), data.n_features, idx)
    return OverlayData(data, rel, stable, _structure(data.summary), str(d))


def load_run_overlay(store: Any, run_id: str) -> OverlayData:
    """Overlay data of a run stored in the graph; InputError when there is none."""
    from ontochron.viz.graphdata import load_run

    data = load_run(store, run_id)
    if data is None:
        raise InputError(f"no run named {run_id!r} in the graph store")
    rel = {}
    for kind, q in _STORE_QUERIES.items():
        rows = store.run(load_cypher(q), run_id=run_id)
        n = len(rows)
        rel[kind] = Intervals(
            np.array([int(r["a"]) for r in rows], dtype=np.int64),
            np.array([int(r["b"]) for r in rows], dtype=np.int64),
            np.array([int(r["valid_from"]) for r in rows], dtype=np.int64),
            np.array([OPEN if r["valid_to"] is None else int(r["valid_to"]) for r in rows],
                     dtype=np.int64),
            {c: _floats([r.get(c) for r in rows], n) for c in STAT_COLUMNS[kind]})
    rows = store.run(load_cypher("viz/cypher/overlay_features"), run_id=run_id)
    idx = np.array([int(r["feature"]) for r in rows], dtype=np.int64)
    if idx.size:  # Run.n_features is absent when the run was written by write_ontology
        data.n_features = max(data.n_features, int(idx.max()) + 1)
    stable = _stable([r.get("first_stable_step") for r in rows], data.n_features, idx)
    head = store.run(load_cypher("viz/cypher/overlay_run_config"), run_id=run_id)
    summary = dict(data.summary)
    if head and head[0].get("config"):
        try:
            summary["thresholds"] = json.loads(head[0]["config"])
        except json.JSONDecodeError:
            pass
    if head and head[0].get("mode"):
        summary["mode"] = head[0]["mode"]
    return OverlayData(data, rel, stable, _structure(summary), f"run {run_id}")
