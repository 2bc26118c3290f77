"""Scale benchmark: a synthetic drifting sparse stack -> ``analyze`` (all detectors), printing
wall time per phase and peak RSS.

    .venv/bin/python bench/bench_scale.py                      # 16384 x 5000 x 100 at 2%
    .venv/bin/python bench/bench_scale.py --sizes 2048x500x10 4096x1000x20
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ontochron.ontology import OntologyConfig, analyze  # noqa: E402
from ontochron.outputs import write_outputs  # noqa: E402
from tests.synthetic import drifting_stack  # noqa: E402


def peak_rss_gib() -> float:
    """Peak resident set size of this process so far, GiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def run(n_features: int, n_concepts: int, n_steps: int, density: float, drift: float,
        structure: bool, device: str, out: str | None, progress: bool) -> None:
    t0 = time.perf_counter()
    stack = drifting_stack(n_steps, n_concepts, n_features, density=density, drift=drift)
    gen = time.perf_counter() - t0
    nnz = sum(m.nnz for m in stack.codes)
    print(f"\n== {n_features} features x {n_concepts} concepts x {n_steps} steps, "
          f"density {density}, drift {drift}: {nnz:,} active bits")
    print(f"generate            {gen:8.2f} s   peak RSS {peak_rss_gib():.2f} GiB")
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    ont = analyze(stack, OntologyConfig(structure=structure), progress=progress,
                  device=device, timings=timings)
    total = time.perf_counter() - t0
    for name, secs in timings.items():
        print(f"{name:<19} {secs:8.2f} s")
    print(f"analyze total       {total:8.2f} s   peak RSS {peak_rss_gib():.2f} GiB")
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
    args = p.parse_args()
    for size in args.sizes:
        try:
            f, c, t = (int(v) for v in size.lower().split("x"))
        except ValueError:
            p.error(f"bad size {size!r}; use FEATURESxCONCEPTSxSTEPS")
        run(f, c, t, args.density, args.drift, not args.no_structure, args.device,
            args.out, not args.quiet)


if __name__ == "__main__":
    main()
