"""Benchmark ``ontochron lineage``: the whole CLI process on per-checkpoint SAELens folders
against a numpy lower bound measured in the same (parent) process, the consecutive
decoder-cosine products ``unit(W_t) @ unit(W_{t+1}).T`` (blockwise, nothing else).

Each checkpoint drifts every latent (cosine ~0.9), replaces 2 % of them with new random
directions and shuffles the rows. Targets (issue 10): 4 x 16,384 latents x 768 dims within
6x the bound and 8 GiB peak RSS on 2 cores; 65,536 latents (top-k candidate path) reported.

    nice .venv/bin/python bench/bench_lineage.py --latents 16384 --steps 4
    nice .venv/bin/python bench/bench_lineage.py --latents 65536 --steps 2

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
from safetensors.numpy import save_file
from threadpoolctl import threadpool_limits


def unit(W: np.ndarray) -> np.ndarray:
    return W / np.linalg.norm(W, axis=1, keepdims=True)


def make_run(root: Path, n: int, d: int, steps: int, seed: int = 0) -> list[np.ndarray]:
    """Write ``steps`` SAELens folders; return the decoders (for the bound)."""
    rng = np.random.default_rng(seed)
    cur = unit(rng.standard_normal((n, d), dtype=np.float32))
    decs = []
    for t in range(steps):
        if t:
            cur = unit(cur + 0.45 * unit(rng.standard_normal((n, d), dtype=np.float32)))
            new = rng.choice(n, n // 50, replace=False)
            cur[new] = unit(rng.standard_normal((new.size, d), dtype=np.float32))
            cur = cur[rng.permutation(n)]
        W = np.ascontiguousarray(cur, dtype=np.float32)
        folder = root / f"step_{t * 1000}"
        folder.mkdir(parents=True)
        save_file({"W_dec": W, "W_enc": np.ascontiguousarray(W.T), "b_enc": np.zeros(n, np.float32),
                   "b_dec": np.zeros(d, np.float32)}, str(folder / "sae_weights.safetensors"))
        (folder / "cfg.json").write_text(json.dumps({"d_in": d, "d_sae": n,
                                                     "architecture": "standard"}))
        decs.append(W)
    return decs


def bound(decs, block_bytes: int = 1 << 27, prep=unit) -> float:
    """Seconds for the consecutive products alone: ``prep`` (default: normalise rows) of both
    sides, then a blockwise matmul."""
    t0 = time.perf_counter()
    for A, B in zip(decs, decs[1:], strict=False):
        A, B = prep(A), prep(B)
        rows = max(1, block_bytes // (4 * B.shape[0]))
        for s in range(0, A.shape[0], rows):
            S = A[s:s + rows] @ B.T
            S[0, 0]  # keep the product
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--latents", type=int, default=16384)
    ap.add_argument("--dims", type=int, default=768)
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads),
           "OPENBLAS_NUM_THREADS": str(args.threads), "MKL_NUM_THREADS": str(args.threads),
           "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    with tempfile.TemporaryDirectory(prefix="bench_lineage_") as tmp:
        root = Path(tmp) / "run"
        decs = make_run(root, args.latents, args.dims, args.steps)
        with threadpool_limits(args.threads):
            b = bound(decs)
        del decs
        t0 = time.perf_counter()
        res = subprocess.run([sys.executable, "-m", "ontochron", "lineage", str(root), "--out",
                              str(Path(tmp) / "out"), "--quiet", "--device", args.device],
                             env=env, capture_output=True, text=True)
        wall = time.perf_counter() - t0
        if res.returncode != 0:
            sys.exit(res.stderr)
        rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2 ** 20  # KiB -> GiB
        summary = json.loads((Path(tmp) / "out" / "summary.json").read_text())
    print(json.dumps({"latents": args.latents, "dims": args.dims, "steps": args.steps,
                      "threads": args.threads, "device": args.device,
                      "bound_s": round(b, 2), "process_s": round(wall, 2),
                      "ratio": round(wall / b, 2), "peak_rss_gib": round(rss, 2),
                      "threshold": summary["threshold"], "counts": summary["counts"]}))


if __name__ == "__main__":
    main()
