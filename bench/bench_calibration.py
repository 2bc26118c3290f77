"""Calibration and power table of docs/definitions.md, by simulation (tests/calibration.py).

    nice .venv/bin/python bench/bench_calibration.py                 # 200 runs per null row
    nice .venv/bin/python bench/bench_calibration.py --reps 40 --sizes 40 128

Prints one markdown row per (family, regime, size): runs with any false discovery on null
codes against alpha + 3 standard errors, and the recall of planted structure.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests import calibration as cal  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--reps", type=int, default=200, help="runs per null row")
    p.add_argument("--power-reps", type=int, default=5, help="runs per power row")
    p.add_argument("--sizes", type=int, nargs="+", default=[40, 128, 256, 1000])
    p.add_argument("--nulls", nargs="+", default=["auto"],
                   help="connection nulls to tabulate (auto, bicm, cbicm, hypergeometric)")
    args = p.parse_args()
    t0 = time.perf_counter()
    print(cal.HEADER)
    for null in args.nulls:
        for row in cal.connection_null_rows(tuple(args.sizes), args.reps, null):
            print(row.markdown(), flush=True)
        for row in cal.connection_power_rows(tuple(args.sizes), args.power_reps, null):
            print(row.markdown(), flush=True)
    for row in cal.overlay_null_rows(args.reps) + cal.overlay_power_rows(args.power_reps):
        print(row.markdown(), flush=True)
    print(f"\n{time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
