"""Persist a :class:`CausalReport`: the ``causal`` section of summary.json and the graph."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ontochron.causal.verify import CausalReport

CYPHER = "graph/cypher/causal_write"


def write_summary(path: str | os.PathLike[str], report: CausalReport) -> Path:
    """Merge ``report.summary()`` into summary.json under ``causal`` (creating the file).
    Next to lineage files the tested latents are first mapped onto their lineages
    (:func:`ontochron.causal.lineage_space.for_summary`)."""
    from ontochron.causal.lineage_space import for_summary
    from ontochron.jsonfiles import read_summary

    p = Path(path)
    report = for_summary(p, report)
    data = read_summary(p)
    data["causal"] = report.summary()
    tmp = p.with_suffix(p.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, allow_nan=False), encoding="utf-8")
    tmp.replace(p)
    return p


def cypher_statement() -> str:
    """The UNWIND write-back statement (graph/cypher/causal_write.cypher)."""
    from ontochron.graph.cypher import load_cypher

    return load_cypher(CYPHER)


def graph_rows(run_id: str, report: CausalReport) -> list[dict[str, Any]]:
    """One parameter row per CausalTest node."""
    return [{"dict_index": None, **r.as_dict(), "run_id": run_id, "alpha": report.alpha,
             "alternative": report.alternative, "n_resamples": report.n_resamples,
             "seed": report.seed} for r in report.results]


def write_graph(store: Any, run_id: str, report: CausalReport) -> int:
    """Write CausalTest nodes with TESTS->Feature and AT->Checkpoint edges; returns rows sent.

    ``store`` is a :class:`ontochron.graph.store.GraphStore`; rows go through its
    ``write_batches`` (UNWIND $rows, all values as parameters). On a lineage run each tested
    latent goes to the lineage holding it at the report's step; latents without one are not
    written (:func:`ontochron.causal.lineage_space.for_run`, which callers use to list them).
    """
    from ontochron.causal.lineage_space import for_run

    rows = graph_rows(run_id, for_run(store, run_id, report))
    if rows:
        store.write_batches(cypher_statement(), rows, desc="causal tests")
    return len(rows)
