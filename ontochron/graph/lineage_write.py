"""The graph side of feature lineage (docs/schema.md, "Lineage"): the rows ingest writes for
a run whose dictionaries were matched across checkpoints (Feature lineage properties,
``SPLITS_INTO`` / ``MERGES_INTO``, ``Split`` / ``Merge`` events), and ``SAME_AS`` between
two stored runs' features (written by ``compare``)."""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

import numpy as np

from ontochron.errors import InputError
from ontochron.graph.cypher import load_cypher
from ontochron.graph.store import GraphStore
from ontochron.graph.writer import BATCH_SIZE, Row, TableSpec, diff_table
from ontochron.lineage.result import Lineage

#: Stored in the per-checkpoint cosine lists where there is no value (the lineage is absent
#: at that checkpoint, or starts there for ``drift_prev``): Neo4j lists cannot hold null, and
#: NaN never equals itself, which would break the ingest diff. Cosines lie in [-1, 1].
NO_COSINE = -2.0
#: Lineage relationship types between Features of one run, by event kind.
LINEAGE_RELS: dict[str, str] = {"split": "SPLITS_INTO", "merge": "MERGES_INTO"}
#: Feature properties that hold one value per checkpoint (aligned with ``Run.steps``).
LIST_PROPS = ("activation_rate", "dict_index", "drift_prev", "drift_first")
#: Feature properties written from a lineage (null, i.e. absent, for a fixed dictionary).
LINEAGE_FEATURE_PROPS = ("dict_index", "drift_prev", "drift_first", "first_step", "last_step",
                         "end_step", "origin", "fate", "dead", "turned", "turned_step")


def is_identity(lin: Lineage) -> bool:
    """True for a fixed dictionary's lineage (feature == index everywhere, no event, no dead
    latent, every cosine 1): it adds nothing to the graph."""
    n = int(lin.n_lineages)
    for t, feats in enumerate(lin.features):
        f = np.asarray(feats)
        if f.size != n or np.any(f != np.arange(n)):
            return False
        prev, first = np.asarray(lin.cos_prev[t]), np.asarray(lin.cos_first[t])
        if np.any(first != 1.0) or (t == 0 and not np.all(np.isnan(prev))) or (
                t > 0 and np.any(prev != 1.0)) or lin.dead_mask(t).any():
            return False
    # a lineage written before the first checkpoint stopped counting as births has them
    return all(e.kind == "birth" and e.step == int(lin.steps[0]) for e in lin.events)


def check_lineage(lin: Lineage, steps: np.ndarray, n_features: int) -> None:
    """InputError unless ``lin`` belongs to this ontology: same steps, one lineage per feature
    column, every lineage id in range."""
    ls = np.asarray(lin.steps, dtype=np.int64)
    if ls.shape != steps.shape or np.any(ls != steps):
        raise InputError(f"the lineage's steps {ls.tolist()} differ from the run's "
                         f"{steps.tolist()}")
    if int(lin.n_lineages) != int(n_features):
        raise InputError(f"the lineage has {lin.n_lineages} lineages but the codes have "
                         f"{n_features} features (codes must be in lineage space)")
    if not (len(lin.features) == len(lin.cos_prev) == len(lin.cos_first) == steps.size):
        raise InputError("the lineage needs features, cos_prev and cos_first for every step")
    for t, feats in enumerate(lin.features):
        f = np.asarray(feats, dtype=np.int64)
        if f.size and (f.min() < 0 or f.max() >= n_features or np.unique(f).size != f.size):
            raise InputError(f"lineage ids at step {int(steps[t])} must be distinct and in "
                             f"[0, {n_features})")
        if np.shape(lin.cos_prev[t]) != f.shape or np.shape(lin.cos_first[t]) != f.shape:
            raise InputError(f"drift arrays at step {int(steps[t])} must have one value per "
                             "dictionary index")


def _cosines(values: np.ndarray) -> np.ndarray:
    out = np.asarray(values, dtype=np.float64).copy()
    out[~np.isfinite(out)] = NO_COSINE
    return out


def feature_columns(lin: Lineage) -> dict[str, list[Any]]:
    """Per-lineage properties, one list entry per lineage (Feature.index order):
    ``dict_index``/``drift_prev``/``drift_first`` lists aligned with the steps, the first and
    last step present, the step at which it is first missing (``end_step``), how it
    started (``origin``: initial / birth / split / merge / dead) and ended (``fate``: death /
    split / merge, null while present at the last checkpoint and for a dead lineage),
    ``dead`` (a lineage of dead latents), ``turned`` and ``turned_step`` (the first step at
    which its cosine to its first direction fell below the link threshold)."""
    steps = np.asarray(lin.steps, dtype=np.int64)
    n, n_steps = int(lin.n_lineages), steps.size
    index = lin.index_matrix()
    prev = np.full((n, n_steps), NO_COSINE)
    first = np.full((n, n_steps), NO_COSINE)
    for t, feats in enumerate(lin.features):
        f = np.asarray(feats, dtype=np.int64)
        prev[f, t] = _cosines(lin.cos_prev[t])
        first[f, t] = _cosines(lin.cos_first[t])
    present = index >= 0
    seen = present.any(axis=1)
    first_t = present.argmax(axis=1)
    last_t = n_steps - 1 - present[:, ::-1].argmax(axis=1)
    dead = np.zeros(n, dtype=bool)
    dead[lin.dead_lineages()] = True
    origin: list[str | None] = [None] * n
    for i in np.flatnonzero(seen & (first_t == 0)).tolist():
        origin[i] = "initial"
    fate: list[str | None] = [None] * n
    for e in lin.events:  # one pass over the events
        if e.target is not None and e.kind in ("birth", "split", "merge"):
            origin[int(e.target)] = e.kind
        if e.source is not None and e.kind in ("death", "split", "merge"):
            fate[int(e.source)] = e.kind
    for i in np.flatnonzero(dead).tolist():
        origin[i] = "dead"
    end = [int(steps[t + 1]) if s and t + 1 < n_steps else None
           for s, t in zip(seen.tolist(), last_t.tolist(), strict=True)]
    turned = lin.turned_lineages()
    return {
        "dead": dead.tolist(), "turned": [i in turned for i in range(n)],
        "turned_step": [turned.get(i) for i in range(n)],
        "dict_index": index.tolist(), "drift_prev": prev.tolist(), "drift_first": first.tolist(),
        "first_step": [int(steps[t]) if s else None
                       for s, t in zip(seen.tolist(), first_t.tolist(), strict=True)],
        "last_step": [int(steps[t]) if s else None
                      for s, t in zip(seen.tolist(), last_t.tolist(), strict=True)],
        "end_step": end, "origin": origin,
        "fate": [f if f is not None or e is None or d else "death" for f, e, d in
                 zip(fate, end, dead.tolist(), strict=True)],
    }


def _cos(value: float | None) -> float | None:
    return None if value is None or not np.isfinite(value) else float(value)


def link_rows(lin: Lineage, kind: str, run_id: str) -> list[Row]:
    """``SPLITS_INTO`` (kind ``split``) or ``MERGES_INTO`` (``merge``) rows, one per link:
    key (a = source lineage, b = target lineage), props run_id, step and cosine."""
    rows = [{"a": int(e.source), "b": int(e.target),
             "props": {"run_id": run_id, "step": int(e.step), "cosine": _cos(e.cosine)}}
            for e in lin.events if e.kind == kind
            and e.source is not None and e.target is not None]
    return sorted(rows, key=lambda r: (r["a"], r["b"]))


def event_rows(lin: Lineage) -> list[Row]:
    """One ``Split`` event per (step, parent) and one ``Merge`` per (step, merged lineage),
    keyed like the other events by a JSON uid (kind, step, null, feature, the other side)."""
    groups: dict[tuple[str, int, int], list[tuple[int, float | None]]] = defaultdict(list)
    for e in lin.events:
        if e.kind not in LINEAGE_RELS or e.source is None or e.target is None:
            continue
        one, many = (e.source, e.target) if e.kind == "split" else (e.target, e.source)
        groups[(e.kind, int(e.step), int(one))].append((int(many), _cos(e.cosine)))
    rows: list[Row] = []
    for (kind, step, one), links in sorted(groups.items()):
        links.sort()
        many = [m for m, _ in links]
        cosines = [NO_COSINE if c is None else c for _, c in links]
        sources, targets = ([one], many) if kind == "split" else (many, [one])
        props = {"kind": kind, "step": step, "feature": one, "sources": sources,
                 "targets": targets, "cosines": cosines}
        uid = json.dumps([kind, step, None, one, many])
        rows.append({"uid": uid, "props": props})
    return rows


def run_summary(lin: Lineage) -> str:
    """JSON text stored as ``Run.lineage``: lineages, threshold, null and event counts."""
    counts: dict[str, int] = defaultdict(int)
    for e in lin.events:
        counts[e.kind] += 1
    counts["continue"] = int(sum(np.isfinite(np.asarray(p, dtype=np.float64)).sum()
                                 for p in lin.cos_prev))
    thr = float(lin.threshold)
    summ = lin.summary()
    return json.dumps({"lineages": int(lin.n_lineages), "initial": summ["initial"],
                       "dead": len(summ["dead"]["lineages"]), "turned": summ["turned"],
                       "threshold": thr if np.isfinite(thr) else None,
                       "null": lin.null, "counts": dict(sorted(counts.items()))},
                      sort_keys=True, default=str)


# --------------------------------------------------------------------------- SAME_AS

_SAME_AS = TableSpec("SAME_AS", ("a", "b"), "same_as_read", "same_as_create", "same_as_delete",
                     "same_as_update", exact=True)
SAME_AS_KINDS = ("same", "split", "merge")


def _run_steps(store: GraphStore, run_id: str) -> list[int]:
    got = store.run(load_cypher("graph/cypher/run_read"), run_id=run_id)
    if not got:
        raise InputError(f"no run {run_id!r} in the store: ingest it before writing SAME_AS")
    steps = got[0]["props"].get("steps")
    if not isinstance(steps, list) or not steps:
        raise InputError(f"run {run_id!r} has no complete ingest (Run.steps missing): "
                         "ingest it again before writing SAME_AS")
    return [int(s) for s in steps]


def _index_map(store: GraphStore, run_id: str, step: int | None) -> tuple[int, dict[int, int]]:
    """(step used, dictionary index -> Feature.index) of one run at one checkpoint."""
    steps = _run_steps(store, run_id)
    use = steps[-1] if step is None else int(step)
    if use not in steps:
        raise InputError(f"run {run_id!r} has no checkpoint at step {use} (steps: "
                         f"{steps[0]}..{steps[-1]}, {len(steps)} checkpoints)")
    rows = store.run(load_cypher("graph/cypher/same_as_features_read"), run_id=run_id,
                     ordinal=steps.index(use))
    return use, {int(r["dict_index"]): int(r["feature"]) for r in rows
                 if r["dict_index"] is not None and int(r["dict_index"]) >= 0}


def write_same_as(store: GraphStore, run_a: str, run_b: str, rows: list[dict[str, Any]],
                  step_a: int | None = None, step_b: int | None = None) -> int:
    """Bring the ``SAME_AS`` relationships from run ``run_a``'s Features to run ``run_b``'s to
    exactly ``rows`` (``compare``'s matches: ``a``, ``b`` dictionary indices, ``cosine``,
    ``kind``) by diff. Indices map to Features through ``Feature.dict_index`` at ``step_a`` /
    ``step_b`` (default: each run's last checkpoint). Returns relationships created, updated
    or deleted (0 when the graph already held exactly these)."""
    use_a, map_a = _index_map(store, run_a, step_a)
    use_b, map_b = _index_map(store, run_b, step_b)
    desired: dict[tuple[int, int], Row] = {}
    for n, row in enumerate(rows, start=1):
        try:
            a, b, kind = int(row["a"]), int(row["b"]), str(row["kind"])
            cosine = row.get("cosine")
            cosine = None if cosine in (None, "") else float(cosine)
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(f"SAME_AS row {n}: needs integer a, b, a kind and a numeric "
                             f"cosine, got {row!r}") from exc
        if kind not in SAME_AS_KINDS:
            raise InputError(f"SAME_AS row {n}: kind must be one of {SAME_AS_KINDS}, "
                             f"got {kind!r}")
        for side, idx, mapping, run, step in (("a", a, map_a, run_a, use_a),
                                              ("b", b, map_b, run_b, use_b)):
            if idx not in mapping:
                raise InputError(f"SAME_AS row {n}: dictionary index {side}={idx} is no "
                                 f"feature of run {run!r} at step {step}")
        key = (map_a[a], map_b[b])
        if key in desired:
            raise InputError(f"SAME_AS row {n}: pair a={a}, b={b} given twice")
        desired[key] = {"a": key[0], "b": key[1],
                        "props": {"kind": kind, "cosine": _cos(cosine), "run_a": run_a,
                                  "run_b": run_b, "step_a": use_a, "step_b": use_b}}
    current = store.run(load_cypher("graph/cypher/same_as_read"), run_a=run_a, run_b=run_b)
    diff = diff_table(_SAME_AS, list(desired.values()), current)
    for name, batch_rows in (("delete", diff.delete), ("update", diff.update),
                             ("create", diff.create)):
        cypher = load_cypher(f"graph/cypher/same_as_{name}")
        for start in range(0, len(batch_rows), BATCH_SIZE):
            store.write(cypher, run_a=run_a, run_b=run_b,
                        rows=batch_rows[start:start + BATCH_SIZE])
    return len(diff)
