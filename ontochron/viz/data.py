"""What the plots need, loaded from an :class:`Ontology` or an ``ontochron analyze`` directory.

:class:`PlotData` is a small columnar view (numpy arrays keyed by column name) so every plot
works the same whether the run came from memory or from ``summary.json`` + CSV files.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ontochron.csvcols import int_column, pick_column, read_columns
from ontochron.errors import InputError
from ontochron.lineage.tables import LineageTables, read_lineage_tables
from ontochron.ontology.intervals import OPEN
from ontochron.ontology.result import Ontology

Table = dict[str, np.ndarray]

# The plots read the lineage package's tables (one parser of the lineage files); the name
# LineageData is kept for the plot modules.
LineageData = LineageTables


@dataclass
class PlotData:
    """Run data for plotting. Interval tables have int64 ``valid_from``/``valid_to`` (OPEN=-1).

    ``activations``: concept, feature, valid_from, valid_to (ACTIVATES intervals).
    ``events``: kind, step, concept, feature, detail. ``relations``: kind, a, b, c, valid_from,
    valid_to. ``curves``: name -> values aligned with ``steps``. ``causal``: test rows.
    """

    steps: np.ndarray
    concepts: list[str]
    n_features: int
    activations: Table
    events: Table
    relations: Table
    curves: dict[str, np.ndarray] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)
    causal: list[dict[str, Any]] = field(default_factory=list)
    name: str = "run"
    lineage: LineageData | None = None
    feature_labels: dict[int, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # One row order whatever the source (files keep the writer's order, a graph store
        # none): the pictures, which break ties by row order, are then the same from both.
        self.activations = _sorted(self.activations, ("feature", "concept", "valid_from",
                                                      "valid_to"))
        self.relations = _sorted(self.relations, ("kind", "a", "b", "c", "valid_from",
                                                  "valid_to"))
        self.events = _sorted(self.events, ("step", "kind", "concept", "feature", "detail"))

    @property
    def end_step(self) -> int:
        """A step just past the last checkpoint, used to draw OPEN intervals."""
        s = self.steps
        if s.size == 0:
            return 1
        gap = int(np.median(np.diff(s))) if s.size > 1 else 1
        return int(s[-1]) + max(gap, 1)

    def closed_to(self, valid_to: np.ndarray) -> np.ndarray:
        """``valid_to`` with OPEN replaced by :attr:`end_step`."""
        v = np.asarray(valid_to, dtype=np.int64)
        return np.where(v == OPEN, self.end_step, v)


def _sorted(table: Table, keys: tuple[str, ...]) -> Table:
    """``table`` with rows sorted by ``keys`` (first key most significant; O(n log n))."""
    have = [k for k in keys if k in table]
    n = len(next(iter(table.values()), [])) if table else 0
    if n < 2 or not have:
        return table
    cols = [np.asarray(table[k]) for k in reversed(have)]
    order = np.lexsort([c.astype(str) if c.dtype == object else c for c in cols])
    return {k: np.asarray(v)[order] for k, v in table.items()}


def from_ontology(ont: Ontology, causal: list[dict[str, Any]] | None = None,
                  name: str = "run", lineage: LineageData | None = None) -> PlotData:
    """Plot data of an in-memory ontology (``causal`` rows default to summary['causal'])."""
    ev, rel, act = ont.events, ont.relations, ont.activations
    summary = dict(ont.summary)
    rows = causal if causal is not None else list(summary.get("causal", {}).get("tests", []))
    return PlotData(
        np.asarray(ont.steps, dtype=np.int64), list(ont.concepts), int(ont.n_features),
        {"concept": act.a, "feature": act.b, "valid_from": act.valid_from,
         "valid_to": act.valid_to},
        {"kind": ev.kind, "step": ev.step, "concept": ev.concept, "feature": ev.feature,
         "detail": ev.detail},
        {"kind": rel.kind, "a": rel.a, "b": rel.b, "c": rel.c, "valid_from": rel.valid_from,
         "valid_to": rel.valid_to},
        {k: np.asarray(v, dtype=float) for k, v in ont.curves.items()}, summary, rows, name,
        lineage)


def _concept_index(values: list[str] | None, concepts: list[str], n: int) -> np.ndarray:
    """Concept names -> indices ("" -> -1), appending unseen names to ``concepts`` in order
    of first appearance."""
    if values is None:
        return np.full(n, -1, dtype=np.int64)
    arr = np.asarray(values, dtype=object)
    if arr.size == 0:
        return np.zeros(0, dtype=np.int64)
    uniq, first, inv = np.unique(arr.astype(str), return_index=True, return_inverse=True)
    index = {c: i for i, c in enumerate(concepts)}
    for name in uniq[np.argsort(first)]:  # one entry per distinct name, not per row
        if name != "":
            index.setdefault(str(name), len(index))
    concepts[:] = list(index)
    lookup = np.array([index.get(str(u), -1) for u in uniq], dtype=np.int64)
    return lookup[inv.ravel()]


def read_lineage_files(path: str | os.PathLike[str],
                       summary: dict[str, Any] | None = None) -> LineageData | None:
    """The lineage files of a directory (None when lineage.csv is absent), read by
    :func:`ontochron.lineage.tables.read_lineage_tables`. ``summary``: the lineage summary
    (else summary.json's "lineage" key, or the whole summary.json of ``ontochron lineage``)."""
    d = Path(path)
    if not (d / "lineage.csv").exists():
        return None
    if summary is None:
        from ontochron.jsonfiles import read_summary

        whole = read_summary(d / "summary.json")
        summary = whole.get("lineage", whole if "counts" in whole else {})
    return read_lineage_tables(d, summary)


def load_analysis(path: str | os.PathLike[str]) -> PlotData:
    """Read an ``ontochron analyze`` output directory (summary.json + CSV tables)."""
    d = Path(path)
    if not d.is_dir():
        raise InputError("not an analysis directory", d)
    from ontochron.jsonfiles import read_summary

    summary = read_summary(d / "summary.json")
    concepts: list[str] = [str(c) for c in summary.get("concepts", [])]

    cp = d / "curves.csv"
    cc = read_columns(cp)
    steps = int_column(pick_column(cc, ("step",), cp, []), len(cc.get("step", [])), cp)
    curves = {k: np.array([float(x) if x not in ("", "nan") else np.nan for x in v])
              for k, v in cc.items() if k != "step"}

    ap = d / "activations.csv"
    ac = read_columns(ap)
    na = len(next(iter(ac.values()), []))
    act = {"concept": _concept_index(pick_column(ac, ("concept", "concept_name"), ap), concepts, na),
           "feature": int_column(pick_column(ac, ("feature", "feature_index"), ap), na, ap),
           "valid_from": int_column(pick_column(ac, ("valid_from", "from"), ap), na, ap),
           "valid_to": int_column(pick_column(ac, ("valid_to", "to"), ap), na, ap)}

    ep = d / "events.csv"
    ec = read_columns(ep)
    ne = len(next(iter(ec.values()), []))
    events = {"kind": np.array(pick_column(ec, ("kind", "event"), ep) or [], dtype=object),
              "step": int_column(pick_column(ec, ("step",), ep), ne, ep),
              "concept": _concept_index(pick_column(ec, ("concept",), ep, None) if "concept" in ec
                                        else None, concepts, ne),
              "feature": int_column(ec.get("feature"), ne, ep, blank=-1),
              "detail": np.array(ec.get("detail", [""] * ne), dtype=object)}

    rp = d / "relations.csv"
    rc = read_columns(rp)
    nr = len(next(iter(rc.values()), []))
    kinds = np.array(pick_column(rc, ("kind", "relation"), rp) or [], dtype=object)
    ab = {k: rc.get(k, [""] * nr) for k in ("a", "b", "c")}
    # connection rows name concepts; every other kind names features
    conn = kinds == "connection"
    rel = {"kind": kinds}
    for k in ("a", "b", "c"):
        col = np.full(nr, -1, dtype=np.int64)
        vals = ab[k]
        if nr:
            ci = _concept_index([v if m else "" for v, m in zip(vals, conn, strict=True)],
                                concepts, nr)
            fi = int_column([v if not m else "" for v, m in zip(vals, conn, strict=True)], nr, rp,
                       blank=-1)
            col = np.where(conn, ci, fi)
        rel[k] = col
    rel["valid_from"] = int_column(pick_column(rc, ("valid_from", "from"), rp), nr, rp)
    rel["valid_to"] = int_column(pick_column(rc, ("valid_to", "to"), rp), nr, rp)

    if steps.size == 0:
        steps = np.array(sorted(summary.get("steps", [])) or
                         np.unique(np.concatenate([act["valid_from"], events["step"]])),
                         dtype=np.int64)
    n_features = int(summary.get("n_features", 0) or
                     (int(act["feature"].max()) + 1 if na else 0))
    causal = list(summary.get("causal", {}).get("tests", []))
    lineage = read_lineage_files(d, summary.get("lineage") if isinstance(
        summary.get("lineage"), dict) else None)
    return PlotData(steps, concepts, n_features, act, events, rel, curves, summary, causal,
                    name=str(summary.get("run_id", summary.get("run", d.name))),
                    lineage=lineage)
