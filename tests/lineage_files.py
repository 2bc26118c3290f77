"""Writes lineage.csv, lineage_events.csv, drift.csv (the lineage interface's exact format) from
a seeded simulation of a dictionary whose features continue, drift, split, merge, die and are
born, and returns the ground truth so tests can check what the plots draw."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np


def simulate(steps: list[int], n0: int = 12, seed: int = 0, p_split: float = 0.06,
             p_merge: float = 0.04, p_death: float = 0.04, p_birth: float = 0.05,
             dim: int = 16) -> dict:
    """Lineages over ``steps``: rows for the three files plus the event list."""
    rng = np.random.default_rng(seed)
    next_id = 0
    alive: dict[int, dict] = {}   # lineage id -> {"dir", "first"}
    members, drift, events = [], [], []

    def new(direction: np.ndarray) -> int:
        nonlocal next_id
        i = next_id
        next_id += 1
        d = direction / np.linalg.norm(direction)
        alive[i] = {"dir": d, "first": d, "prev": None}
        return i

    for t, step in enumerate(steps):
        if t == 0:
            for _ in range(n0):
                i = new(rng.normal(size=dim))
                events.append(("birth", step, None, i))
        else:
            ids = sorted(alive)
            rng.shuffle(ids)
            taken: set[int] = set()
            for i in ids:
                if i in taken:
                    continue
                u = rng.random()
                if u < p_split:
                    taken.add(i)
                    parent = alive.pop(i)
                    for _ in range(int(rng.integers(2, 4))):
                        c = new(parent["dir"] + 0.4 * rng.normal(size=dim))
                        events.append(("split", step, i, c))
                elif u < p_split + p_merge:
                    partner = next((j for j in ids if j not in taken and j != i and j in alive),
                                   None)
                    if partner is None:
                        continue
                    taken |= {i, partner}
                    a, b = alive.pop(i), alive.pop(partner)
                    c = new(a["dir"] + b["dir"])
                    events += [("merge", step, i, c), ("merge", step, partner, c)]
                elif u < p_split + p_merge + p_death:
                    taken.add(i)
                    alive.pop(i)
                    events.append(("death", step, i, None))
                else:
                    rec = alive[i]
                    rec["prev"] = rec["dir"]
                    d = rec["dir"] + rng.uniform(0.02, 0.35) * rng.normal(size=dim) / np.sqrt(dim)
                    rec["dir"] = d / np.linalg.norm(d)
            for _ in range(int(rng.binomial(max(len(alive), 1), p_birth))):
                i = new(rng.normal(size=dim))
                events.append(("birth", step, None, i))
        order = sorted(alive)
        perm = rng.permutation(len(order))   # dictionary index order differs from lineage ids
        for idx, i in zip(perm.tolist(), order, strict=True):
            rec = alive[i]
            members.append((step, idx, i))
            started = rec["prev"] is None
            cp = None if started else float(rec["dir"] @ rec["prev"])
            cf = 1.0 if started else float(rec["dir"] @ rec["first"])
            drift.append((step, i, idx, cp, cf))
            rec["prev"] = rec["dir"] if started else rec["prev"]
        for rec in alive.values():
            rec["prev"] = rec["dir"]
    return {"members": members, "drift": drift, "events": events, "n_lineages": next_id,
            "steps": list(steps)}


def write(out: Path, sim: dict, summary_key: str | None = "lineage") -> dict:
    """Write the three files (+ the lineage summary into summary.json) into ``out``."""
    out.mkdir(parents=True, exist_ok=True)

    def cell(v):
        return "" if v is None else v

    with (out / "lineage.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["step", "index", "feature"])
        w.writerows(sim["members"])
    with (out / "lineage_events.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["kind", "step", "source", "target"])
        w.writerows([(k, s, cell(a), cell(b)) for k, s, a, b in sim["events"]])
    with (out / "drift.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["step", "feature", "index", "cos_prev", "cos_first"])
        w.writerows([(s, f, i, cell(cp), cf) for s, f, i, cp, cf in sim["drift"]])
    kinds = [e[0] for e in sim["events"]]
    summary = {"counts": {k: kinds.count(k) for k in ("birth", "death", "split", "merge")}
               | {"continue": len(sim["members"]) - kinds.count("birth") - len(
                   {(e[1], e[3]) for e in sim["events"] if e[0] in ("split", "merge")})},
               "lineages": sim["n_lineages"], "threshold": 0.5,
               "null": {"kind": "permutation", "quantile": 0.99}, "steps": sim["steps"]}
    if summary_key is not None:
        p = out / "summary.json"
        whole = json.loads(p.read_text()) if p.exists() else {}
        whole[summary_key] = summary
        p.write_text(json.dumps(whole))
    return summary
