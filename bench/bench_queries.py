"""Latency of the named queries on the embedded store at scale. The run is the graph
engineer's synthetic one (``bench/bench_graph.py``: ACTIVATES intervals with short lifetimes,
so that ~1,000 hold at any step) extended with CONNECTED / DUAL / DEPENDS_ON / PARENT_OF
intervals and per-feature stability and layers, written through the real ingest writer.
Reports the median of ``--repeat`` runs of each query. Target: a time slice of ~1,000 rows and
a single-feature lineage <= 200 ms median.

    .venv/bin/python bench/bench_queries.py [--intervals 450000] [--extra 60000] [--quick]
        [--clients 8] [--load-rounds 6] [--data-dir DIR]

The load phase then runs every named query from ``--clients`` concurrent driver clients.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_graph import SLICE_QUERY  # noqa: E402
from bench_graph import synthetic_run as activations_run  # noqa: E402

from ontochron.graph.ingest import write_ontology  # noqa: E402
from ontochron.graph.schema import stab_keys  # noqa: E402
from ontochron.graph.store import open_store  # noqa: E402
from ontochron.ontology.intervals import OPEN  # noqa: E402
from ontochron.ontology.result import Ontology, Relations  # noqa: E402
from ontochron.queries import list_runs, run_query  # noqa: E402

# Share of the extra (non-ACTIVATES) interval relationships per kind.
EXTRA = {"connection": 0.25, "dual": 0.25, "dependency": 0.3, "hierarchy": 0.2}


def _extra_relations(rng: np.random.Generator, n: int, n_concepts: int, n_features: int,
                     steps: np.ndarray) -> Relations:
    """About ``n`` random intervals of the feature/concept relations, with the same short
    geometric lifetimes as the ACTIVATES of bench_graph, unique on (kind, a, b, valid_from)."""
    parts = []
    for kind, share in EXTRA.items():
        m = int(n * share)
        hi = n_concepts if kind == "connection" else n_features
        a, b = rng.integers(0, hi, m), rng.integers(0, hi, m)
        if kind in ("connection", "dual"):  # stored from the lower to the higher index
            a, b = np.minimum(a, b), np.maximum(a, b)
        start = rng.integers(0, steps.size, m)
        end = start + rng.geometric(0.7, m)
        keep = np.unique(np.stack([a, b, start], axis=1), axis=0, return_index=True)[1]
        keep = keep[a[keep] != b[keep]]
        a, b, start, end = a[keep], b[keep], start[keep], end[keep]
        to = np.where(end >= steps.size, OPEN, steps[np.minimum(end, steps.size - 1)])
        k = a.size
        parts.append(Relations(np.full(k, kind, dtype=object), a, b, np.full(k, -1), steps[start],
                               to, {"p_value": rng.random(k)}))
    return Relations.concat(parts)


def synthetic_run(n_intervals: int, n_extra: int, n_features: int, n_concepts: int,
                  n_steps: int, seed: int = 0) -> tuple[Ontology, object]:
    """bench_graph's run plus ``n_extra`` other interval relations, stability and layers."""
    ont, stack = activations_run(n_concepts, n_features, n_intervals, n_steps, seed)
    rng = np.random.default_rng(seed + 1)
    ont.relations = _extra_relations(rng, n_extra, n_concepts, n_features, ont.steps)
    ont.feature_stats["stability"] = rng.random(n_features)
    ont.feature_stats["layer"] = rng.integers(0, 4, n_features)
    return ont, stack


def _median_ms(fn, repeat: int) -> tuple[float, float]:
    """Median wall time (ms) of ``repeat`` calls after one warm-up, and the median row count."""
    fn()  # warm-up (plan caches, page cache)
    times, rows = [], []
    for _ in range(repeat):
        t0 = time.perf_counter()
        rows.append(len(fn()))
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times), statistics.median(rows)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--intervals", type=int, default=450_000, help="ACTIVATES intervals drawn")
    ap.add_argument("--extra", type=int, default=60_000,
                    help="CONNECTED/DUAL/DEPENDS_ON/PARENT_OF intervals drawn")
    ap.add_argument("--features", type=int, default=10_000)
    ap.add_argument("--concepts", type=int, default=90_000)
    ap.add_argument("--steps", type=int, default=500)
    ap.add_argument("--repeat", type=int, default=15)
    ap.add_argument("--quick", action="store_true", help="a tenth of the default sizes")
    ap.add_argument("--heap", default="1g")
    ap.add_argument("--data-dir", type=Path, default=None,
                    help="keep the store here and reuse it when it already holds the run "
                         "'bench' (compare code versions on one loaded store); default: a "
                         "temporary store")
    ap.add_argument("--clients", type=int, default=8,
                    help="concurrent driver clients of the load phase (0: skip it)")
    ap.add_argument("--load-rounds", type=int, default=6,
                    help="rounds of every named query per client in the load phase")
    args = ap.parse_args()
    if args.quick:
        args.intervals, args.extra, args.concepts = 45_000, 6_000, 9_000
    ont, stack = synthetic_run(args.intervals, args.extra, args.features, args.concepts,
                               args.steps)
    n_rel = len(ont.activations) + len(ont.relations)
    with tempfile.TemporaryDirectory() as tmp, \
            open_store(data_dir=args.data_dir or Path(tmp) / "store", heap=args.heap) as store:
        counts = {k: int(np.count_nonzero(ont.relations.kind == k)) for k in EXTRA}
        sizes = (f"{n_rel:,} interval relationships (ACTIVATES {len(ont.activations):,}, "
                 + ", ".join(f"{k} {v:,}" for k, v in counts.items())
                 + f"), {args.features:,} features, {args.concepts:,} concepts, "
                 f"{args.steps} checkpoints")
        if args.data_dir is not None and "bench" in list_runs(store):
            print(f"reusing the run 'bench' in {args.data_dir} (written as {sizes})")
        else:
            t0 = time.perf_counter()
            write_ontology(store, ont, stack, "bench", progress=True)
            print(f"ingested {sizes} in {time.perf_counter() - t0:.1f}s")
        rng = np.random.default_rng(1)
        last = int(ont.steps[-1])

        def step() -> int:
            return int(ont.steps[rng.integers(0, ont.steps.size)])

        cases = {
            "hierarchy_at_step (random step)":
                lambda: run_query(store, "hierarchy_at_step", run_id="bench", step=step()),
            "graph_at_step ACTIVATES only (random step)":
                lambda: run_query(store, "graph_at_step", run_id="bench", step=step(),
                                  types=["ACTIVATES"]),
            "for comparison: bench_graph's bare slice":
                lambda: store.run(SLICE_QUERY, run_id="bench", t=(s := step()),
                                  forks=stab_keys(s)),
            "graph_at_step (random step)":
                lambda: run_query(store, "graph_at_step", run_id="bench", step=step()),
            "feature_lineage (random feature)":
                lambda: run_query(store, "feature_lineage", run_id="bench",
                                  feature=int(rng.integers(0, args.features))),
            "concept_lineage (random concept)":
                lambda: run_query(store, "concept_lineage", run_id="bench",
                                  concept=f"concept_{int(rng.integers(0, args.concepts))}"),
            "diff_checkpoints (random step, +100)":
                lambda: run_query(store, "diff_checkpoints", run_id="bench",
                                  **_pair(step(), last)),
            "feature_stability (limit 10)":
                lambda: run_query(store, "feature_stability", run_id="bench"),
        }
        print(f"load average {_load_avg()}")
        print(f"{'query':<40} {'median ms':>10} {'median rows':>12}")
        for name, fn in cases.items():
            ms, rows = _median_ms(fn, args.repeat)
            print(f"{name:<40} {ms:>10.1f} {rows:>12.0f}")
        if args.clients > 0:
            _load(store, ont, args, last)
    return 0


def _load(store, ont, args, last: int) -> None:
    """``--clients`` threads, each with its own driver, run every named query in random order
    ``--load-rounds`` times; prints throughput and per-query p50/p99 under that load."""
    import threading

    from ontochron.graph.store import connect

    cfg = store.config
    uri, db = store.uri, store.database
    pw = store.server.password if store.server is not None else None
    if pw is None:
        from ontochron.graph import embedded as emb
        pw = emb.read_password(cfg.data_dir)
    lat: dict[str, list[float]] = {}
    guard = threading.Lock()

    def client(seed: int) -> None:
        rng = np.random.default_rng(100 + seed)
        with connect(uri, "root", pw, db) as gs:
            def step() -> int:
                return int(ont.steps[rng.integers(0, ont.steps.size)])
            calls = {
                "graph_at_step": lambda: run_query(gs, "graph_at_step", run_id="bench",
                                                   step=step()),
                "hierarchy_at_step": lambda: run_query(gs, "hierarchy_at_step", run_id="bench",
                                                       step=step()),
                "feature_lineage": lambda: run_query(
                    gs, "feature_lineage", run_id="bench",
                    feature=int(rng.integers(0, args.features))),
                "concept_lineage": lambda: run_query(
                    gs, "concept_lineage", run_id="bench",
                    concept=f"concept_{int(rng.integers(0, args.concepts))}"),
                "diff_checkpoints": lambda: run_query(gs, "diff_checkpoints", run_id="bench",
                                                      **_pair(step(), last)),
                "feature_stability": lambda: run_query(gs, "feature_stability", run_id="bench"),
            }
            names = list(calls)
            for _ in range(args.load_rounds):
                for i in rng.permutation(len(names)):
                    t0 = time.perf_counter()
                    calls[names[i]]()
                    dt = time.perf_counter() - t0
                    with guard:
                        lat.setdefault(names[i], []).append(dt)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(args.clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    total = sum(len(v) for v in lat.values())
    print(f"load: {args.clients} clients, {total} queries in {wall:.1f}s = "
          f"{total / wall:.1f} queries/s (load average after: {_load_avg()})")
    print(f"{'query':<24} {'n':>5} {'p50 ms':>9} {'p99 ms':>9}")
    for name, v in lat.items():
        ms = np.array(v) * 1000
        print(f"{name:<24} {ms.size:>5} {np.percentile(ms, 50):>9.1f} "
              f"{np.percentile(ms, 99):>9.1f}")


def _load_avg() -> str:
    """The host's 1/5/15-minute load averages (other jobs distort the figures)."""
    import os
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _pair(t: int, last: int) -> dict[str, int]:
    a = min(t, last - 100)
    return {"from": a, "to": a + 100}


if __name__ == "__main__":
    sys.exit(main())
