"""Scaling of ``analyze`` on a Dask LocalCluster: the in-process run, then 1 and 2 local
worker processes on the same per-checkpoint npz files (workers read their own checkpoint, as
on a cluster with a shared file system), the per-task costs measured by Dask's task stream,
and the projected wall time on N workers. Results are checked identical to in-process.

    .venv/bin/python bench/bench_distributed.py                 # reduced: 4096 x 1250 x 12
    .venv/bin/python bench/bench_distributed.py --full          # 16384 x 5000 x 100 (long)
    .venv/bin/python bench/bench_distributed.py --size 2048x500x8 --workers 1 2 4

Projection: T(N) = client + tasks / N, where ``tasks`` is the summed compute time of the
checkpoint tasks (task stream of the 1-worker run) and ``client`` the rest of the 1-worker
wall time (reading, lifecycle and curves, interval bookkeeping, assembly, transfers), which
does not shrink with workers. Peak RSS: the client process, and the largest worker process.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ontochron.distributed import open_cluster  # noqa: E402
from ontochron.ingest.readers import load_stack, save_npz  # noqa: E402
from ontochron.ontology import OntologyConfig, analyze  # noqa: E402
from tests.synthetic import drifting_stack  # noqa: E402

REDUCED, FULL = "4096x1250x12", "16384x5000x100"


def rss_gib(who: int) -> float:
    return resource.getrusage(who).ru_maxrss / 2**20


def same(a, b) -> bool:
    """Same summary, events and relations (every column)."""
    if a.summary != b.summary or len(a.relations) != len(b.relations):
        return False
    for x, y in ((a.events, b.events), (a.relations, b.relations)):
        for name in ("kind", "step", "a", "b", "c", "valid_from", "valid_to", "concept",
                     "feature", "detail"):
            if hasattr(x, name) and not np.array_equal(getattr(x, name), getattr(y, name)):
                return False
    return all(np.array_equal(a.relations.stats[k], b.relations.stats[k], equal_nan=True)
               for k in a.relations.stats)


def run_on(stack, config, n: int) -> tuple[float, float, int, object]:
    """(wall s, summed task compute s, tasks, ontology) on a LocalCluster of n workers."""
    from distributed import get_task_stream

    with open_cluster("local", n) as cluster:
        with get_task_stream(cluster.client) as ts:
            t0 = time.perf_counter()
            ont = analyze(stack, config, progress=False, scheduler=cluster)
            wall = time.perf_counter() - t0
        tasks = [t for t in ts.data if str(t["key"]).startswith("ontochron_checkpoint")]
        compute = sum(s["stop"] - s["start"] for t in tasks for s in t["startstops"]
                      if s["action"] == "compute")
    return wall, compute, len(tasks), ont


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", default=REDUCED, help=f"FEATURESxCONCEPTSxSTEPS (default "
                   f"{REDUCED}, a reduced size)")
    p.add_argument("--full", action="store_true", help=f"the full size, {FULL} (long)")
    p.add_argument("--density", type=float, default=0.02)
    p.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    p.add_argument("--project", type=int, nargs="+", default=[1, 2, 4, 8, 16, 32, 100])
    args = p.parse_args()
    f, c, t = (int(v) for v in (FULL if args.full else args.size).lower().split("x"))
    print(f"== {f} features x {c} concepts x {t} checkpoints, density {args.density}; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    config = OntologyConfig()
    with tempfile.TemporaryDirectory() as tmp:
        stack = drifting_stack(t, c, f, density=args.density)
        for i in range(stack.n_steps):
            save_npz([stack.snapshot(i)], Path(tmp) / f"ckpt_{i:04d}.npz")
        del stack
        t0 = time.perf_counter()
        stack = load_stack(tmp)
        print(f"read {t} npz files       {time.perf_counter() - t0:8.2f} s")
        t0 = time.perf_counter()
        base = analyze(stack, config, progress=False, workers=1)
        wall0 = time.perf_counter() - t0
        print(f"in-process, 1 thread   {wall0:8.2f} s   client peak RSS "
              f"{rss_gib(resource.RUSAGE_SELF):.2f} GiB")
        results = {}
        for n in args.workers:
            wall, compute, n_tasks, ont = run_on(stack, config, n)
            results[n] = (wall, compute)
            print(f"LocalCluster {n} worker{'s' if n > 1 else ' '}  {wall:8.2f} s   "
                  f"{n_tasks} tasks, {compute / max(n_tasks, 1):.3f} s each "
                  f"({compute:.2f} s in all); identical: {same(base, ont)}")
        print(f"peak RSS: client {rss_gib(resource.RUSAGE_SELF):.2f} GiB, largest worker "
              f"{rss_gib(resource.RUSAGE_CHILDREN):.2f} GiB")
        wall1, tasks1 = results.get(1, next(iter(results.values())))
        client = max(wall1 - tasks1, 0.0)
        print(f"projection: client {client:.2f} s + tasks {tasks1:.2f} s / N")
        for n in args.project:
            note = f"   (measured {results[n][0]:.2f} s)" if n in results else ""
            print(f"  N = {n:<4} {client + tasks1 / n:8.2f} s{note}")


if __name__ == "__main__":
    main()
