"""``ingest``: load a run's checkpoints, detect its ontology, and bring the run's temporal graph
to exactly that state by diff (idempotent, incremental, crash-safe; see docs/schema.md).

Everything is recomputed from the source; only the difference to what the graph holds is
written. ``Run.steps``/``last_step`` and ``status = "complete"`` are written last.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from ontochron import __version__
from ontochron.errors import InputError
from ontochron.graph.cypher import load_cypher
from ontochron.graph.lineage_write import (
    LINEAGE_FEATURE_PROPS,
    LINEAGE_RELS,
    LIST_PROPS,
    check_lineage,
    feature_columns,
    is_identity,
    link_rows,
    run_summary,
)
from ontochron.graph.lineage_write import event_rows as lineage_event_rows
from ontochron.graph.schema import (
    EVENT_LABELS,
    INTERVAL_RELS,
    OPEN_FORK,
    ensure_schema,
    fork_keys,
)
from ontochron.graph.store import GraphStore, StoreConfig, open_store
from ontochron.graph.writer import (
    BATCH_SIZE,
    BatchWriter,
    Diff,
    IdMaps,
    Row,
    TableSpec,
    apply_diff,
    diff_table,
    key_of,
    read_table,
)
from ontochron.ingest.snapshot import CodeStack
from ontochron.lineage.result import Lineage
from ontochron.ontology.intervals import OPEN
from ontochron.ontology.result import Ontology, Relations

log = logging.getLogger(__name__)


def _literal_props(create: str) -> frozenset[str]:
    """Props a create statement writes itself (``row.props.NAME`` in its text)."""
    import re
    return frozenset(re.findall(r"row\.props\.([A-Za-z_][A-Za-z0-9_]*)",
                                load_cypher(f"graph/cypher/{create}")))


def _snake(label: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in label).lstrip("_")


#: Node tables of the start and end key of each interval relationship type.
REL_ENDPOINTS: dict[str, tuple[str, str]] = {
    "ACTIVATES": ("Concept", "Feature"), "CONNECTED": ("Concept", "Concept"),
    "DUAL": ("Feature", "Feature"), "DEPENDS_ON": ("Feature", "Feature"),
    "PARENT_OF": ("Feature", "Feature")}


def _rel_spec(rtype: str) -> TableSpec:
    low = rtype.lower()
    create = f"rel_{low}_create"
    return TableSpec(rtype, ("a", "b", "valid_from"), f"rel_{low}_read", create,
                     f"rel_{low}_delete", f"rel_{low}_update", exact=True,
                     create_props=_literal_props(create) | {"run_id"},
                     endpoints=REL_ENDPOINTS[rtype], create_by_id=f"rel_{low}_create_by_id")


def table_specs() -> dict[str, TableSpec]:
    """Every table of a run, in write order (nodes before what links to them)."""
    specs = {
        "Checkpoint": TableSpec("Checkpoint", ("step",), "checkpoint_read", "checkpoint_create",
                                "checkpoint_delete", "checkpoint_update", exact=False),
        "NEXT": TableSpec("NEXT", ("a", "b"), "next_read", "next_create", "next_delete"),
        "Concept": TableSpec("Concept", ("name",), "concept_read", "concept_create",
                             "concept_delete", "concept_update", exact=False,
                             create_props=_literal_props("concept_create"),
                             ids=True),
        "Feature": TableSpec("Feature", ("index",), "feature_read", "feature_create",
                             "feature_delete", "feature_update", exact=False,
                             create_props=_literal_props("feature_create"),
                             ids=True),
    }
    for rtype in INTERVAL_RELS:
        specs[rtype] = _rel_spec(rtype)
    for rtype in LINEAGE_RELS.values():  # lineage links: key (source, target), no interval
        low = rtype.lower()
        specs[rtype] = TableSpec(rtype, ("a", "b"), f"rel_{low}_read", f"rel_{low}_create",
                                 f"rel_{low}_delete", f"rel_{low}_update", exact=True)
    specs["Triad"] = TableSpec("Triad", ("input_a", "input_b", "output", "valid_from"),
                               "triad_read", "triad_create", "triad_delete", "triad_update",
                               exact=False,
                               create_props=_literal_props("triad_create") | {"valid_from"})
    creates = {kind: f"event_{_snake(label)}_create" for kind, label in EVENT_LABELS.items()}
    literal = frozenset().union(*(_literal_props(c) for c in creates.values()))
    specs["Event"] = TableSpec("Event", ("uid",), "event_read", creates, "event_delete",
                               "event_update", exact=False, create_props=literal,
                               split_by="kind")
    return specs


@dataclass
class IngestReport:
    """What one ingest did: per table rows created/updated/deleted/unchanged, and timings."""

    run_id: str
    n_checkpoints: int
    last_step: int
    tables: dict[str, dict[str, int]] = field(default_factory=dict)
    rows_written: int = 0
    batches: int = 0
    seconds: dict[str, float] = field(default_factory=dict)
    table_seconds: dict[str, float] = field(default_factory=dict)  # write time per table
    read_seconds: dict[str, tuple[float, float]] = field(default_factory=dict)  # read, diff
    #: tables diffed against their state rebuilt from the source (digest-verified), not read
    rebuilt: list[str] = field(default_factory=list)
    #: Label nodes removed with the deleted Features they described (or found describing none)
    labels_deleted: int = 0
    #: test families that could find nothing (Ontology.power.notes), printed once
    notes: list[str] = field(default_factory=list)
    #: what was written (set by :func:`ingest`): the analysis, its codes and lineage, for
    #: callers that report per checkpoint (watch, TensorBoard); not part of the summary
    ontology: Ontology | None = field(default=None, repr=False, compare=False)
    stack: CodeStack | None = field(default=None, repr=False, compare=False)
    lineage: Lineage | None = field(default=None, repr=False, compare=False)

    @property
    def changed(self) -> int:
        return sum(t["created"] + t["updated"] + t["deleted"] for t in self.tables.values())

    def summary(self) -> str:
        """One line per table with changes, for the CLI."""
        lines = [f"run {self.run_id!r}: {self.n_checkpoints} checkpoints up to step "
                 f"{self.last_step}; {self.changed} rows changed "
                 f"({self.rows_written} written in {self.batches} batches)"]
        for name, t in self.tables.items():
            if t["created"] or t["updated"] or t["deleted"]:
                lines.append(f"  {name:<12} +{t['created']} ~{t['updated']} -{t['deleted']} "
                             f"(={t['unchanged']})")
        if self.labels_deleted:
            lines.append(f"  {'Label':<12} -{self.labels_deleted} (their features were deleted)")
        lines.append("  " + ", ".join(f"{k} {v:.1f}s" for k, v in self.seconds.items()))
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(lines)


# --------------------------------------------------------------------------- desired state

def _nullable(values: np.ndarray) -> list[Any]:
    """Python values with NaN (floats) as None."""
    arr = np.asarray(values)
    if arr.dtype.kind == "f":
        out = arr.astype(object)
        out[np.isnan(arr)] = None
        return out.tolist()
    return arr.tolist()


def _steps_or_none(values: np.ndarray) -> list[Any]:
    """Step values with OPEN (-1) as None."""
    arr = np.asarray(values, dtype=np.int64)
    out = arr.astype(object)
    out[arr == OPEN] = None
    return out.tolist()


def _columns_to_props(cols: dict[str, list[Any]], n: int) -> list[dict[str, Any]]:
    names = list(cols)
    if not names:
        return [{} for _ in range(n)]
    return [dict(zip(names, vals, strict=True))
            for vals in zip(*(cols[k] for k in names), strict=True)]


def checkpoint_rows(ont: Ontology, stack: CodeStack) -> list[Row]:
    steps = np.asarray(ont.steps, dtype=np.int64)
    cols: dict[str, list[Any]] = {"ordinal": list(range(steps.size)),
                                  "n_concepts": stack.present.sum(axis=1).astype(int).tolist()}
    for name, curve in sorted(ont.curves.items()):
        cols[name] = _nullable(np.asarray(curve, dtype=np.float64))
    props = _columns_to_props(cols, steps.size)
    return [{"step": s, "props": p} for s, p in zip(steps.tolist(), props, strict=True)]


def next_rows(ont: Ontology, run_id: str) -> list[Row]:
    s = np.asarray(ont.steps, dtype=np.int64).tolist()
    return [{"a": a, "b": b, "props": {"run_id": run_id}} for a, b in zip(s, s[1:], strict=False)]


def concept_rows(ont: Ontology, stack: CodeStack) -> list[Row]:
    """Concepts with the first and last checkpoint step at which they are present."""
    present = np.asarray(stack.present, dtype=bool)
    steps = np.asarray(ont.steps, dtype=np.int64)
    seen = present.any(axis=0)
    first = np.where(seen, steps[present.argmax(axis=0)], OPEN)
    last_idx = present.shape[0] - 1 - present[::-1].argmax(axis=0)
    last = np.where(seen, steps[last_idx], OPEN)
    cols = {"index": list(range(len(ont.concepts))), "first_seen": _steps_or_none(first),
            "last_seen": _steps_or_none(last)}
    props = _columns_to_props(cols, len(ont.concepts))
    return [{"name": n, "props": p} for n, p in zip(ont.concepts, props, strict=True)]


def activation_rates(stack: CodeStack) -> np.ndarray:
    """(n_features, n_checkpoints) fraction of present concepts with each feature on."""
    rates = np.zeros((stack.n_features, stack.n_steps), dtype=np.float64)
    n_present = np.asarray(stack.present, dtype=bool).sum(axis=1)
    for t, codes in enumerate(stack.codes):  # one bincount per checkpoint
        counts = np.bincount(codes.indices, minlength=stack.n_features)
        rates[:, t] = counts / n_present[t] if n_present[t] else 0.0
    return rates


def feature_rows(ont: Ontology, stack: CodeStack, lineage: Lineage | None = None) -> list[Row]:
    """One row per feature; with a lineage, also its per-checkpoint dictionary index and
    drift and its own first/last step, origin and fate (graph.lineage_write)."""
    n = int(ont.n_features)
    stats = ont.feature_stats
    cols: dict[str, list[Any]] = {"kind": ["feature"] * n}
    birth = np.asarray(stats.get("birth_step", np.full(n, OPEN)), dtype=np.int64)
    death = np.asarray(stats.get("death_step", np.full(n, OPEN)), dtype=np.int64)
    born = birth != OPEN
    fork = np.full(n, OPEN, dtype=np.int64)
    if born.any():
        fork[born] = fork_keys(birth[born], death[born])
    cols["valid_from"] = _steps_or_none(birth)
    cols["valid_to"] = _steps_or_none(np.where(born, death, OPEN))
    fork_col = np.asarray(fork, dtype=object)
    fork_col[~born] = None
    cols["fork"] = fork_col.tolist()
    for name, values in sorted(stats.items()):
        arr = np.asarray(values)
        if arr.shape != (n,):
            continue
        if name.endswith("_step") and arr.dtype.kind in "iu":
            cols[name] = _steps_or_none(arr)
        else:
            cols[name] = _nullable(arr)
    cols["activation_rate"] = activation_rates(stack).tolist()
    # without a lineage its properties are null, so a run re-ingested as a fixed dictionary
    # loses them (null removes; a node without them is unchanged)
    cols.update(feature_columns(lineage) if lineage is not None else
                dict.fromkeys(LINEAGE_FEATURE_PROPS, [None] * n))
    props = _columns_to_props(cols, n)
    return [{"index": i, "props": p} for i, p in enumerate(props)]


def _interval_props(rel: Relations, run_id: str) -> list[dict[str, Any]]:
    cols: dict[str, list[Any]] = {
        "run_id": [run_id] * len(rel),
        "valid_from": rel.valid_from.astype(np.int64).tolist(),
        "valid_to": _steps_or_none(rel.valid_to),
        "fork": fork_keys(rel.valid_from, rel.valid_to).tolist(),
    }
    for name, values in sorted(rel.stats.items()):
        cols[name] = _nullable(np.asarray(values, dtype=np.float64))
    return _columns_to_props(cols, len(rel))


def relation_rows(ont: Ontology, rtype: str, run_id: str) -> list[Row]:
    kind = INTERVAL_RELS[rtype]
    rel = ont.activations if kind == "activates" else ont.relations.of_kind(kind)
    props = _interval_props(rel, run_id)
    a, b = rel.a.tolist(), rel.b.tolist()
    if rtype in ("ACTIVATES", "CONNECTED"):
        names = ont.concepts
        a = [names[i] for i in a]
        if rtype == "CONNECTED":
            b = [names[i] for i in b]
    return [{"a": x, "b": y, "valid_from": p["valid_from"], "props": p}
            for x, y, p in zip(a, b, props, strict=True)]


def triad_rows(ont: Ontology, run_id: str) -> list[Row]:
    rel = ont.relations.of_kind("triad")
    props = _interval_props(rel, run_id)
    for p in props:
        del p["run_id"]
    return [{"input_a": x, "input_b": y, "output": z, "valid_from": p["valid_from"],
             "props": p}
            for x, y, z, p in zip(rel.a.tolist(), rel.b.tolist(), rel.c.tolist(), props,
                                  strict=True)]


def event_rows(ont: Ontology) -> list[Row]:
    """One row per event; ``uid`` is JSON of (kind, step, concept, feature, partner/metric)."""
    ev = ont.events
    names = ont.concepts
    rows: list[Row] = []
    seen: set[str] = set()
    for kind, step, ci, fi, detail in zip(ev.kind.tolist(), ev.step.tolist(),
                                          ev.concept.tolist(), ev.feature.tolist(),
                                          ev.detail.tolist(), strict=True):
        if kind not in EVENT_LABELS:
            continue
        props: dict[str, Any] = {"kind": kind, "step": int(step)}
        if ci >= 0:
            props["concept"] = names[ci]
        if fi >= 0:
            props["feature"] = int(fi)
        extra = json.loads(detail) if detail else {}
        if not isinstance(extra, dict):
            extra = {"detail": detail}
        partner = extra.pop("b", extra.pop("partner", None))
        if partner is not None:
            props["partner"] = names[partner] if isinstance(partner, int) else str(partner)
        for k, v in extra.items():
            if isinstance(v, (str, int, float, bool)) or v is None:
                props.setdefault(k, v)
            else:
                props.setdefault(k, json.dumps(v, sort_keys=True))
        subject = props.get("partner", props.get("metric"))
        uid = json.dumps([kind, int(step), props.get("concept"), props.get("feature"), subject],
                         ensure_ascii=False)
        if uid in seen:
            log.warning("duplicate event %s skipped", uid)
            continue
        seen.add(uid)
        rows.append({"uid": uid, "props": props})
    return rows


def desired_tables(ont: Ontology, stack: CodeStack, run_id: str,
                   lineage: Lineage | None = None) -> dict[str, list[Row]]:
    """The complete desired state of a run, table by table (see table_specs). ``lineage``
    (None for a fixed dictionary) adds the lineage properties, links and events."""
    tables = {"Checkpoint": checkpoint_rows(ont, stack), "NEXT": next_rows(ont, run_id),
              "Concept": concept_rows(ont, stack),
              "Feature": feature_rows(ont, stack, lineage)}
    for rtype in INTERVAL_RELS:
        tables[rtype] = relation_rows(ont, rtype, run_id)
    for kind, rtype in LINEAGE_RELS.items():
        tables[rtype] = [] if lineage is None else link_rows(lineage, kind, run_id)
    tables["Triad"] = triad_rows(ont, run_id)
    tables["Event"] = event_rows(ont)
    if lineage is not None:
        tables["Event"] += lineage_event_rows(lineage)
    return tables


# --------------------------------------------------------------------------- the ingest

def _load(source: Any, format: str, progress: bool, lineage_options: dict[str, Any] | None = None,
          cluster: Any = None) -> tuple[CodeStack, Any, str]:
    """(stack, lineage or None, source): per-checkpoint dictionaries are matched first."""
    from ontochron.lineage.pipeline import load_aligned
    return load_aligned(source, format=format, progress=progress, scheduler=cluster,
                        **(lineage_options or {}))


def _analyze(stack: CodeStack, compat: str | None, config: Any, progress: bool,
             cluster: Any = None) -> Ontology:
    from ontochron.ontology import OntologyConfig, analyze
    if isinstance(config, dict):
        config = OntologyConfig(**config)
    return analyze(stack, config, compat=compat, progress=progress, scheduler=cluster)


def _run_props(ont: Ontology, stack: CodeStack, name: str, source: str) -> dict[str, Any]:
    meta = stack.metadata[0] if stack.metadata else {}
    return {"name": name, "source": source,
            "extractor": str(meta.get("extractor", ont.summary.get("extractor", "unknown"))),
            "mode": str(ont.summary.get("mode", "native")),
            "n_features": int(ont.n_features), "n_concepts": len(ont.concepts),
            "ontochron_version": __version__,
            "config": json.dumps(ont.config, sort_keys=True, default=str),
            "summary": json.dumps({k: v for k, v in ont.summary.items()
                                   if isinstance(v, (int, float, str, bool))},
                                  sort_keys=True, default=str)}


def default_run_name(source: Any) -> str:
    """``--run`` default: the source's file name without extension, or its directory name."""
    if isinstance(source, CodeStack):
        raise InputError("ingesting an in-memory stack needs run=NAME")
    path = Path(os.fspath(source)).absolute()
    if any(ch in path.name for ch in "*?["):  # a glob: name the run after its directory
        path = path.parent
    return path.stem if path.is_file() else path.name


#: Bumped when the rows written for the same Ontology change, invalidating stored digests.
WRITER_VERSION = 2  # 2: Feature rows name the lineage properties (null without one)


def table_digest(rows: list[Row]) -> str:
    """Content hash of a table's desired rows (what was fully written when stored)."""
    h = hashlib.blake2b(digest_size=16)
    h.update(f"{WRITER_VERSION}|{__version__}|".encode())
    h.update(json.dumps(rows, sort_keys=True, ensure_ascii=False).encode())
    return h.hexdigest()


def _stored_digests(store: GraphStore, run_id: str) -> tuple[dict[str, str], int | None]:
    """The run's stored table digests and its ``last_step`` (None when unknown)."""
    rows = store.run(load_cypher("graph/cypher/run_read"), run_id=run_id)
    if not rows:
        return {}, None
    last = rows[0]["props"].get("last_step")
    last = last if isinstance(last, int) else None
    try:
        got = json.loads(rows[0]["props"].get("digests") or "{}")
    except (TypeError, ValueError):
        return {}, last
    return (got if isinstance(got, dict) else {}), last


def _clip_interval(row: Row, last: int) -> Row:
    """An interval row as it was when ``last`` was the run's last step (closed after it:
    open then)."""
    props = row["props"]
    if props.get("valid_to") is None or props["valid_to"] <= last:
        return row
    return {**row, "props": {**props, "valid_to": None, "fork": OPEN_FORK}}


def prior_rows(name: str, rows: list[Row], stack: CodeStack, steps: np.ndarray,
               last: int) -> list[Row] | None:
    """The rows table ``name`` would have had if the source had ended at step ``last``
    (None where that cannot be derived without re-analysis, e.g. feature statistics).

    Appending checkpoints cannot change closed intervals or earlier values, so this is
    usually what an earlier ingest wrote; ``write_ontology`` uses it only when its digest
    equals the stored one, and then diffs against it instead of reading the table back.
    """
    if name in INTERVAL_RELS or name == "Triad":
        return [_clip_interval(r, last) for r in rows if r["props"]["valid_from"] <= last]
    if name == "Checkpoint":
        return [r for r in rows if r["step"] <= last]
    if name == "NEXT":
        return [r for r in rows if r["b"] <= last]
    if name in LINEAGE_RELS.values():
        return [r for r in rows if r["props"]["step"] <= last]
    if name == "Event":
        return [r for r in rows if r["props"]["step"] <= last]
    if name == "Concept":
        k = int(np.searchsorted(steps, last, side="right"))
        present = np.asarray(stack.present, dtype=bool)[:k]
        seen = present.any(axis=0)
        last_idx = k - 1 - present[::-1].argmax(axis=0)
        last_seen = steps[np.minimum(last_idx, max(k - 1, 0))].tolist()
        return [{**r, "props": {**r["props"], "last_seen": last_seen[i]}}
                for i, r in enumerate(rows) if seen[i]] if k else []
    return None


def prior_features(store: GraphStore, run_id: str, rows: list[Row], steps: np.ndarray,
                   last: int) -> list[Row] | None:
    """Feature rows as of step ``last``: statistics read from the graph (without the long
    per-checkpoint lists, whose earlier values cannot change) and the lists (LIST_PROPS) cut to
    the checkpoints up to ``last``; lineages that start after ``last`` are left out. Rows
    carry their element ``id``; None if one is missing."""
    k = int(np.searchsorted(steps, last, side="right"))
    got = {r["index"]: r for r in
           store.run(load_cypher("graph/cypher/feature_read_stats"), run_id=run_id)}
    out = []
    for r in rows:
        g = got.get(r["index"])
        if g is None:
            first = r["props"].get("first_step")
            if first is not None and first > last:  # a lineage that starts after ``last``
                continue
            return None
        props = {n: (v[:k] if n in LIST_PROPS and isinstance(v, list) else g["props"].get(n))
                 for n, v in r["props"].items()}
        out.append({"index": r["index"], "props": props, "id": g["id"]})
    return out


def _verified_prior(store: GraphStore, run_id: str, name: str, rows: list[Row],
                    stack: CodeStack, steps: np.ndarray, last: int,
                    digest: str) -> list[Row] | None:
    """The table as of step ``last`` (prior_rows / prior_features) if its digest equals the
    stored one, i.e. it is exactly what the graph holds; else None (read the table)."""
    prior = prior_rows(name, rows, stack, steps, last)
    if prior is None and name == "Feature":
        prior = prior_features(store, run_id, rows, steps, last)
        if prior is not None and table_digest(
                [{"index": r["index"], "props": r["props"]} for r in prior]) == digest:
            return prior
        return None
    return prior if prior is not None and table_digest(prior) == digest else None


def append_updates(update: list[Row], prior: list[Row]) -> tuple[list[Row], list[Row]]:
    """Split Feature updates into appends to ``activation_rate`` (the stored list is a prefix
    of the new one; only the new values are sent) and ordinary updates."""
    old = {r["index"]: r["props"].get("activation_rate") for r in prior}
    appends, plain = [], []
    for r in update:
        new, have = r["props"].get("activation_rate"), old.get(r["index"])
        if isinstance(new, list) and isinstance(have, list) and new[:len(have)] == have:
            rest = {k: v for k, v in r["props"].items() if k != "activation_rate"}
            appends.append({"index": r["index"], "n": len(have), "tail": new[len(have):],
                            "props": rest})
        else:
            plain.append(r)
    return appends, plain


def _delete_rows(writer: BatchWriter, spec: TableSpec, keys: list[Row],
                 report: IngestReport) -> int:
    """Delete rows of one table by key. Feature deletes also remove, in the same batch
    transaction, the Label nodes that describe only those features (counted in ``report``)."""
    if spec.name != "Feature":
        return apply_diff(writer, spec, Diff(delete=keys))["deleted"]
    got: list[Row] = []
    writer.write(spec.cypher(spec.delete), keys, "Feature: delete", got)
    report.labels_deleted += sum(int(r["labels"] or 0) for r in got)
    return len(keys)


@dataclass
class _DiffState:
    """What reading the graph back found: per-table diffs, element ids for relationship
    creates, and the Feature rows whose per-checkpoint lists only grow (appendable)."""

    diffs: dict[str, Diff] = field(default_factory=dict)
    ids: IdMaps = field(default_factory=dict)
    appendable: list[Row] | None = None


def _lineage_to_write(lineage: Lineage | None, steps: np.ndarray,
                      n_features: int) -> Lineage | None:
    """The lineage to write: checked against the run; None for none or the identity (a fixed
    dictionary writes no lineage)."""
    if lineage is None:
        return None
    check_lineage(lineage, steps, n_features)
    return None if is_identity(lineage) else lineage


def _begin_run(store: GraphStore, ont: Ontology, stack: CodeStack, run_id: str,
               run_props: dict[str, Any] | None, lineage: Lineage | None,
               keep_digests: dict[str, str]) -> None:
    """Write the Run node before any table. Digests of the tables about to be written are
    dropped here and set again only after all writes (:func:`_finish_run`): a crash leaves them
    absent, forcing a full diff. Every Run property readers rely on (n_features, config, ...)
    is set even when the caller passes none or only some (report and plot read them back)."""
    props = {**_run_props(ont, stack, run_id, "in-memory"), **(run_props or {})}
    props["lineage"] = None if lineage is None else run_summary(lineage)
    props["digests"] = json.dumps(keep_digests, sort_keys=True)
    store.write(load_cypher("graph/cypher/run_begin"), run_id=run_id,
                created_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
                props=props)


def _read_and_diff(store: GraphStore, run_id: str, specs: dict[str, TableSpec],
                   desired: dict[str, list[Row]], same: set[str], stored: dict[str, str],
                   stored_last: int | None, stack: CodeStack, steps: np.ndarray,
                   report: IngestReport) -> _DiffState:
    """Diff every table against the graph. A table whose digest is unchanged is not read; one
    whose prior state (an earlier ingest of fewer checkpoints) can be rebuilt and verified by
    digest is diffed against that instead of being read back."""
    state = _DiffState()
    for name, spec in specs.items():
        if name in same:  # the graph already holds exactly these rows: nothing to read
            state.diffs[name] = Diff()
            report.tables[name] = {"created": 0, "updated": 0, "deleted": 0,
                                   "unchanged": len(desired[name])}
            continue
        t1 = time.perf_counter()
        current = None
        if name in stored and stored_last is not None and stored_last < int(steps[-1]):
            current = _verified_prior(store, run_id, name, desired[name], stack, steps,
                                      stored_last, stored[name])
            if current is not None:  # exactly what the graph holds: no need to read it back
                report.rebuilt.append(name)
                if name == "Feature":
                    state.ids[name] = {r["index"]: r.pop("id") for r in current}
                    state.appendable = current
        if current is None:
            current = read_table(store, spec, run_id)
            if spec.ids:  # element ids come free with the read
                state.ids[name] = {key_of(r, spec.key)[0]: r["id"] for r in current
                                   if "id" in r}
        t2 = time.perf_counter()
        rows = desired[name]
        if name in report.rebuilt:  # rows the prior state shares unchanged cannot differ
            shared = {id(r) for r in rows}.intersection(id(r) for r in current)
            rows = [r for r in rows if id(r) not in shared]
            current = [r for r in current if id(r) not in shared]
        diff = state.diffs[name] = diff_table(spec, rows, current)
        report.read_seconds[name] = (t2 - t1, time.perf_counter() - t2)
        report.tables[name] = {"created": 0, "updated": 0, "deleted": 0,
                               "unchanged": len(desired[name]) - len(diff.create)
                               - len(diff.update)}
    return state


def _apply_diffs(store: GraphStore, run_id: str, specs: dict[str, TableSpec],
                 state: _DiffState, same: set[str], writer: BatchWriter,
                 report: IngestReport) -> None:
    """Write the diffs: deletes first, links before the nodes they hang on (then the Labels
    orphaned by deleted features); then upserts, nodes first."""
    for name in reversed(list(specs)):
        if state.diffs[name].delete:
            done = _delete_rows(writer, specs[name], state.diffs[name].delete, report)
            report.tables[name]["deleted"] = done
    if "Feature" not in same:  # features may have gone (now or in an interrupted ingest)
        report.labels_deleted += sum(int(r["labels"] or 0) for r in store.write(
            load_cypher("graph/cypher/label_orphans_delete"), run_id=run_id))
    for name, spec in specs.items():
        t1 = time.perf_counter()
        update = state.diffs[name].update
        if name == "Feature" and state.appendable is not None and update:
            appends, update = append_updates(update, state.appendable)
            writer.write(load_cypher("graph/cypher/feature_update_append"), appends,
                         "Feature: append")
            report.tables[name]["updated"] += len(appends)
        done = apply_diff(writer, spec, Diff(update=update, create=state.diffs[name].create),
                          state.ids)
        report.table_seconds[name] = time.perf_counter() - t1
        report.tables[name]["updated"] += done["updated"]
        report.tables[name]["created"] = done["created"]


def _finish_run(store: GraphStore, ont: Ontology, run_id: str, steps: np.ndarray,
                digests: dict[str, str]) -> None:
    """Mark the ingest complete: steps, counts and every table's digest on the Run node."""
    store.write(load_cypher("graph/cypher/run_finish"), run_id=run_id,
                props={"steps": steps.tolist(), "n_checkpoints": int(steps.size),
                       "first_step": int(steps[0]), "last_step": int(steps[-1]),
                       "n_concepts": len(ont.concepts),
                       "digests": json.dumps(digests, sort_keys=True)})


def write_ontology(store: GraphStore, ont: Ontology, stack: CodeStack, run_id: str, *,
                   run_props: dict[str, Any] | None = None, progress: bool = True,
                   batch_size: int = BATCH_SIZE, report: IngestReport | None = None,
                   lineage: Lineage | None = None) -> IngestReport:
    """Bring run ``run_id`` in the graph to exactly the state of ``ont`` by diff.

    ``lineage``: how the features (columns of ``stack``, in lineage space) map onto each
    checkpoint's dictionary; None or the identity (a fixed dictionary) writes no lineage."""
    steps = np.asarray(ont.steps, dtype=np.int64)
    if steps.size == 0:
        raise InputError("the run has no checkpoints")
    lineage = _lineage_to_write(lineage, steps, int(ont.n_features))
    report = report or IngestReport(run_id, int(steps.size), int(steps[-1]))
    t0 = time.perf_counter()
    desired = desired_tables(ont, stack, run_id, lineage)
    report.seconds["build"] = time.perf_counter() - t0
    ensure_schema(store)
    t0 = time.perf_counter()
    specs = table_specs()
    want = {name: table_digest(rows) for name, rows in desired.items()}
    stored, stored_last = _stored_digests(store, run_id)
    same = {name for name in specs if stored.get(name) == want[name]}
    _begin_run(store, ont, stack, run_id, run_props, lineage,
               {n: want[n] for n in sorted(same)})
    state = _read_and_diff(store, run_id, specs, desired, same, stored, stored_last, stack,
                           steps, report)
    report.seconds["read+diff"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    writer = BatchWriter(store, run_id, batch_size, progress)
    _apply_diffs(store, run_id, specs, state, same, writer, report)
    _finish_run(store, ont, run_id, steps, want)
    report.seconds["write"] = time.perf_counter() - t0
    report.rows_written += writer.rows
    report.batches += writer.batches
    return report


def ingest(source: Any, *, run: str | None = None,
           store: GraphStore | StoreConfig | str | None = None,
           format: str = "auto", compat: str | None = None, config: Any = None,
           progress: bool = True, data_dir: str | os.PathLike[str] | None = None,
           batch_size: int = BATCH_SIZE, lineage: Lineage | None = None,
           lineage_options: dict[str, Any] | None = None,
           source_name: str | None = None, scheduler: Any = None,
           workers: int | None = None) -> IngestReport:
    """Load ``source`` (a path any reader accepts, or a CodeStack), analyze it and write the
    run into the graph by diff. ``store``: an open GraphStore, a URI, or None for the
    configured default (embedded), or a StoreConfig. ``lineage``: the lineage of a stack in
    lineage space (None: a fixed dictionary). The source is loaded and analyzed before the
    store is opened. ``source_name``: what ``Run.source`` records instead of the path read
    (watch reads a view of the ready checkpoints of its directory). ``scheduler`` (an address,
    ``"local"`` with ``workers`` processes, or an open Cluster) runs the per-checkpoint and
    per-pair work on Dask; the graph is the same. Returns what changed."""
    from ontochron.distributed import open_cluster

    t0 = time.perf_counter()
    with open_cluster(scheduler, workers) as cluster:
        stack, found, src = _load(source, format, progress, lineage_options, cluster)
        lineage = lineage if lineage is not None else found
        t1 = time.perf_counter()
        ont = _analyze(stack, compat, config, progress, cluster)
        t2 = time.perf_counter()
    run_id = run if run is not None else default_run_name(source)
    if not isinstance(run_id, str) or not run_id.strip():
        raise InputError(f"run name must be a non-empty string, got {run_id!r}")
    steps = np.asarray(ont.steps, dtype=np.int64)
    report = IngestReport(run_id, int(steps.size), int(steps[-1]) if steps.size else -1)
    report.seconds.update({"load": t1 - t0, "analyze": t2 - t1})
    report.notes = list(ont.power.notes) if ont.power is not None else []
    report.ontology, report.stack, report.lineage = ont, stack, lineage
    src = source_name if source_name is not None else src
    owned = not isinstance(store, GraphStore)
    if isinstance(store, GraphStore):
        gs = store
    elif isinstance(store, StoreConfig):
        gs = open_store(config=store)
    else:
        gs = open_store(store, data_dir=data_dir)
    try:
        return write_ontology(gs, ont, stack, run_id,
                              run_props=_run_props(ont, stack, run_id, src),
                              progress=progress, batch_size=batch_size, report=report,
                              lineage=lineage)
    finally:
        if owned:
            gs.close()


def delete_run(store: GraphStore, run_id: str) -> None:
    """Remove every node (and so relationship) of one run, its Label and CausalTest nodes
    included (they carry its ``run_id``)."""
    store.write(load_cypher("graph/cypher/run_delete"), run_id=run_id)
