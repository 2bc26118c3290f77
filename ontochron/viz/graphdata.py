"""Plot data of a run stored in the graph (schema: docs/schema.md), for ``--run NAME``."""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from ontochron.graph.cypher import load_cypher
from ontochron.ontology.intervals import OPEN
from ontochron.viz.data import PlotData
from ontochron.viz.graphlineage import load_lineage

# Read statements: fixed text in ontochron/viz/cypher/*.cypher, every value a parameter.
_RUN = "viz/cypher/plot_run"
_CHECKPOINTS = "viz/cypher/plot_checkpoints"
_CONCEPTS = "viz/cypher/plot_concepts"
_INTERVALS = {k: f"viz/cypher/plot_intervals_{k}"
              for k in ("activates", "connection", "hierarchy", "dependency", "dual")}
_EVENTS = {k: f"viz/cypher/plot_events_{k}" for k in
           ("birth", "death", "connection_form", "connection_break", "phase_transition")}
_CAUSAL = "viz/cypher/plot_causal"
_LABELS = "viz/cypher/plot_feature_labels"
_CHECKPOINT_KEYS = {"run_id", "step", "ordinal", "n_concepts"}


def _ints(rows: list[dict[str, Any]], key: str, blank: int) -> np.ndarray:
    return np.array([blank if r[key] is None else int(r[key]) for r in rows], dtype=np.int64)


def _detail(value: Any) -> str:
    """An event's detail as an analysis directory's events.csv holds it: a phase transition's
    {metric, delta, direction, z} and a connection event's {b, shared} as JSON (key order of
    ontology.phases / ontology.connections), else the text."""
    if isinstance(value, dict) and "metric" in value:
        return json.dumps({k: value.get(k) for k in ("metric", "delta", "direction", "z")})
    if isinstance(value, dict):   # a connection event: partner concept, shared features
        return f'{{"b": {json.dumps(value.get("b"))}, "shared": {json.dumps(value.get("shared"))}}}'
    return str(value or "")


def _json(text: Any) -> dict[str, Any]:
    try:
        got = json.loads(text) if isinstance(text, str) else {}
    except json.JSONDecodeError:
        return {}
    return got if isinstance(got, dict) else {}


def load_run(store: Any, run_id: str) -> PlotData | None:
    """Read one stored run into :class:`PlotData`; None when the run does not exist."""
    head = store.run(load_cypher(_RUN), run_id=run_id)
    if not head:
        return None
    h = head[0]
    summary = _json(h.get("summary"))
    config = _json(h.get("config"))
    if config and not isinstance(summary.get("thresholds"), dict):
        summary["thresholds"] = config   # what an analysis directory's summary.json holds
    ks = sorted((r["p"] for r in store.run(load_cypher(_CHECKPOINTS), run_id=run_id)),
                key=lambda p: p["step"])
    steps = np.array([int(p["step"]) for p in ks] or list(h.get("steps") or []), dtype=np.int64)
    names = sorted({k for p in ks for k in p} - _CHECKPOINT_KEYS)
    curves = {n: np.array([float(p.get(n, np.nan)) if isinstance(p.get(n), (int, float))
                           else np.nan for p in ks]) for n in names
              if any(isinstance(p.get(n), (int, float)) for p in ks)}
    crow = sorted(store.run(load_cypher(_CONCEPTS), run_id=run_id), key=lambda r: r["index"])
    concepts = [r["name"] for r in crow]
    cindex = {n: i for i, n in enumerate(concepts)}

    tables = {}
    for kind, q in _INTERVALS.items():
        rows = store.run(load_cypher(q), run_id=run_id)
        tables[kind] = {"kind": np.full(len(rows), kind, dtype=object),
                        "a": _ints(rows, "a", -1), "b": _ints(rows, "b", -1),
                        "c": np.full(len(rows), -1, dtype=np.int64),
                        "valid_from": _ints(rows, "valid_from", 0),
                        "valid_to": _ints(rows, "valid_to", OPEN)}
    act = tables.pop("activates")
    rel = {k: np.concatenate([t[k] for t in tables.values()]) for k in act}

    ev: dict[str, list[Any]] = {"kind": [], "step": [], "concept": [], "feature": [],
                                "detail": []}
    for kind, q in _EVENTS.items():
        for r in store.run(load_cypher(q), run_id=run_id):
            ev["kind"].append(kind)
            ev["step"].append(int(r["step"]))
            ev["concept"].append(cindex.get(r["concept"], -1))
            ev["feature"].append(-1 if r["feature"] is None else int(r["feature"]))
            ev["detail"].append(_detail(r["detail"]))
    events = {"kind": np.array(ev["kind"], dtype=object),
              "step": np.array(ev["step"], dtype=np.int64),
              "concept": np.array(ev["concept"], dtype=np.int64),
              "feature": np.array(ev["feature"], dtype=np.int64),
              "detail": np.array(ev["detail"], dtype=object)}
    causal = [r["p"] for r in store.run(load_cypher(_CAUSAL), run_id=run_id)]
    activations = {"concept": act["a"], "feature": act["b"], "valid_from": act["valid_from"],
                   "valid_to": act["valid_to"]}
    labels = {int(r["index"]): str(r["label"])
              for r in store.run(load_cypher(_LABELS), run_id=run_id) if r["index"] is not None}
    lineage = load_lineage(store, run_id, np.asarray(h.get("steps") or steps, dtype=np.int64),
                           h.get("lineage"))
    if lineage is not None:
        summary.setdefault("lineage", lineage.summary)
    return PlotData(steps, concepts, int(h.get("n_features") or 0), activations, events, rel,
                    curves, summary, causal, name=str(h.get("name") or run_id),
                    lineage=lineage, feature_labels=labels)
