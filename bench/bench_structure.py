"""Seconds per checkpoint of structure detection at a few sizes (random sparse codes with a
few planted relations). Usage: python bench/bench_structure.py [--sizes 1024x1000,...]
[--density 0.02] [--max-triad-pairs N] [--device cpu|cuda] [--steps 2]"""

from __future__ import annotations

import argparse
import time

import numpy as np
import scipy.sparse as sp

from ontochron.ontology.structure import StructureConfig, detect_step


def codes(n_concepts: int, n_features: int, density: float, seed: int) -> sp.csr_array:
    """Bernoulli(density) codes plus a dual, a dependency and an AND gate on features 0-5."""
    rng = np.random.default_rng(seed)
    nnz = int(n_concepts * n_features * density)
    rows = rng.integers(0, n_concepts, nnz)
    cols = rng.integers(0, n_features, nnz)
    x = sp.csr_array((np.ones(nnz, dtype=bool), (rows, cols)), shape=(n_concepts, n_features))
    x.sum_duplicates()
    x = sp.lil_array(x)
    a = rng.random(n_concepts) < 0.3
    b = rng.random(n_concepts) < 0.3
    x[:, 0] = a[:, None]
    x[:, 1] = (~a & (rng.random(n_concepts) < 0.5))[:, None]
    x[:, 2] = (a & (rng.random(n_concepts) < 0.5))[:, None]
    x[:, 3] = b[:, None]
    x[:, 4] = (rng.random(n_concepts) < 0.3)[:, None]
    x[:, 5] = (b & x[:, [4]].toarray().ravel())[:, None]
    return sp.csr_array(x, dtype=bool)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sizes", default="1024x1000,4096x2000,16384x5000",
                    help="comma-separated FEATURESxCONCEPTS")
    ap.add_argument("--density", type=float, default=0.02)
    ap.add_argument("--max-triad-pairs", type=int, default=10_000)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--steps", type=int, default=2, help="checkpoints timed per size")
    args = ap.parse_args()
    cfg = StructureConfig(max_triad_pairs=args.max_triad_pairs, device=args.device)
    print(f"density={args.density} max_triad_pairs={args.max_triad_pairs} device={args.device}")
    for size in args.sizes.split(","):
        f, c = (int(v) for v in size.lower().split("x"))
        times = []
        for s in range(args.steps):
            x = codes(c, f, args.density, s)
            t0 = time.perf_counter()
            res = detect_step(x, cfg)
            times.append(time.perf_counter() - t0)
        print(f"{f:>6} features x {c:>5} concepts: {np.mean(times):7.2f} s/checkpoint  "
              f"(duals {res.duals['i'].size}, deps {res.dependencies['child'].size}, "
              f"triads {res.triads['i'].size}, triad pairs {res.triad_pairs}, "
              f"capped {res.triad_pairs_capped})", flush=True)


if __name__ == "__main__":
    main()
