"""Time slices on an already loaded store: ``graph_at_step`` (all types, ACTIVATES only) and
bench_graph's bare slice, interleaved over ``--queries`` random steps; p50/p90 wall ms and the
client's CPU ms per call. Imports whichever ``ontochron`` is first on PYTHONPATH, so two code
versions can be compared in alternation on one store:

    ONTOCHRON_STORE_IDLE=900 .venv/bin/python bench/bench_queries.py --data-dir /tmp/qstore \\
        --clients 0 --repeat 1                  # write the 510k run once, keep the server up
    for t in OLD_TREE NEW_TREE OLD_TREE NEW_TREE; do
        PYTHONPATH=$t .venv/bin/python bench/bench_slices.py /tmp/qstore; done
    .venv/bin/ontochron store stop --data-dir /tmp/qstore
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

# ontochron first, from PYTHONPATH: bench_graph puts this checkout on sys.path when imported
from ontochron.graph.schema import stab_keys  # noqa: E402, I001
from ontochron.graph.store import open_store  # noqa: E402
from ontochron.queries import run_query  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_graph import SLICE_QUERY  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("data_dir", type=Path, help="store holding bench_queries' run 'bench'")
    ap.add_argument("--queries", type=int, default=15, help="random steps, each runs every case")
    ap.add_argument("--steps", type=int, default=500, help="checkpoints of the run (x100)")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    last = (args.steps - 1) * 100
    with open_store(data_dir=args.data_dir) as store:
        cases = {
            "graph_at_step": lambda s: len(run_query(store, "graph_at_step", run_id="bench",
                                                     step=s)),
            "graph_at_step ACTIVATES": lambda s: len(run_query(
                store, "graph_at_step", run_id="bench", step=s, types=["ACTIVATES"])),
            "bare slice": lambda s: len(store.run(SLICE_QUERY, run_id="bench", t=s,
                                                  forks=stab_keys(s, last))),
        }
        for fn in cases.values():  # warm-up
            fn(last // 2)
        rng = np.random.default_rng(args.seed)
        wall: dict[str, list[float]] = {k: [] for k in cases}
        cpu: dict[str, list[float]] = {k: [] for k in cases}
        rows: dict[str, list[int]] = {k: [] for k in cases}
        for _ in range(args.queries):
            s = int(rng.integers(0, args.steps)) * 100
            for k, fn in cases.items():
                c0, t0 = time.process_time(), time.perf_counter()
                rows[k].append(fn(s))
                wall[k].append((time.perf_counter() - t0) * 1000)
                cpu[k].append((time.process_time() - c0) * 1000)
    out = {k: {"p50_ms": round(statistics.median(v), 1),
               "p90_ms": round(float(np.quantile(v, 0.9)), 1),
               "client_cpu_ms": round(statistics.median(cpu[k]), 1),
               "median_rows": int(statistics.median(rows[k]))} for k, v in wall.items()}
    print(json.dumps({"ontochron": str(Path(sys.modules["ontochron"].__file__).parent),
                      "load_average": [round(x, 2) for x in os.getloadavg()], **out}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
