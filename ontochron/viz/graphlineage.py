"""The lineage of a stored run as the plots' lineage tables (the same columns the lineage
files give, docs/schema.md "Feature lineage"), so ``--run`` draws what ``--analysis`` draws."""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from ontochron.graph.cypher import load_cypher
from ontochron.lineage.tables import LineageTables

_FEATURES = "viz/cypher/plot_lineage_features"
_LINKS = "viz/cypher/plot_lineage_links"
_KINDS = {"SPLITS_INTO": "split", "MERGES_INTO": "merge"}
#: Stored in the per-checkpoint cosine lists where there is no value (graph.lineage_write).
_NO_COSINE = -2.0


def _cos(values: Any) -> np.ndarray:
    a = np.asarray(values, dtype=np.float64)
    return np.where(a <= _NO_COSINE, np.nan, a)


def _table(cols: dict[str, list[Any]], order_by: tuple[str, ...], floats: tuple[str, ...] = ()
           ) -> dict[str, np.ndarray]:
    """Columns as arrays (ints, floats for ``floats``, objects for ``kind``), rows sorted by
    ``order_by`` (first key most significant), as the lineage files are written."""
    out: dict[str, np.ndarray] = {}
    for k, v in cols.items():
        out[k] = (np.array(v, dtype=object) if k == "kind" else
                  np.array(v, dtype=np.float64) if k in floats else np.array(v, dtype=np.int64))
    n = len(next(iter(cols.values()), []))
    if n:
        keys = [out[k] if k != "kind" else out[k].astype(str) for k in reversed(order_by)]
        order = np.lexsort(keys)
        out = {k: v[order] for k, v in out.items()}
    return out


def load_lineage(store: Any, run_id: str, steps: np.ndarray, lineage_json: str | None
                 ) -> LineageTables | None:
    """Lineage tables of stored run ``run_id`` (None for a fixed dictionary: no
    ``Run.lineage``). ``steps``: the run's checkpoint steps (``Run.steps``)."""
    if not lineage_json:
        return None
    try:
        summary = json.loads(lineage_json)
    except json.JSONDecodeError:
        summary = {}
    steps = np.asarray(steps, dtype=np.int64)
    members: dict[str, list[Any]] = {"step": [], "index": [], "feature": []}
    drift: dict[str, list[Any]] = {"step": [], "feature": [], "index": [], "cos_prev": [],
                                   "cos_first": []}
    events: dict[str, list[Any]] = {"kind": [], "step": [], "source": [], "target": []}
    for r in store.run(load_cypher(_FEATURES), run_id=run_id):
        f = int(r["feature"])
        idx = np.asarray(r["dict_index"] or [], dtype=np.int64)[:steps.size]
        t = np.flatnonzero(idx >= 0)
        members["step"].extend(steps[t].tolist())
        members["index"].extend(idx[t].tolist())
        members["feature"].extend([f] * t.size)
        drift["step"].extend(steps[t].tolist())
        drift["feature"].extend([f] * t.size)
        drift["index"].extend(idx[t].tolist())
        drift["cos_prev"].extend(_cos(r["drift_prev"] or [])[t].tolist())
        drift["cos_first"].extend(_cos(r["drift_first"] or [])[t].tolist())
        if r["origin"] == "birth" and r["first_step"] is not None:
            events["kind"].append("birth")
            events["step"].append(int(r["first_step"]))
            events["source"].append(-1)
            events["target"].append(f)
        if r["fate"] == "death" and r["end_step"] is not None:
            events["kind"].append("death")
            events["step"].append(int(r["end_step"]))
            events["source"].append(f)
            events["target"].append(-1)
    links: dict[str, list[Any]] = {"kind": [], "step": [], "source": [], "target": [],
                                   "cosine": []}
    for r in store.run(load_cypher(_LINKS), run_id=run_id):
        kind = _KINDS[r["type"]]
        for table in (links, events):
            table["kind"].append(kind)
            table["step"].append(int(r["step"]))
            table["source"].append(int(r["source"]))
            table["target"].append(int(r["target"]))
        links["cosine"].append(np.nan if r["cosine"] is None else float(r["cosine"]))
    m = _table(members, ("step", "index"))
    return LineageTables(np.unique(m["step"]) if m["step"].size else steps, m,
                         _table(events, ("step", "kind", "source", "target")),
                         _table(drift, ("step", "feature"), ("cos_prev", "cos_first")),
                         summary, _table(links, ("step", "kind", "source", "target"),
                                         ("cosine",)))
