"""Cost of power reporting and of the automatic connection null, as ratios in one process.

At the bench_vs_reptimeline size it times ``analyze`` (native defaults; the auto null picks
the BiCM there) and, separately, the power computations alone over the same checkpoints
(the BiCM family bound and the three structure family bounds), and reports their share.
On the small dense code of the FDSM tests (40 x 24, 4 planted groups) it times one
checkpoint's connection test under each null.

    nice .venv/bin/python bench/bench_power.py --size 1000x1024x50
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_vs_reptimeline import generate  # noqa: E402

from ontochron.ingest.snapshot import CodeStack, Snapshot  # noqa: E402
from ontochron.ontology import OntologyConfig, analyze  # noqa: E402
from ontochron.ontology.connections import ConnectionTracker, null_power  # noqa: E402
from ontochron.ontology.overlap_null import make_null  # noqa: E402
from ontochron.ontology.structure import StructureConfig, family_power  # noqa: E402


def power_seconds(stack: CodeStack) -> float:
    """Seconds of the power computations alone at every checkpoint."""
    cfg = StructureConfig()
    total = 0.0
    for t in range(stack.n_steps):
        x = sp.csr_array(stack.codes[t])
        k = np.diff(x.indptr).astype(np.int64)
        pop = np.bincount(x.indices, minlength=stack.n_features)
        null = make_null("bicm", k, pop, stack.n_features, 0.05)
        n = x.shape[0]
        t0 = time.perf_counter()
        null_power(null, n * (n - 1) // 2, 0.05, "bicm")
        tested = pop[(pop >= cfg.min_support) & (pop < n)]
        f = tested.size
        family_power(tested, n, {"dual": f * (f - 1) // 2, "dependency": f * (f - 1),
                                 "triad": f * (f - 1) // 2 * (f - 2)}, cfg)
        total += time.perf_counter() - t0
    return total


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", default="1000x1024x50")
    p.add_argument("--density", type=float, default=0.03)
    args = p.parse_args()
    n, f, t = (int(v) for v in args.size.split("x"))
    data = generate(n, f, t, 0, args.density)
    stack = CodeStack.from_snapshots(Snapshot.create(s, c, x) for s, c, x in data)
    for name, cfg in (("native", OntologyConfig()),
                      ("last", OntologyConfig(structure_config=StructureConfig(at="last")))):
        t0 = time.perf_counter()
        ont = analyze(stack, cfg, progress=False)
        total = time.perf_counter() - t0
        print(f"{args.size} {name}: analyze {total:.2f} s, nulls "
              f"{ont.summary['power']['connection']['nulls']}")
    pw = power_seconds(stack)
    print(f"power bounds alone over {t} checkpoints: {pw:.3f} s "
          f"({100 * pw / total:.1f} % of the 'last' run, {pw / t * 1000:.1f} ms/checkpoint)")
    rng = np.random.default_rng(1)
    x = rng.random((40, 24)) < 0.1
    for g in range(4):
        x[g * 10:(g + 1) * 10, g * 6:(g + 1) * 6] = True
    codes = sp.csr_array(x)
    for null in ("hypergeometric", "bicm", "fdsm"):
        tr = ConnectionTracker(40, 24, null=null)
        t0 = time.perf_counter()
        step = tr.compute(codes, np.ones(40, dtype=bool), 0)
        print(f"40 x 24 one checkpoint, {null}: {time.perf_counter() - t0:.3f} s, "
              f"{step.keys.size} connections")


if __name__ == "__main__":
    main()
