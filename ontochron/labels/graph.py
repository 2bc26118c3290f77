"""Read labelling evidence from the temporal graph and write labels back: versioned
``(:Label)-[:DESCRIBES {valid_from, valid_to}]->(:Feature)`` plus the latest label mirrored
onto ``Feature.label``/``label_score`` (docs/schema.md, "Labels"). Batched UNWIND writes."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import numpy as np
import scipy.sparse as sp

from ontochron.errors import InputError
from ontochron.graph.cypher import load_cypher
from ontochron.graph.schema import fork_key, stab_keys
from ontochron.graph.store import GraphStore
from ontochron.labels.evidence import Evidence, EvidenceConfig, build_evidence
from ontochron.labels.result import LabelResult


def _q(name: str) -> str:
    return load_cypher(f"graph/cypher/{name}")


def ensure_label_schema(store: GraphStore) -> None:
    """Create the Label uniqueness constraint and the DESCRIBES fork index if missing."""
    store.write(_q("label_schema_unique"))
    store.write(_q("label_schema_index_describes_fork"))


def resolve_run(store: GraphStore, run_id: str | None) -> str:
    """``run_id`` itself, or the only run in the store (the helper every command uses)."""
    from ontochron.queries.library import resolve_run as resolve

    return resolve(store, run_id)


def run_steps(store: GraphStore, run_id: str) -> list[int]:
    """The run's checkpoint steps, in order."""
    rows = store.run(_q("label_run_read"), run_id=run_id)
    if not rows or not rows[0]["steps"]:
        raise InputError(f"run {run_id!r} has no checkpoints in the store")
    return [int(s) for s in rows[0]["steps"]]


def choose_steps(store: GraphStore, run_id: str, steps: Sequence[int] | None) -> list[int]:
    """``steps`` checked to be checkpoints of the run, or the run's last checkpoint."""
    all_steps = run_steps(store, run_id)
    if not steps:
        return [all_steps[-1]]
    bad = [s for s in steps if s not in all_steps]
    if bad:
        raise InputError(f"run {run_id!r} has no checkpoint at step(s) {bad}; its steps are "
                         f"{all_steps[:20]}{' ...' if len(all_steps) > 20 else ''}")
    return sorted(set(steps))


def select_features(store: GraphStore, run_id: str, *, features: Sequence[int] | None = None,
                    unlabeled: bool = False, changed_since: int | None = None) -> list[int]:
    """The feature indices to label: ``features`` (checked to exist), those without a mirrored
    label (``unlabeled``), those whose activating concepts changed after ``changed_since``,
    or every feature of the run."""
    rows = store.run(_q("label_features_read"), run_id=run_id)
    known = {int(r["index"]): r["label"] for r in rows}
    if features is not None:
        missing = sorted(set(features) - set(known))
        if missing:
            raise InputError(f"run {run_id!r} has no feature(s) {missing[:10]}")
        chosen = sorted(set(features))
    else:
        chosen = sorted(known)
    if unlabeled:
        chosen = [f for f in chosen if known[f] is None]
    if changed_since is not None:
        changed = {int(r["feature"]) for r in
                   store.run(_q("label_changed_read"), run_id=run_id, since=int(changed_since))}
        chosen = [f for f in chosen if f in changed]
    return chosen


def read_evidence(store: GraphStore, run_id: str, step: int, features: Sequence[int],
                  config: EvidenceConfig | None = None) -> list[Evidence]:
    """Evidence for ``features`` at ``step`` from the ACTIVATES intervals holding at that step
    and the concepts present then (``first_seen <= step <= last_seen``)."""
    concepts = store.run(_q("label_concepts_read"), run_id=run_id)
    if not concepts:
        return []
    idx = np.array([int(c["index"]) for c in concepts], dtype=np.int64)
    n = int(idx.max()) + 1
    names = [""] * n
    present = np.zeros(n, dtype=bool)
    for c in concepts:  # one pass over the run's concepts
        i = int(c["index"])
        names[i] = c["name"]
        first, last = c["first_seen"], c["last_seen"]
        present[i] = first is not None and first <= step and (last is None or step <= last)
    pairs = store.run(_q("label_activates_at"), run_id=run_id, t=int(step),
                      forks=stab_keys(int(step)))
    n_features = max([int(p["feature"]) for p in pairs] + [max(features, default=-1)]) + 1
    ci = np.array([p["concept"] for p in pairs], dtype=np.int64)
    fi = np.array([p["feature"] for p in pairs], dtype=np.int64)
    codes = sp.csr_array((np.ones(ci.size), (ci, fi)), shape=(n, n_features))
    codes.sum_duplicates()
    codes.data[:] = 1.0
    return build_evidence(names, codes, present, list(features), int(step), config)


def label_id(run_id: str, r: LabelResult) -> str:
    """Deterministic id of a label version: same run, feature, step, method, model, prompt
    version and evidence give the same id (so re-writing it is a no-op)."""
    key = "\x1f".join(map(str, (run_id, r.feature, r.step, r.method, r.model, r.prompt_version,
                                r.evidence_hash)))
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


@dataclass
class WriteReport:
    """What :func:`write_labels` changed."""

    created: int = 0
    intervals_updated: int = 0
    mirrored: int = 0


def _intervals(rows: list[dict[str, Any]]) -> dict[str, int | None]:
    """valid_to per label_id: the next labelled step of the same (feature, method), or None."""
    steps: dict[tuple[int, str], list[int]] = {}
    for r in rows:
        steps.setdefault((r["feature"], r["method"]), []).append(r["valid_from"])
    nxt: dict[tuple[int, str], dict[int, int | None]] = {}
    for key, ss in steps.items():
        u = sorted(set(ss))
        nxt[key] = {a: b for a, b in zip(u, u[1:] + [None], strict=True)}
    return {r["label_id"]: nxt[(r["feature"], r["method"])][r["valid_from"]] for r in rows}


def write_labels(store: GraphStore, run_id: str, results: Sequence[LabelResult], *,
                 batch_size: int = 5000) -> WriteReport:
    """Add the ``results`` as Label versions (existing ids are left as they are), re-cut the
    DESCRIBES intervals of the touched (feature, method) pairs, and mirror each touched
    feature's latest label (greatest step, then newest) onto the Feature."""
    rep = WriteReport()
    if not results:
        return rep
    ensure_label_schema(store)
    feats = sorted({r.feature for r in results})
    existing = store.run(_q("label_read"), run_id=run_id, features=feats)
    have = {e["label_id"] for e in existing}
    now = datetime.now(timezone.utc).isoformat(timespec="microseconds")
    new: dict[str, dict[str, Any]] = {}
    for r in results:
        lid = label_id(run_id, r)
        if lid in have or lid in new:
            continue
        props = {"text": r.text, "method": r.method, "model": r.model, "score": r.score,
                 "prompt_version": r.prompt_version, "created_at": now,
                 "evidence_hash": r.evidence_hash, "step": r.step, "feature": r.feature,
                 "explanation": r.explanation, "confidence": r.confidence}
        new[lid] = {"label_id": lid, "feature": r.feature, "method": r.method,
                    "valid_from": r.step, "text": r.text, "score": r.score, "created_at": now,
                    "props": {k: v for k, v in props.items() if v is not None}}
    rows = existing + list(new.values())
    ends = _intervals(rows)
    creates = [{"feature": n["feature"], "label_id": lid, "valid_from": n["valid_from"],
                "valid_to": ends[lid], "fork": fork_key(n["valid_from"], ends[lid]),
                "props": n["props"]} for lid, n in new.items()]
    updates = [{"label_id": e["label_id"], "valid_to": ends[e["label_id"]],
                "fork": fork_key(e["valid_from"], ends[e["label_id"]])}
               for e in existing if e["valid_to"] != ends[e["label_id"]]]
    latest: dict[int, dict[str, Any]] = {}
    for r in rows:
        cur = latest.get(r["feature"])
        if cur is None or (r["valid_from"], r["created_at"] or "", r["label_id"]) > (
                cur["valid_from"], cur["created_at"] or "", cur["label_id"]):
            latest[r["feature"]] = r
    mirror = [{"feature": f, "text": r["text"], "score": r["score"], "method": r["method"],
               "step": r["valid_from"], "label_id": r["label_id"]} for f, r in latest.items()]
    rep.created = store.write_batches(_q("label_create"), creates, batch_size,
                                      progress=False, run_id=run_id)
    rep.intervals_updated = store.write_batches(_q("label_describes_update"), updates,
                                                batch_size, progress=False, run_id=run_id)
    rep.mirrored = store.write_batches(_q("label_mirror_update"), mirror, batch_size,
                                       progress=False, run_id=run_id)
    return rep
