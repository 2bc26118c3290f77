"""Scale benchmark: a synthetic drifting sparse stack -> ``analyze`` (all detectors), printing
wall time per phase and peak RSS, and the ratio to a bound measured in the same process.

The bound: for every checkpoint the two sparse products any exact detection of this kind
has to form, the concept overlaps ``X X^T`` (connections) and the feature co-occurrences
``X^T X`` (duals, dependencies, triads, hierarchy), each symmetric, so half of the time of
scipy forming the whole product on one thread; nothing else (no statistics, no
bookkeeping, no output). ``--no-bound`` skips it.

    .venv/bin/python bench/bench_scale.py                      # 16384 x 5000 x 100 at 2%
    .venv/bin/python bench/bench_scale.py --sizes 2048x500x10 4096x1000x20
    .venv/bin/python bench/bench_scale.py --sizes 1024x1000x50 --data vs-reptimeline --density 0.03
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from ontochron.ingest.snapshot import CodeStack, Snapshot  # noqa: E402
from ontochron.ontology import OntologyConfig, analyze  # noqa: E402
from ontochron.ontology.structure import StructureConfig  # noqa: E402
from ontochron.outputs import write_outputs  # noqa: E402
from tests.synthetic import drifting_stack  # noqa: E402


def peak_rss_gib() -> float:
    """Peak resident set size of this process so far, GiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def make_stack(data: str, n_features: int, n_concepts: int, n_steps: int, density: float,
               drift: float) -> CodeStack:
    """The synthetic stack: tests/synthetic.py's drifting codes, or the codes that
    bench_vs_reptimeline.py times reptimeline on (planted duals, dependencies, AND gates)."""
    if data == "drifting":
        return drifting_stack(n_steps, n_concepts, n_features, density=density, drift=drift)
    from bench_vs_reptimeline import generate

    frames = generate(n_concepts, n_features, n_steps, 0, density)
    return CodeStack.from_snapshots(Snapshot.create(s, c, x) for s, c, x in frames)


def bound_seconds(stack: CodeStack, structure: bool) -> float:
    """Wall seconds of the bound (module docstring) over every checkpoint of ``stack``: half
    the time of the full products (each detector needs one triangle of a symmetric one)."""
    t0 = time.perf_counter()
    for X in stack.codes:
        A = X.astype(np.float32)
        A @ A.T
        if structure:
            A.T @ A
    return (time.perf_counter() - t0) / 2


def run(n_features: int, n_concepts: int, n_steps: int, density: float, drift: float,
        structure: bool, device: str, out: str | None, progress: bool,
        data: str = "drifting", structure_at: str = "all",
        connection_null: str = "auto", bound: bool = True) -> None:
    t0 = time.perf_counter()
    stack = make_stack(data, n_features, n_concepts, n_steps, density, drift)
    gen = time.perf_counter() - t0
    nnz = sum(m.nnz for m in stack.codes)
    print(f"\n== {n_features} features x {n_concepts} concepts x {n_steps} steps, "
          f"density {density}, drift {drift}: {nnz:,} active bits")
    print(f"generate            {gen:8.2f} s   peak RSS {peak_rss_gib():.2f} GiB")
    timings: dict[str, float] = {}
    t0, c0 = time.perf_counter(), time.process_time()
    config = OntologyConfig(structure=structure, connection_null=connection_null,
                            structure_config=StructureConfig(at=structure_at))
    ont = analyze(stack, config, progress=progress, device=device, timings=timings)
    total, cpu = time.perf_counter() - t0, time.process_time() - c0
    for name, secs in timings.items():
        print(f"{name:<19} {secs:8.2f} s")
    print(f"analyze total       {total:8.2f} s   (CPU {cpu:.2f} s)   "
          f"peak RSS {peak_rss_gib():.2f} GiB")
    if bound:
        b = bound_seconds(stack, structure and structure_at == "all")
        what = "X X^T, X^T X" if structure and structure_at == "all" else "X X^T"
        print(f"bound (half of {what} per checkpoint, 1 thread) {b:8.2f} s   analyze = "
              f"{total / b:.2f} x bound (CPU {cpu / b:.2f} x)   load average "
              f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    if out:
        t0 = time.perf_counter()
        write_outputs(ont, out)
        print(f"write outputs       {time.perf_counter() - t0:8.2f} s   "
              f"peak RSS {peak_rss_gib():.2f} GiB")
    s = ont.summary
    print("counts: " + ", ".join(f"{k}={s[k]}" for k in (
        "births", "deaths", "connections", "phase_transitions", "duals", "dependencies",
        "triads", "hierarchy_edges")) + f", activations={len(ont.activations)}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", nargs="+", default=["16384x5000x100"],
                   help="FEATURESxCONCEPTSxSTEPS, one or more")
    p.add_argument("--density", type=float, default=0.02)
    p.add_argument("--drift", type=float, default=0.02,
                   help="fraction of each concept's bits moved per checkpoint")
    p.add_argument("--no-structure", action="store_true")
    p.add_argument("--device", default="cpu")
    p.add_argument("--out", default=None, help="also time write_outputs into this directory")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument("--data", choices=("drifting", "vs-reptimeline"), default="drifting",
                   help="synthetic codes: tests/synthetic.py drifting_stack, or the "
                        "generator of bench_vs_reptimeline.py")
    p.add_argument("--structure-at", choices=("all", "last"), default="all",
                   help="structure at every checkpoint or at the last one only")
    p.add_argument("--connection-null", choices=("auto", "bicm", "cbicm", "hypergeometric"),
                   default="auto")
    p.add_argument("--no-bound", action="store_true",
                   help="skip the bound (the X X^T and X^T X products of every checkpoint)")
    args = p.parse_args()
    for size in args.sizes:
        try:
            f, c, t = (int(v) for v in size.lower().split("x"))
        except ValueError:
            p.error(f"bad size {size!r}; use FEATURESxCONCEPTSxSTEPS")
        run(f, c, t, args.density, args.drift, not args.no_structure, args.device,
            args.out, not args.quiet, args.data, args.structure_at, args.connection_null,
            not args.no_bound)


if __name__ == "__main__":
    main()
