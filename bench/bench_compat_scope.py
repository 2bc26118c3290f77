"""Compat mode on reptimeline's own scope: the whole ``ontochron analyze --compat reptimeline``
CLI process against reptimeline 0.2.2's in-process ``TimelineTracker(Jaccard).analyze``.

The codes are ``generate(N, F, T, seed, density)`` of ``bench_vs_reptimeline.py`` saved as one
npz. ontochron runs as a child process (start-up, imports, loading, detection and writing every
output are all timed); reptimeline runs in this process on its list-of-lists input (building
that input is not timed). ``--structure-at last`` adds discovery on the last snapshot to both
sides (reptimeline: ``BitDiscovery().discover(last snapshot, timeline)``). Prints one JSON.

``--input json`` compares whole processes on the file both tools read: the codes are written
once as reptimeline JSON, ontochron's CLI reads that file, and reptimeline runs as its own CLI
(``python -m reptimeline --snapshots run.json``: start-up, ``json.load``, analysis, summary),
its counts taken from the summary it prints.

    nice .venv/bin/python bench/bench_compat_scope.py
    nice .venv/bin/python bench/bench_compat_scope.py --structure-at last --size 300x256x20
    nice .venv/bin/python bench/bench_compat_scope.py --stream 40

``--stream K`` times the triad permutation stream of discovery instead: generating K blocks of
1,000 permutations, and evaluating the first K candidate triads of every checkpoint against
them (``count_ge``); it projects both to discovery on the last snapshot and on every one.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_vs_reptimeline import (  # noqa: E402
    generate,
    jaccard_extractor,
    reptimeline_snapshots,
)

LIFECYCLE = ("births", "deaths", "connections", "phase_transitions")
DISCOVERY = ("duals", "dependencies", "triads")


def write_codes(path: Path, n: int, f: int, t: int, seed: int, density: float) -> None:
    """The benchmark's codes as one file: ontochron's npz layout, or reptimeline JSON (the
    file reptimeline's CLI reads) for a ``.json`` path."""
    from ontochron.ingest import save_npz
    from ontochron.ingest.readers import save_reptimeline_json
    from ontochron.ingest.snapshot import Snapshot

    save = save_reptimeline_json if path.suffix == ".json" else save_npz
    save([Snapshot.create(s, c, x) for s, c, x in generate(n, f, t, seed, density)], path)


_SUMMARY_LINES = {"births": "Bit births", "deaths": "Bit deaths",
                  "connections": "Connections formed", "phase_transitions": "Phase transitions"}


def run_reptimeline_cli(path: Path) -> dict:
    """Wall seconds of one whole ``python -m reptimeline --snapshots FILE`` process, and the
    counts of the summary it prints."""
    import re

    cmd = [sys.executable, "-m", "reptimeline", "--snapshots", str(path)]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode:
        raise SystemExit(f"reptimeline failed (exit {proc.returncode}): {proc.stderr.strip()}")
    res: dict = {"total_s": wall}
    for key, label in _SUMMARY_LINES.items():
        m = re.search(rf"^\s*{label}:\s+(\d+)\s*$", proc.stdout, re.M)
        if m is None:
            raise SystemExit(f"reptimeline's summary has no '{label}' line")
        res[key] = int(m.group(1))
    return res


def run_cli(data: Path, out: Path, structure_at: str) -> tuple[float, dict]:
    """Wall seconds of one whole ``ontochron analyze`` process, and its summary.json."""
    scope = ["--no-structure"] if structure_at == "none" else ["--structure-at", structure_at]
    cmd = [sys.executable, "-m", "ontochron", "analyze", str(data), "--compat", "reptimeline",
           *scope, "--out", str(out), "--quiet"]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode:
        raise SystemExit(f"ontochron failed (exit {proc.returncode}): {proc.stderr.strip()}")
    return wall, json.loads((out / "summary.json").read_text())


def run_reptimeline(n: int, f: int, t: int, seed: int, density: float,
                    structure_at: str) -> dict:
    """reptimeline's detectors in-process on the same codes; input building not timed."""
    from reptimeline.discovery import BitDiscovery
    from reptimeline.tracker import TimelineTracker

    snaps = reptimeline_snapshots(n, f, t, seed, density)
    res: dict = {}
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        t0 = time.perf_counter()
        timeline = TimelineTracker(jaccard_extractor()).analyze(snaps)
        res["tracker_s"] = time.perf_counter() - t0
        if structure_at == "last":
            t1 = time.perf_counter()
            report = BitDiscovery().discover(snaps[-1], timeline=timeline)
            res["discover_s"] = time.perf_counter() - t1
    res["total_s"] = res["tracker_s"] + res.get("discover_s", 0.0)
    res["births"] = len(timeline.births)
    res["deaths"] = len(timeline.deaths)
    res["connections"] = len([c for c in timeline.connections if c.event_type == "form"])
    res["phase_transitions"] = len(timeline.phase_transitions)
    if structure_at == "last":
        res["duals"] = len(report.discovered_duals)
        res["dependencies"] = len(report.discovered_deps)
        res["triads"] = len(report.discovered_triadic_deps)
    return res


def stream_bench(n: int, f: int, t: int, seed: int, density: float, k: int) -> dict:
    """Generation vs evaluation of the triad permutation stream (see the module docstring)."""
    import scipy.sparse as sp

    from ontochron.ingest.snapshot import CodeStack, Snapshot
    from ontochron.ontology import compat_reptimeline as cr

    stack = CodeStack.from_snapshots(Snapshot.create(s, c, x)
                                     for s, c, x in generate(n, f, t, seed, density))
    res: dict = {}
    jobs = []
    t0 = time.perf_counter()
    for step in range(stack.n_steps):
        x = cr._snap_matrix(stack, step)
        counts, co = cr._cooccurrence(x)
        jobs.append((sp.csr_array(x.T), cr._triad_candidates(x, counts, co)))
    res["candidates_s"] = round(time.perf_counter() - t0, 2)
    sizes = [int(c["i"].size) for _, c in jobs]
    res["candidates_last"], res["candidates_all"] = sizes[-1], int(sum(sizes))
    k = min(k, max(sizes))
    stream = cr.PermutationStream(stack.order[-1].size)
    t0 = time.perf_counter()
    perms = stream.block(k * cr.N_PERMUTATIONS).reshape(k, cr.N_PERMUTATIONS, -1)
    gen = (time.perf_counter() - t0) / k
    specs = []
    for xt, cand in jobs:
        for b in range(min(k, cand["i"].size)):
            sets = cr._triad_sets(xt, int(cand["i"][b]), int(cand["j"][b]), int(cand["r"][b]))
            specs.append((b, sets, float(cand["inter"][b])))
    last = specs[len(specs) - min(k, sizes[-1]):]  # the last checkpoint's triads

    def evaluate(keep: list) -> float:
        """Seconds to count every triad in ``keep`` against its block (sets prepared)."""
        t0 = time.perf_counter()
        is_r = np.zeros(perms.shape[2], dtype=np.int64)
        for b, (s_ij, s_i, s_j, s_r), obs in keep:
            is_r[s_r] = 1
            cr.count_ge(perms[b], s_ij, s_i, s_j, is_r, obs)
            is_r[s_r] = 0
        return time.perf_counter() - t0

    o_all = evaluate(specs)
    o_last = evaluate(last)
    res.update({
        "blocks_timed": k, "triads_evaluated": len(specs),
        "generate_ms_per_block": round(1e3 * gen, 3),
        "evaluate_ms_per_triad": round(1e3 * o_all / len(specs), 4),
        "evaluate_ms_per_triad_last": round(1e3 * o_last / len(last), 4),
    })
    # projections: generation once per block of the longest candidate list (one stream
    # serves every checkpoint of a size), evaluation once per (checkpoint, triad)
    res["projected_last_s"] = {"generate": round(gen * sizes[-1], 1),
                               "evaluate": round(o_last / len(last) * sizes[-1], 1)}
    res["projected_all_s"] = {"generate": round(gen * max(sizes), 1),
                              "evaluate": round(o_all / len(specs) * sum(sizes), 1)}
    return res


def main() -> None:
    """Parse options, time both sides, print one JSON line."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", default="800x1024x30", help="concepts x features x checkpoints")
    p.add_argument("--density", type=float, default=0.05, help="fraction of bits on")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--structure-at", choices=("none", "last"), default="none",
                   help="none: --no-structure; last: discovery on the last snapshot too")
    p.add_argument("--repeat", type=int, default=3,
                   help="CLI processes to time (the median counts); reptimeline runs once")
    p.add_argument("--input", choices=("npz", "json"), default="npz",
                   help="npz: ontochron reads an npz, reptimeline runs in-process on built "
                        "snapshots; json: both read one reptimeline JSON as whole CLI processes")
    p.add_argument("--stream", type=int, default=0, metavar="K",
                   help="time the triad permutation stream on K blocks instead")
    args = p.parse_args()
    n, f, t = (int(v) for v in args.size.split("x"))
    if args.stream:
        res = {"size": args.size, "density": args.density, "load_before": os.getloadavg()}
        res.update(stream_bench(n, f, t, args.seed, args.density, args.stream))
        res["load_after"] = os.getloadavg()
        print(json.dumps(res))
        return
    if args.input == "json" and args.structure_at != "none":
        p.error("--input json times the lifecycle scope only (--structure-at none)")
    res: dict = {"size": args.size, "density": args.density, "seed": args.seed,
                 "structure_at": args.structure_at, "input": args.input,
                 "load_before": os.getloadavg()}
    with tempfile.TemporaryDirectory(prefix="bench_compat_scope_") as tmp:
        data = Path(tmp) / f"run.{args.input}"
        write_codes(data, n, f, t, args.seed, args.density)
        res["file_mb"] = round(data.stat().st_size / 1e6, 1)

        def theirs_run() -> dict:
            if args.input == "json":
                return run_reptimeline_cli(data)
            return run_reptimeline(n, f, t, args.seed, args.density, args.structure_at)

        cli_s, summary = [], {}
        for k in range(max(1, args.repeat)):
            if k == 1:  # reptimeline between the first and later CLI runs
                res["reptimeline"] = theirs_run()
            wall, summary = run_cli(data, Path(tmp) / f"out{k}", args.structure_at)
            cli_s.append(wall)
        if "reptimeline" not in res:
            res["reptimeline"] = theirs_run()
    theirs = res["reptimeline"]
    keys = LIFECYCLE + (DISCOVERY if args.structure_at == "last" else ())
    res["cli_s"] = [round(v, 3) for v in cli_s]
    res["cli_median_s"] = round(statistics.median(cli_s), 3)
    res["reptimeline_s"] = round(theirs["total_s"], 3)
    res["ratio"] = round(theirs["total_s"] / statistics.median(cli_s), 2)
    res["ontochron_counts"] = {k: int(summary[k]) for k in keys}
    res["counts_equal"] = all(int(summary[k]) == theirs[k] for k in keys)
    res["load_after"] = os.getloadavg()
    print(json.dumps(res))


if __name__ == "__main__":
    main()
