"""Benchmark ``ontochron lineage --match-on activations``: the whole CLI process on a codes
npz (T checkpoints of C concepts x F features, 0/1) against a numpy lower bound measured in
the same (parent) process, the consecutive products of centred unit patterns
``Z_t @ Z_{t+1}.T`` (blockwise, nothing else). The concept-permutation null costs up to 64
more such products (bounded by NULL_FLOPS in ontochron/lineage/activations.py), so the ratio
is expected to sit well above the decoder path's.

Each checkpoint swaps 10 % of every feature's concepts, replaces 2 % of the features with
new random patterns and shuffles the columns.

    nice .venv/bin/python bench/bench_lineage_activations.py --features 4096 --concepts 2000

Prints one JSON object of figures.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_lineage import bound  # noqa: E402


def make_codes(C: int, F: int, steps: int, density: float = 0.05, seed: int = 0
               ) -> np.ndarray:
    """(T, C, F) bool codes with drifting, partly replaced, shuffled features."""
    rng = np.random.default_rng(seed)
    cur = rng.random((C, F)) < density
    out = [cur]
    for _ in range(1, steps):
        flip = rng.random((C, F)) < 0.1 * density * 2  # ~10 % of the members move
        cur = cur ^ flip
        new = rng.choice(F, F // 50, replace=False)
        cur[:, new] = rng.random((C, new.size)) < density
        cur = cur[:, rng.permutation(F)]
        out.append(cur)
    return np.stack(out)


def centred_unit(X: np.ndarray) -> np.ndarray:
    Z = X.T.astype(np.float32)
    Z -= Z.mean(axis=1, keepdims=True)
    n = np.linalg.norm(Z, axis=1, keepdims=True)
    return Z / np.where(n > 0, n, 1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--features", type=int, default=4096)
    ap.add_argument("--concepts", type=int, default=2000)
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads),
           "OPENBLAS_NUM_THREADS": str(args.threads), "MKL_NUM_THREADS": str(args.threads),
           "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    with tempfile.TemporaryDirectory(prefix="bench_lineage_act_") as tmp:
        codes = make_codes(args.concepts, args.features, args.steps)
        path = Path(tmp) / "codes.npz"
        np.savez(path, steps=np.arange(args.steps) * 1000,
                 concepts=np.array([f"c{i}" for i in range(args.concepts)]), codes=codes)
        with threadpool_limits(args.threads):
            b = bound(codes, prep=centred_unit)
        del codes
        t0 = time.perf_counter()
        res = subprocess.run([sys.executable, "-m", "ontochron", "lineage", str(path),
                              "--match-on", "activations", "--out", str(Path(tmp) / "out"),
                              "--quiet"], env=env, capture_output=True, text=True)
        wall = time.perf_counter() - t0
        if res.returncode != 0:
            sys.exit(res.stderr)
        rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2 ** 20  # KiB -> GiB
        summary = json.loads((Path(tmp) / "out" / "summary.json").read_text())
    pairs = summary["null"]["pairs"]
    print(json.dumps({"features": args.features, "concepts": args.concepts,
                      "steps": args.steps, "threads": args.threads,
                      "bound_s": round(b, 3), "process_s": round(wall, 2),
                      "ratio": round(wall / b, 1), "peak_rss_gib": round(rss, 2),
                      "threshold": summary["threshold"],
                      "permutations": [p["permutations"] for p in pairs],
                      "counts": summary["counts"]}))


if __name__ == "__main__":
    main()
