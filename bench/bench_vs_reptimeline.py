"""Time ontochron (``--compat reptimeline`` and native) against reptimeline 0.2.2.

reptimeline's "all detectors" = TimelineTracker(Jaccard).analyze(snapshots) +
BitDiscovery().discover(last snapshot, timeline), as its CLI runs them. It runs in a child
process that is killed after ``--timeout`` seconds; then the ratio is a lower bound.

    .venv/bin/python bench/bench_vs_reptimeline.py --sizes 200x256x20 1000x1024x50 --timeout 900
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np
import scipy.sparse as sp

DENSITY = 0.03


def generate(n: int, f: int, t: int, seed: int = 0, density: float = DENSITY
             ) -> list[tuple[int, list[str], sp.csr_array]]:
    """Sparse random codes drifting over ``t`` checkpoints (density kept), with planted duals,
    dependencies and AND gates on the first 24 features; every concept at every step."""
    rng = np.random.default_rng(seed)
    names = [f"concept_{k:05d}" for k in rng.permutation(n)]
    base = rng.random((n, f), dtype=np.float32) < density
    out = []
    for s in range(t):
        # drift that keeps the density: on->off with prob q, off->on with prob q d/(1-d)
        q = 0.2 / (1 + s / 5)
        u = rng.random((n, f), dtype=np.float32)
        base = np.where(base, u >= q, u < q * density / (1 - density))
        x = base.copy()
        if f >= 24:
            for g in range(4):  # dual (a, a+1), dependency (a+3 -> a+2), AND (a+4 & a+1 -> a+5)
                a = 6 * g
                x[:, a + 1] = ~x[:, a] & (rng.random(n) < 0.9)
                x[:, a + 3] |= x[:, a + 2]
                x[:, a + 5] = x[:, a + 4] & x[:, a + 1]
        out.append((s * 100, names, sp.csr_array(x)))
    return out


def run_ontochron(n: int, f: int, t: int, seed: int, density: float = DENSITY
                  ) -> dict[str, float | int | str]:
    from ontochron.ingest.snapshot import CodeStack, Snapshot
    from ontochron.ontology.compat_reptimeline import analyze_reptimeline

    data = generate(n, f, t, seed, density)
    stack = CodeStack.from_snapshots(Snapshot.create(s, c, x) for s, c, x in data)
    del data
    res: dict[str, float | int | str] = {}
    t0 = time.perf_counter()
    onto = analyze_reptimeline(stack)
    res["compat_s"] = time.perf_counter() - t0
    for k in ("births", "deaths", "connections", "phase_transitions", "duals",
              "dependencies", "triads"):
        res[k] = int(onto.summary[k])
    del onto
    try:
        from ontochron.ontology import analyze  # native mode (lifecycle engineer)
    except ImportError:
        analyze = None
    if analyze is not None:
        from ontochron.ontology import OntologyConfig
        from ontochron.ontology.structure import StructureConfig

        # native: structure at every checkpoint (the default); native_last: the same
        # detectors over the same scope as reptimeline (structure on the last snapshot)
        for key, cfg in (("native_s", OntologyConfig()),
                         ("native_last_s", OntologyConfig(
                             structure_config=StructureConfig(at="last")))):
            t0 = time.perf_counter()
            try:
                onto = analyze(stack, cfg, progress=False)
                res[key] = time.perf_counter() - t0
                res[key.replace("_s", "_connections")] = int(onto.summary["connections"])
            except Exception as exc:  # noqa: BLE001 - report, do not abort the benchmark
                res[key] = f"error: {type(exc).__name__}"
    return res


def jaccard_extractor():
    """reptimeline's CLI extractor behaviour: shared features = both bits 1."""
    from reptimeline.extractors.base import RepresentationExtractor

    class Jaccard(RepresentationExtractor):
        def extract(self, checkpoint_path, concepts, device="cpu"):
            raise NotImplementedError

        def similarity(self, code_a, code_b):
            a = {i for i, v in enumerate(code_a) if v == 1}
            b = {i for i, v in enumerate(code_b) if v == 1}
            return len(a & b) / len(a | b) if a | b else 1.0

        def shared_features(self, code_a, code_b):
            return [i for i in range(min(len(code_a), len(code_b)))
                    if code_a[i] == 1 and code_b[i] == 1]

    return Jaccard()


def reptimeline_snapshots(n: int, f: int, t: int, seed: int, density: float = DENSITY) -> list:
    """The codes of :func:`generate` as reptimeline ConceptSnapshots (lists of ints)."""
    from reptimeline.core import ConceptSnapshot

    return [ConceptSnapshot(step=s, codes=dict(zip(c, x.toarray().astype(np.int64).tolist(),
                                                   strict=True)))
            for s, c, x in generate(n, f, t, seed, density)]


def run_reptimeline_child(n: int, f: int, t: int, seed: int, density: float = DENSITY) -> None:
    """Child process: build reptimeline snapshots, time its detectors, print JSON."""
    import contextlib
    import io

    from reptimeline.discovery import BitDiscovery
    from reptimeline.tracker import TimelineTracker

    snaps = reptimeline_snapshots(n, f, t, seed, density)
    print(json.dumps({"built": True}), flush=True)
    t0 = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        timeline = TimelineTracker(jaccard_extractor()).analyze(snaps)
        t1 = time.perf_counter()
        report = BitDiscovery().discover(snaps[-1], timeline=timeline)
    t2 = time.perf_counter()
    print(json.dumps({"tracker_s": t1 - t0, "discover_s": t2 - t1, "total_s": t2 - t0,
                      "births": len(timeline.births), "deaths": len(timeline.deaths),
                      "connections": len(timeline.connections),
                      "phase_transitions": len(timeline.phase_transitions),
                      "duals": len(report.discovered_duals),
                      "dependencies": len(report.discovered_deps),
                      "triads": len(report.discovered_triadic_deps)}), flush=True)


def run_reptimeline(n: int, f: int, t: int, seed: int, timeout: float,
                    density: float = DENSITY) -> dict:
    """Run the child with a wall-clock budget (input building not counted in the time)."""
    if n * f * t * 8 > 8e9:
        return {"skipped": f"input as Python lists would need ~{n * f * t * 8 / 1e9:.0f} GB"}
    cmd = [sys.executable, os.path.abspath(__file__), "--_child", f"{n}x{f}x{t}",
           "--seed", str(seed), "--density", str(density)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()  # {"built": true} once the input exists
    if not line:
        proc.wait()
        return {"skipped": "child failed while building the input"}
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        return {"timeout": timeout}
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", nargs="+", default=["100x128x10", "300x256x20", "1000x1024x50",
                                                  "5000x4096x50"],
                   help="concepts x features x steps")
    p.add_argument("--timeout", type=float, default=600.0,
                   help="seconds reptimeline may run per size")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--density", type=float, default=DENSITY, help="fraction of bits on")
    p.add_argument("--_child", default=None, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args._child:
        n, f, t = (int(v) for v in args._child.split("x"))
        run_reptimeline_child(n, f, t, args.seed, args.density)
        return
    print(f"{'size':>15} {'compat s':>9} {'native s':>9} {'last s':>9} {'reptimeline s':>16} "
          f"{'ratio (compat)':>15} {'native':>7} {'last':>7}  counts equal")
    for size in args.sizes:
        n, f, t = (int(v) for v in size.split("x"))
        ours = run_ontochron(n, f, t, args.seed, args.density)
        theirs = run_reptimeline(n, f, t, args.seed, args.timeout, args.density)
        native = ours.get("native_s", "n/a")
        native_s = f"{native:9.2f}" if isinstance(native, float) else f"{native:>9}"
        last = ours.get("native_last_s", "n/a")
        last_s = f"{last:9.2f}" if isinstance(last, float) else f"{last:>9}"
        r_native = r_last = f"{'n/a':>7}"
        if "total_s" in theirs:
            rt = f"{theirs['total_s']:16.1f}"
            ratio = f"{theirs['total_s'] / ours['compat_s']:14.0f}x"
            if isinstance(native, float):
                r_native = f"{theirs['total_s'] / native:6.0f}x"
            if isinstance(last, float):
                r_last = f"{theirs['total_s'] / last:6.0f}x"
            same = all(theirs[k] == ours[k] for k in ("births", "deaths", "connections",
                                                       "phase_transitions", "duals",
                                                       "dependencies", "triads"))
        elif "timeout" in theirs:
            rt = f"{'>' + str(int(theirs['timeout'])) + ' (DNF)':>16}"
            ratio = f"{'>' + format(theirs['timeout'] / ours['compat_s'], '.0f') + 'x':>15}"
            same = "n/a"
        else:
            rt, ratio, same = f"{'not run':>16}", f"{'n/a':>15}", theirs["skipped"]
        print(f"{size:>15} {ours['compat_s']:9.2f} {native_s} {last_s} {rt} {ratio} "
              f"{r_native} {r_last}  {same}", flush=True)
        print("    ontochron:", json.dumps(ours), flush=True)
        print("    reptimeline:", json.dumps(theirs), flush=True)


if __name__ == "__main__":
    main()
