"""Write the overlay into the graph: run-scoped ``Primitive`` nodes linked to their Feature
and the expected relations as status intervals (docs/schema.md, "Overlay")."""

from __future__ import annotations

from typing import Any

import numpy as np

from ontochron.graph.cypher import load_cypher
from ontochron.graph.schema import fork_keys
from ontochron.ontology.intervals import OPEN
from ontochron.overlay.result import OverlayResult

BATCH = 20_000


def _rows(res: OverlayResult, kind: str) -> list[dict[str, Any]]:
    hs = [h for h in res.history if h.kind == kind]
    if not hs:
        return []
    vf = np.array([h.valid_from for h in hs], dtype=np.int64)
    vt = np.array([h.valid_to for h in hs], dtype=np.int64)
    forks = fork_keys(vf, vt)
    out = []
    for h, f in zip(hs, forks.tolist(), strict=True):
        ev = h.evidence
        out.append({"a": h.a, "b": h.b, "status": h.verdict, "valid_from": h.valid_from,
                    "valid_to": None if h.valid_to == OPEN else h.valid_to, "fork": int(f),
                    "phi": ev.get("phi"), "confidence": ev.get("confidence"),
                    "n_ab": ev.get("n_ab"), "q_contra": ev.get("q_contra"),
                    "q_value": ev.get("analysis_q_value", ev.get("q_native"))})
    return out


def write_overlay(store: Any, run_id: str, res: OverlayResult) -> dict[str, int]:
    """Replace the run's primitives and expected relations by those of ``res`` (idempotent:
    the same result written twice leaves the same graph); return rows written per type."""
    store.write(load_cypher("graph/cypher/overlay_schema_index_expects_fork"))
    store.write(load_cypher("graph/cypher/overlay_primitive_delete"), run_id=run_id)
    prims = [{"name": p.name, "feature": p.feature, "layer": p.layer,
              "definition": p.definition, "hypothesis": res.hypothesis.source}
             for p in res.hypothesis.primitives]
    counts = {"Primitive": len(prims)}
    for i in range(0, len(prims), BATCH):
        store.write(load_cypher("graph/cypher/overlay_primitive_create"), run_id=run_id,
                    rows=prims[i:i + BATCH])
    for kind in ("dependency", "dual"):
        rows = _rows(res, kind)
        counts[f"EXPECTS_{kind.upper()}"] = len(rows)
        for i in range(0, len(rows), BATCH):
            store.write(load_cypher(f"graph/cypher/overlay_expects_{kind}_create"),
                        run_id=run_id, rows=rows[i:i + BATCH])
    return counts
