"""Calibration and power of the structure tests at full size: the table of
docs/definitions.md ("Calibration and power: Structure"). tests/test_structure_calibration.py
runs the same regimes with few replicates.

    nice .venv/bin/python bench/bench_structure_calibration.py            # 50 runs each
    nice .venv/bin/python bench/bench_structure_calibration.py --reps 200 --strata 1 16

For every null regime (tests/structure_sim.py) and family: runs with any false discovery
(rate and binomial standard error) and false discoveries per run; then the recall of
planted duals, dependencies and AND gates under heterogeneous activity, and how often a
noisy OR is reported as an AND triad. ``--strata 1`` is the frequencies-only test of before.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import scipy.sparse as sp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ontochron.ontology.structure import StructureConfig, detect_step  # noqa: E402
from tests.structure_sim import (  # noqa: E402
    NULL_REGIMES,
    PLANTED,
    noisy_or,
    null_codes,
    planted_hetero,
)

FAMILIES = ("dual", "dependency", "triad")


def found(res) -> dict[str, set]:  # noqa: ANN001
    d, e, t = res.duals, res.dependencies, res.triads
    return {"dual": set(zip(d["i"].tolist(), d["j"].tolist(), strict=True)),
            "dependency": set(zip(e["child"].tolist(), e["parent"].tolist(), strict=True)),
            "triad": set(zip(t["i"].tolist(), t["j"].tolist(), t["r"].tolist(), strict=True))}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reps", type=int, default=50)
    ap.add_argument("--strata", type=int, nargs="+", default=[16, 1],
                    help="activity_strata values to compare (1 = frequencies only)")
    args = ap.parse_args()
    r = args.reps
    for strata in args.strata:
        cfg = StructureConfig(activity_strata=strata)
        print(f"\n== activity_strata={strata}, alpha={cfg.alpha}, {r} runs per row")
        print("| regime | concepts x features | dual | dependency | triad | s/run |")
        print("|---|---|---|---|---|---|")
        for reg in NULL_REGIMES:
            runs = dict.fromkeys(FAMILIES, 0)
            total = dict.fromkeys(FAMILIES, 0)
            t0 = time.perf_counter()
            for seed in range(r):
                got = found(detect_step(sp.csr_array(null_codes(reg, seed)), cfg))
                for k in FAMILIES:
                    runs[k] += bool(got[k])
                    total[k] += len(got[k])
            cells = []
            for k in FAMILIES:
                rate = runs[k] / r
                se = math.sqrt(max(rate * (1 - rate), 1e-12) / r)
                cells.append(f"{runs[k]}/{r} ({rate:.2f} +- {se:.2f}; {total[k] / r:.2f} per run)")
            shape = f"{reg.n + reg.empty} x {reg.f + reg.never_on}"
            print(f"| {reg.name} | {shape} | " + " | ".join(cells)
                  + f" | {(time.perf_counter() - t0) / r:.2f} |", flush=True)
        for n, f in ((150, 30), (600, 30), (1000, 60)):
            recall = dict.fromkeys(FAMILIES, 0.0)
            extra = dict.fromkeys(FAMILIES, 0)
            for seed in range(r):
                got = found(detect_step(sp.csr_array(planted_hetero(seed, n=n, f=f)), cfg))
                for k in FAMILIES:
                    recall[k] += len(got[k] & PLANTED[k]) / len(PLANTED[k]) / r
                    extra[k] += len(got[k] - PLANTED[k])
            print(f"planted, heterogeneous activity, {n} x {f}: recall "
                  + ", ".join(f"{k} {recall[k]:.2f}" for k in FAMILIES)
                  + "; other discoveries per run "
                  + ", ".join(f"{k} {extra[k] / r:.2f}" for k in FAMILIES), flush=True)
        for n in (300, 600, 1000):
            hits = sum((0, 1, 2) in found(detect_step(sp.csr_array(noisy_or(s, n=n)), cfg))
                       ["triad"] for s in range(r))
            print(f"noisy OR (p 0.55) reported as AND, {n} concepts: {hits}/{r}", flush=True)


if __name__ == "__main__":
    main()
