"""Benchmark ``watch``: the cost of re-analysing the whole run at each new checkpoint, and how
long a checkpoint takes from being written to being in the graph.

* in-process: ``Follower.sync`` after each of ``--steps`` checkpoints (what ``watch`` does
  per checkpoint) against one batch ``ingest`` of all of them, in the same process and store;
  following a run is O(T^2) in analysis (each sync analyses every checkpoint so far), so the
  total is reported as a ratio to the batch ingest, with the last sync's ratio;
* end to end (``--e2e``): a real ``ontochron watch`` subprocess (``--settle 0``, checkpoints
  renamed into place ``--gap`` seconds apart); its ``latency=`` per checkpoint (last byte
  written -> graph holds it) and the wall time from each rename to its line on stdout.

Run: ``nice .venv/bin/python bench/bench_watch.py [--steps 8] [--concepts 120] [--e2e]``
(small by default; ``--steps 50 --concepts 1000`` for a realistic run). Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ontochron.graph.ingest import ingest  # noqa: E402
from ontochron.graph.store import open_store  # noqa: E402
from ontochron.ingest.readers import save_npz  # noqa: E402
from ontochron.ingest.snapshot import CodeStack, Snapshot  # noqa: E402
from ontochron.ontology import OntologyConfig  # noqa: E402
from ontochron.watch.follow import Follower  # noqa: E402


def drifting(n_steps: int, n_concepts: int, n_features: int, seed: int = 0) -> CodeStack:
    """Sparse codes (5 % on) that drift a little at each checkpoint."""
    rng = np.random.default_rng(seed)
    x = rng.random((n_concepts, n_features)) < 0.05
    frames = []
    for t in range(n_steps):
        flip = rng.random(x.shape) < 0.01
        x = x ^ flip
        frames.append(Snapshot.create(100 * t, [f"c{i}" for i in range(n_concepts)], x.copy()))
    return CodeStack.from_snapshots(frames)


def write(directory: Path, stack: CodeStack, t: int) -> Path:
    final = directory / f"step_{int(stack.steps[t])}.npz"
    tmp = directory / f".{final.name}.tmp"
    save_npz([stack.snapshot(t)], tmp)
    os.replace(tmp, final)
    return final


def in_process(stack: CodeStack, store, work: Path, config: OntologyConfig) -> dict:
    d = work / "ckpts"
    d.mkdir()
    for t in range(stack.n_steps):
        write(d, stack, t)
    warm = work / "warm"  # schema, JIT and driver warm-up: not timed
    warm.mkdir()
    write(warm, stack, 0)
    ingest(warm, run="warm", store=store, config=config, progress=False)
    t0 = time.perf_counter()
    ingest(d, run="batch", store=store, config=config, progress=False)
    batch = time.perf_counter() - t0
    live = work / "live"
    live.mkdir()
    follower = Follower(live, store, run="follow", config=config)
    syncs = []
    for t in range(stack.n_steps):
        write(live, stack, t)
        t0 = time.perf_counter()
        follower.sync(sorted(p.name for p in live.iterdir() if not p.name.startswith(".")))
        syncs.append(time.perf_counter() - t0)
    return {"batch_ingest_s": round(batch, 2), "sync_s": [round(s, 2) for s in syncs],
            "follow_total_s": round(sum(syncs), 2),
            "follow_total_over_batch": round(sum(syncs) / batch, 2),
            "last_sync_over_batch": round(syncs[-1] / batch, 2)}


def end_to_end(stack: CodeStack, work: Path, uri: str, data_dir: str, gap: float) -> dict:
    d = work / "e2e"
    d.mkdir()
    cmd = [sys.executable, "-m", "ontochron", "watch", str(d), "--run", "e2e", "--settle",
           "0", "--until-step", str(int(stack.steps[-1])), "--store", uri, "--data-dir",
           data_dir, "--quiet"]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True,
                            env=dict(os.environ, PYTHONPATH=str(ROOT)))
    time.sleep(3.0)  # let it start (the store connection) before the first checkpoint
    written, seen, latency = [], [], []
    assert proc.stdout is not None
    for t in range(stack.n_steps):
        write(d, stack, t)
        written.append(time.perf_counter())
        line = proc.stdout.readline()
        seen.append(time.perf_counter())
        latency.append(float(line.split("latency=")[1].rstrip("s\n")))
        time.sleep(gap)
    proc.wait(timeout=120)
    walls = [b - a for a, b in zip(written, seen, strict=True)]
    return {"latency_s": latency, "rename_to_line_s": [round(w, 2) for w in walls],
            "median_rename_to_line_s": round(float(np.median(walls)), 2)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=8)
    ap.add_argument("--concepts", type=int, default=120)
    ap.add_argument("--features", type=int, default=64)
    ap.add_argument("--e2e", action="store_true", help="also time a real watch subprocess")
    ap.add_argument("--gap", type=float, default=1.0, help="seconds between checkpoints")
    args = ap.parse_args()
    stack = drifting(args.steps, args.concepts, args.features)
    config = OntologyConfig()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        store = open_store("embedded", data_dir=work / "store")
        out = {"size": f"{args.concepts}x{args.features}x{args.steps}",
               "load_avg": os.getloadavg()[0]}
        try:
            out.update(in_process(stack, store, work, config))
        finally:
            store.close()
        if args.e2e:
            out.update(end_to_end(stack, work, "embedded", str(work / "store"), args.gap))
        subprocess.run([sys.executable, "-m", "ontochron", "store", "stop", "--data-dir",
                        str(work / "store")], cwd=ROOT, capture_output=True,
                       env=dict(os.environ, PYTHONPATH=str(ROOT)))
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
