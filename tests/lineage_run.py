"""One lineage run built two ways for the "--run equals --analysis" tests: a simulated
lineage (tests/lineage_files.py: births, deaths, splits, merges, drift) with codes in lineage
space whose density jumps mid-run (so there are phase transitions of named curves), written
as an analysis directory and ingested into the graph from the same Ontology and Lineage."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ontochron.graph.ingest import ingest
from ontochron.ingest.snapshot import CodeStack, Snapshot
from ontochron.lineage.files import read_lineage, write_lineage
from ontochron.lineage.result import Lineage
from ontochron.ontology import OntologyConfig, analyze
from ontochron.outputs import write_outputs
from tests import lineage_files

STEPS = list(range(0, 200, 20))
CONFIG = OntologyConfig(connection_null="hypergeometric", alpha=0.1, phase_z=3.0)


def simulated_lineage(tmp: Path, n0: int = 30, seed: int = 3) -> Lineage:
    """A Lineage object of the simulation (written as files, read back)."""
    sim = lineage_files.simulate(STEPS, n0=n0, seed=seed)
    d = tmp / "sim"
    summary = lineage_files.write(d, sim)
    summary["latents"] = [sum(1 for m in sim["members"] if m[0] == s) for s in STEPS]
    (d / "summary.json").write_text(json.dumps({"lineage": summary}))
    # once through the lineage writer: cosines as analysis files keep them (6 digits), so the
    # graph and the files hold the same values
    write_lineage(read_lineage(d), tmp / "sim6")
    return read_lineage(tmp / "sim6")


def lineage_stack(lin: Lineage, n_concepts: int = 40, seed: int = 0) -> CodeStack:
    """Random codes in lineage space (only lineages alive at a step can be on), sparser in the
    first half of the run than in the second."""
    rng = np.random.default_rng(seed)
    frames = []
    for t, step in enumerate(lin.steps.tolist()):
        alive = np.zeros(lin.n_lineages, dtype=bool)
        alive[lin.features[t]] = True
        p = 0.08 if t < lin.n_steps // 2 else 0.35
        codes = (rng.random((n_concepts, lin.n_lineages)) < p) & alive
        frames.append(Snapshot.create(step, [f"c{i}" for i in range(n_concepts)], codes))
    return CodeStack.from_snapshots(frames)


def build(tmp: Path, store, run: str = "lineage run") -> tuple[Path, str, Lineage]:
    """(analysis directory, stored run id, lineage) of the same run."""
    lin = simulated_lineage(tmp)
    stack = lineage_stack(lin)
    ont = analyze(stack, CONFIG, progress=False)
    out = tmp / "analysis"
    write_outputs(ont, out, lineage=lin)
    ingest(stack, run=run, store=store, config=CONFIG, progress=False, lineage=lin)
    return out, run, lin
