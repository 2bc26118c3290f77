"""Cost of the connection stage alone under the default null ("auto") against the BiCM
(what "auto" picked at every checkpoint over 64 concepts before it chose by cost), on the
scale benchmark's drifting sparse codes at reduced sizes, both in one process.

    nice .venv/bin/python bench/bench_connection_null.py
    nice .venv/bin/python bench/bench_connection_null.py --sizes 16384x1000x4 16384x2000x3

Each checkpoint's tests (``ConnectionTracker.compute``) are timed under both nulls,
alternating, best of ``--repeat``; the ratio auto / bicm is what carries to the full
16,384 x 5,000 x 100 run (whose connection stage is this per-checkpoint cost x 100).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ontochron.ontology.connections import ConnectionTracker  # noqa: E402
from tests.synthetic import drifting_stack  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", nargs="+", default=["16384x1000x3", "4096x2000x3"],
                   help="FEATURESxCONCEPTSxSTEPS")
    p.add_argument("--density", type=float, default=0.02)
    p.add_argument("--repeat", type=int, default=2)
    args = p.parse_args()
    for size in args.sizes:
        f, c, t = (int(v) for v in size.lower().split("x"))
        stack = drifting_stack(t, c, f, density=args.density)
        best = {"bicm": [], "auto": []}
        chosen = []
        for i in range(t):
            codes, present = stack.codes[i], np.ones(c, dtype=bool)
            for null in ("bicm", "auto"):
                tr = ConnectionTracker(c, f, null=null)
                times = []
                for _ in range(args.repeat):
                    t0 = time.perf_counter()
                    step = tr.compute(codes, present, i)
                    times.append(time.perf_counter() - t0)
                best[null].append(min(times))
                if null == "auto":
                    chosen.append(step.power.null)
        b, a = np.mean(best["bicm"]), np.mean(best["auto"])
        print(f"{size} density {args.density}: bicm {b:.3f} s/checkpoint, auto {a:.3f} "
              f"s/checkpoint (ratio {a / b:.3f}); auto chose {sorted(set(chosen))}")


if __name__ == "__main__":
    main()
