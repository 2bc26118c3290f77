"""Benchmark the graph writer and time slices on the embedded store (ArcadeDB, -Xmx1g).

Builds a synthetic run directly as an Ontology (no detection): ``--concepts`` + ``--features``
nodes, ``--intervals`` ACTIVATES intervals over ``--steps`` checkpoints with short random
lifetimes so that about ``--slice`` relations hold at any step. Measures:

* full ingest: relationship rows/s for ACTIVATES (target >= 20,000), node rows/s;
* "as of step t" latency, median over ``--queries`` random steps, with the documented
  fork-index query (target <= 200 ms for ~1,000 rows) and, for comparison, a plain
  run-scoped relationship scan;
* a no-op re-ingest (read + diff of the whole run) and an incremental one (checkpoints added).

Run: ``.venv/bin/python bench/bench_graph.py`` (defaults are the targets' scale; use
``--intervals 50000`` etc. for a quick look). Prints one JSON object of figures.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ontochron.graph.ingest import write_ontology  # noqa: E402
from ontochron.graph.schema import stab_keys  # noqa: E402
from ontochron.graph.store import GraphStore, open_store  # noqa: E402
from ontochron.ingest.snapshot import CodeStack  # noqa: E402
from ontochron.ontology.intervals import OPEN  # noqa: E402
from ontochron.ontology.result import Events, Ontology, Relations  # noqa: E402

SLICE_QUERY = ("MATCH (c)-[r:ACTIVATES]->(f) WHERE r.run_id = $run_id AND r.fork IN $forks "
               "AND r.valid_from <= $t AND (r.valid_to IS NULL OR r.valid_to > $t) "
               "RETURN c.name AS concept, f.index AS feature")
SCAN_QUERY = ("MATCH (c)-[r:ACTIVATES]->(f) WHERE r.run_id = $run_id "
              "AND r.valid_from <= $t AND (r.valid_to IS NULL OR r.valid_to > $t) "
              "RETURN c.name AS concept, f.index AS feature")


def synthetic_run(n_concepts: int, n_features: int, n_intervals: int, n_steps: int,
                  seed: int = 0) -> tuple[Ontology, CodeStack]:
    """A run whose ACTIVATES intervals are random (concept, feature) pairs with geometric
    lifetimes; the code stack is built from the same occurrences (consistent by design)."""
    rng = np.random.default_rng(seed)
    steps = np.arange(n_steps, dtype=np.int64) * 100
    c = rng.integers(0, n_concepts, n_intervals)
    f = rng.integers(0, n_features, n_intervals)
    start = rng.integers(0, n_steps, n_intervals)
    length = rng.geometric(0.7, n_intervals)
    end = np.minimum(start + length, n_steps)  # exclusive checkpoint index
    # one interval per (concept, feature, start); drop exact repeats of a key
    key = (c * n_features + f) * n_steps + start
    _, first = np.unique(key, return_index=True)  # sorted by key, as analyze's output is
    c, f, start, end = c[first], f[first], start[first], end[first]
    valid_to = np.where(end >= n_steps, OPEN, steps[np.minimum(end, n_steps - 1)])
    acts = Relations(np.full(c.size, "activates", dtype=object), c, f,
                     np.full(c.size, -1, dtype=np.int64), steps[start], valid_to)
    # codes per checkpoint from the occurrences (vectorized: repeat each interval per step)
    lens = end - start
    occ_t = np.repeat(start, lens) + (np.arange(lens.sum()) - np.repeat(np.cumsum(lens) - lens,
                                                                           lens))
    occ_c, occ_f = np.repeat(c, lens), np.repeat(f, lens)
    order = np.argsort(occ_t, kind="stable")
    occ_t, occ_c, occ_f = occ_t[order], occ_c[order], occ_f[order]
    bounds = np.searchsorted(occ_t, np.arange(n_steps + 1))
    codes = []
    for t in range(n_steps):
        s, e = bounds[t], bounds[t + 1]
        m = sp.csr_array((np.ones(e - s, dtype=bool), (occ_c[s:e], occ_f[s:e])),
                         shape=(n_concepts, n_features))
        m.sum_duplicates()
        codes.append(m)
    present = np.ones((n_steps, n_concepts), dtype=bool)
    names = [f"concept_{i}" for i in range(n_concepts)]
    stack = CodeStack(steps, names, n_features, codes, present, [None] * n_steps,
                      [{} for _ in range(n_steps)], [np.arange(n_concepts)] * n_steps,
                      [None] * n_steps)
    on = np.zeros((n_steps, n_features), dtype=bool)
    on[occ_t, occ_f] = True
    seen = on.any(axis=0)
    birth = np.where(seen, steps[on.argmax(axis=0)], OPEN)
    last = n_steps - 1 - on[::-1].argmax(axis=0)
    death = np.where(seen & (last < n_steps - 1), steps[np.minimum(last + 1, n_steps - 1)],
                     OPEN)
    ont = Ontology(steps=steps, concepts=names, n_features=n_features, events=Events.empty(),
                   relations=Relations.empty(), activations=acts, curves={},
                   feature_stats={"birth_step": birth.astype(np.int64),
                                  "death_step": death.astype(np.int64)},
                   summary={"mode": "native"}, config={})
    return ont, stack


def prefix(ont: Ontology, stack: CodeStack, k: int) -> tuple[Ontology, CodeStack]:
    """The same run cut after ``k`` checkpoints (intervals clipped and reopened)."""
    steps = ont.steps[:k]
    a = ont.activations
    keep = a.valid_from < steps[-1] + 1
    vt = a.valid_to[keep]
    vt = np.where((vt == OPEN) | (vt > steps[-1]), OPEN, vt)
    acts = Relations(a.kind[keep], a.a[keep], a.b[keep], a.c[keep], a.valid_from[keep], vt)
    sub = CodeStack(steps, stack.concepts, stack.n_features, stack.codes[:k],
                    stack.present[:k], stack.activations[:k], stack.metadata[:k],
                    stack.order[:k], stack.sources[:k])
    birth = ont.feature_stats["birth_step"]
    birth = np.where(birth > steps[-1], OPEN, birth)
    on = np.stack([np.bincount(c.indices, minlength=stack.n_features) > 0 for c in sub.codes])
    last = k - 1 - on[::-1].argmax(axis=0)
    death = np.where(on.any(axis=0) & (last < k - 1), steps[np.minimum(last + 1, k - 1)], OPEN)
    return (Ontology(steps, ont.concepts, ont.n_features, ont.events, ont.relations, acts,
                     {}, {"birth_step": birth, "death_step": death}, ont.summary, ont.config),
            sub)


def time_queries(store: GraphStore, query: str, steps: list[int], last: int,
                 run_id: str) -> tuple[list[float], list[int]]:
    times, sizes = [], []
    for t in steps:
        t0 = time.perf_counter()
        rows = store.run(query, run_id=run_id, t=t, forks=stab_keys(t, last_step=last))
        times.append(time.perf_counter() - t0)
        sizes.append(len(rows))
    return times, sizes


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--concepts", type=int, default=90_000)
    ap.add_argument("--features", type=int, default=10_000)
    ap.add_argument("--intervals", type=int, default=500_000)
    ap.add_argument("--steps", type=int, default=500)
    ap.add_argument("--incremental", type=int, default=10,
                    help="checkpoints withheld from the first ingest, then added")
    ap.add_argument("--queries", type=int, default=25)
    ap.add_argument("--scan-queries", type=int, default=3)
    ap.add_argument("--data-dir", default=None, help="embedded store dir (default: temp)")
    ap.add_argument("--heap", default="1g")
    ap.add_argument("--batch-size", type=int, default=20_000)
    ap.add_argument("--progress", action="store_true")
    args = ap.parse_args(argv)

    t0 = time.perf_counter()
    ont, stack = synthetic_run(args.concepts, args.features, args.intervals, args.steps)
    k = args.steps - args.incremental
    ont_k, stack_k = prefix(ont, stack, k)
    out: dict[str, object] = {"concepts": args.concepts, "features": args.features,
                              "intervals": len(ont.activations), "checkpoints": args.steps,
                              "build_s": round(time.perf_counter() - t0, 1)}
    tmp = tempfile.TemporaryDirectory(prefix="ontochron-bench-")
    data_dir = args.data_dir or tmp.name
    t0 = time.perf_counter()
    store = open_store("embedded", data_dir=data_dir, heap=args.heap)
    out["server_start_s"] = round(time.perf_counter() - t0, 1)
    try:
        run_id = "bench"
        rep = write_ontology(store, ont_k, stack_k, run_id, progress=args.progress,
                             batch_size=args.batch_size)
        n_rel = rep.tables["ACTIVATES"]["created"]
        n_nodes = sum(rep.tables[n]["created"] for n in ("Concept", "Feature", "Checkpoint"))
        node_s = sum(rep.table_seconds[n] for n in ("Concept", "Feature", "Checkpoint"))
        out["full_ingest"] = {
            "relationship_rows": n_rel,
            "relationship_rows_per_s": round(n_rel / rep.table_seconds["ACTIVATES"]),
            "node_rows": n_nodes, "node_rows_per_s": round(n_nodes / node_s),
            "seconds": {k2: round(v, 1) for k2, v in rep.seconds.items()}}
        t0 = time.perf_counter()
        rep2 = write_ontology(store, ont_k, stack_k, run_id, progress=args.progress,
                              batch_size=args.batch_size)
        out["noop_reingest_s"] = round(time.perf_counter() - t0, 1)
        out["noop_changed_rows"] = rep2.changed
        if args.incremental:
            t0 = time.perf_counter()
            rep3 = write_ontology(store, ont, stack, run_id, progress=args.progress,
                                  batch_size=args.batch_size)
            out["incremental"] = {
                "checkpoints_added": args.incremental,
                "seconds": round(time.perf_counter() - t0, 1),
                "rows_written": rep3.rows_written,
                "activates": {k2: v for k2, v in rep3.tables["ACTIVATES"].items()},
                "phases_s": {k2: round(v, 1) for k2, v in rep3.seconds.items()},
                "rebuilt_not_read": rep3.rebuilt,
                "read_s": {k2: round(v[0], 1) for k2, v in rep3.read_seconds.items()
                           if v[0] >= 0.05},
                "write_s": {k2: round(v, 1) for k2, v in rep3.table_seconds.items()
                            if v >= 0.05}}
        last = int(ont.steps[-1])
        rng = np.random.default_rng(1)
        qsteps = rng.integers(0, last + 1, args.queries).tolist()
        time_queries(store, SLICE_QUERY, qsteps[:3], last, run_id)  # warm-up
        times, sizes = time_queries(store, SLICE_QUERY, qsteps, last, run_id)
        out["time_slice_fork"] = {"median_ms": round(1000 * statistics.median(times), 1),
                                  "p90_ms": round(1000 * float(np.quantile(times, 0.9)), 1),
                                  "median_rows": int(statistics.median(sizes)),
                                  "n": len(times)}
        if args.scan_queries:
            times, sizes = time_queries(store, SCAN_QUERY, qsteps[:args.scan_queries], last,
                                        run_id)
            out["time_slice_scan"] = {"median_ms": round(1000 * statistics.median(times), 1),
                                      "median_rows": int(statistics.median(sizes)),
                                      "n": len(times)}
    finally:
        store.close()
        tmp.cleanup()
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
