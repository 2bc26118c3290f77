"""The overlay's verdict history with activity strata (the default, 16) against one stratum
(the plain Fisher tests of before), in one process and alternating, so both see the same
host load (docs/overlay.md, "The overlay's tests keep concept activity").

Codes: lognormal concept activity x feature frequency, independent checkpoints; a
hypothesis of 80 primitives with 20 duals and 40 dependencies. Best of ``--repeat`` runs.

    nice .venv/bin/python bench/bench_overlay_strata.py                 # 2000 x 200 x 10
    nice .venv/bin/python bench/bench_overlay_strata.py --size 16384x2000x20
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ontochron.ontology import OntologyConfig, analyze  # noqa: E402
from ontochron.overlay.analysis import Overlay  # noqa: E402
from ontochron.overlay.hypothesis import parse_hypothesis  # noqa: E402
from ontochron.overlay.source import Intervals, OverlayData, _structure  # noqa: E402
from ontochron.viz.data import from_ontology  # noqa: E402
from tests.structure_sim import activity  # noqa: E402
from tests.synthetic import stack_from_dense  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", default="2000x200x10", help="concepts x features x checkpoints")
    ap.add_argument("--repeat", type=int, default=2)
    a = ap.parse_args()
    n, f, t = (int(v) for v in a.size.split("x"))
    rng = np.random.default_rng(0)
    frames = []
    for s in range(t):
        act = activity(rng, n, 1.0)
        freq = rng.uniform(0.02, 0.4, f)
        x = rng.random((n, f)) < np.clip(act[:, None] * freq[None, :], 0, 1)
        frames.append((s * 100, [f"c{i}" for i in range(n)], x))
    ont = analyze(stack_from_dense(frames), OntologyConfig(structure=False, connections=False),
                  progress=False)
    prims = [{"name": f"p{i}", "feature": i, "layer": 1,
              **({"dual": f"p{i + 1}"} if i % 2 == 0 and i < 40 else {}),
              **({"depends_on": [f"p{i - 40}"]} if i >= 40 else {})}
             for i in range(min(80, f))]
    hyp = parse_hypothesis({"primitives": prims})
    z = np.zeros(0, dtype=np.int64)
    best = {1: float("inf"), 16: float("inf")}
    for _ in range(a.repeat):
        for strata in (1, 16):
            cfg = _structure(ont.summary)
            cfg["activity_strata"] = strata
            od = OverlayData(from_ontology(ont), {k: Intervals(z, z, z, z, {})
                                                  for k in ("dual", "dependency")},
                             np.full(f, -1, dtype=np.int64), cfg, "bench")
            ov = Overlay(hyp, od)
            t0 = time.perf_counter()
            ov.history()
            best[strata] = min(best[strata], time.perf_counter() - t0)
    print(f"{n} concepts x {f} features x {t} checkpoints, {len(hyp.primitives)} primitives: "
          f"history {best[16]:.2f} s with 16 strata, {best[1]:.2f} s with one "
          f"(ratio {best[16] / best[1]:.2f})")


if __name__ == "__main__":
    main()
