"""Causal tests in lineage space: a run whose dictionaries were matched across checkpoints
stores one Feature per lineage, so the latent tested at step S belongs to the lineage that
holds it at S (``Feature.dict_index``, docs/schema.md), not to lineage number ``latent``."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import Any

from ontochron.causal.verify import CausalReport
from ontochron.errors import InputError
from ontochron.graph.cypher import load_cypher

_RUN = "graph/cypher/run_read"
_MAP = "graph/cypher/causal_lineage_map"


def to_lineages(report: CausalReport, latent_to_lineage: dict[int, int],
                where: str) -> CausalReport:
    """The report with each tested latent replaced by the lineage that holds it at
    ``report.step`` (``dict_index`` keeps the latent). Latents with no lineage there are left
    out and listed in ``config["no_lineage"]``; ``where`` names the lineage's source."""
    if report.space == "lineage":
        return report
    kept, missing = [], []
    for r in report.results:
        lin = latent_to_lineage.get(int(r.feature))
        if lin is None:
            missing.append(int(r.feature))
        else:
            kept.append(replace(r, feature=int(lin), dict_index=int(r.feature)))
    config = {**report.config, "space": "lineage", "lineages_of": where,
              "no_lineage": missing}
    return replace(report, results=kept, config=config)


def run_lineage_map(store: Any, run_id: str, step: int) -> dict[int, int] | None:
    """Dictionary index -> Feature.index of a stored lineage run at ``step``; None for a run
    without lineage (a fixed dictionary: latent i is Feature i). InputError when the run is
    not stored or has no checkpoint at ``step``."""
    got = store.run(load_cypher(_RUN), run_id=run_id)
    if not got:
        raise InputError(f"no run {run_id!r} in the store: ingest it before writing causal "
                         "tests onto it")
    props = got[0]["props"]
    if not props.get("lineage"):
        return None
    steps = [int(s) for s in props.get("steps") or []]
    if int(step) not in steps:
        raise InputError(f"run {run_id!r} has no checkpoint at step {step} (its steps: "
                         f"{', '.join(map(str, steps)) or 'none'}); pass --at STEP")
    rows = store.run(load_cypher(_MAP), run_id=run_id, ordinal=steps.index(int(step)))
    return {int(r["dict_index"]): int(r["feature"]) for r in rows
            if r["dict_index"] is not None and int(r["dict_index"]) >= 0}


def for_run(store: Any, run_id: str, report: CausalReport) -> CausalReport:
    """``report`` as it is written onto stored run ``run_id``: mapped onto its lineages when
    it has them, else unchanged."""
    mapping = run_lineage_map(store, run_id, report.step)
    return report if mapping is None else to_lineages(report, mapping, f"run {run_id}")


def file_lineage_map(summary_path: str | os.PathLike[str], step: int) -> dict[int, int] | None:
    """Dictionary index -> lineage id at ``step`` from the lineage files next to a
    summary.json (an ``analyze``/``lineage`` output directory); None when there are none."""
    from ontochron.lineage.tables import read_lineage_tables

    d = Path(summary_path).parent
    if not (d / "lineage.csv").exists():
        return None
    members = read_lineage_tables(d).members
    at = members["step"] == int(step)
    if not at.any():
        raise InputError(f"the lineage files have no checkpoint at step {step}; pass --at STEP",
                         d / "lineage.csv")
    return dict(zip(members["index"][at].tolist(), members["feature"][at].tolist(),
                    strict=True))


def for_summary(summary_path: str | os.PathLike[str], report: CausalReport) -> CausalReport:
    """``report`` as it is merged into ``summary_path``: mapped onto the lineages of that
    directory's lineage files when it has them (codes in lineage space), else unchanged."""
    mapping = file_lineage_map(summary_path, report.step)
    return report if mapping is None else to_lineages(report, mapping, str(summary_path))
