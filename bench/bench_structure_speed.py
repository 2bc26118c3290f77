"""Structure detection of this tree against an earlier revision's, in the same process, on
the same checkpoints: CPU seconds per checkpoint of each, their ratio, and a check that both
give the same relations and bit-identical p- and q-values.

The baseline is ``ontochron/ontology/structure.py`` as of ``--baseline`` (a git revision;
default the commit before the structure speedups), loaded as a separate module next to this
tree's (the modules it imports are this tree's). Checkpoints: the drifting codes of
bench_scale.py (tests/synthetic.py) and bench_structure.py's codes with planted relations,
so that the comparison covers found relations too.

    python bench/bench_structure_speed.py                               # 4096 x 1250, small
    python bench/bench_structure_speed.py --sizes 16384x5000 --data drifting
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType

import numpy as np
import scipy.sparse as sp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_structure import codes as planted_codes  # noqa: E402

from ontochron.ontology import structure  # noqa: E402
from ontochron.ontology.parallel import single_threaded_blas  # noqa: E402
from tests.synthetic import drifting_stack  # noqa: E402

BASELINE = "8047591"  # main before the structure speedups


def load_baseline(rev: str) -> ModuleType:
    """structure.py at git revision ``rev`` as a module of its own."""
    src = subprocess.run(["git", "-C", str(ROOT), "show", f"{rev}:ontochron/ontology/structure.py"],
                         check=True, capture_output=True, text=True).stdout
    path = Path(tempfile.mkdtemp()) / "structure_baseline.py"
    path.write_text(src)
    spec = importlib.util.spec_from_file_location("structure_baseline", path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules["structure_baseline"] = mod
    spec.loader.exec_module(mod)
    return mod


def same(a: structure.StepStructure, b: structure.StepStructure) -> bool:
    """Same tables (values and dtypes, floats bit for bit) and family sizes."""
    for fam in ("duals", "dependencies", "triads"):
        ta, tb = getattr(a, fam), getattr(b, fam)
        if ta.keys() != tb.keys() or any(
                ta[k].dtype != tb[k].dtype or not np.array_equal(ta[k], tb[k]) for k in ta):
            return False
    return (a.n_tests == b.n_tests and a.triad_pairs == b.triad_pairs
            and a.triad_pairs_capped == b.triad_pairs_capped)


def checkpoints(data: str, n_features: int, n_concepts: int, n: int, density: float
                ) -> list[sp.csr_array]:
    if data == "drifting":
        return list(drifting_stack(n, n_concepts, n_features, density=density).codes)
    return [planted_codes(n_concepts, n_features, density, s) for s in range(n)]


def cpu(fn, *args):  # noqa: ANN001, ANN201 - a timing helper
    t0 = time.process_time()
    out = fn(*args)
    return out, time.process_time() - t0


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", nargs="+", default=["4096x1250"], help="FEATURESxCONCEPTS")
    p.add_argument("--data", nargs="+", choices=("drifting", "planted"),
                   default=["drifting", "planted"])
    p.add_argument("--density", type=float, default=0.02)
    p.add_argument("--checkpoints", type=int, default=2, help="checkpoints timed per size")
    p.add_argument("--baseline", default=BASELINE, help="git revision of the baseline")
    args = p.parse_args()
    base = load_baseline(args.baseline)
    cfg = structure.StructureConfig()
    with single_threaded_blas():
        warm = planted_codes(200, 64, 0.05, 0)  # first-call imports charged to neither
        base.detect_step(warm, base.StructureConfig())
        structure.detect_step(warm, cfg)
        for size in args.sizes:
            f, c = (int(v) for v in size.lower().split("x"))
            for data in args.data:
                t_new, t_old, ok, found = [], [], True, 0
                for x in checkpoints(data, f, c, args.checkpoints, args.density):
                    a, t_a = cpu(base.detect_step, x, base.StructureConfig())
                    b, t_b = cpu(structure.detect_step, x, cfg)
                    t_old.append(t_a)
                    t_new.append(t_b)
                    ok &= same(a, b)
                    found += sum(int(getattr(b, k)["p"].size)
                                 for k in ("duals", "dependencies", "triads"))
                old, new = float(np.mean(t_old)), float(np.mean(t_new))
                print(f"{f} x {c} at {args.density:g} {data:<9} baseline {old:6.2f} s  now {new:6.2f} s CPU per "
                      f"checkpoint  (now / baseline {new / old:.2f})  relations {found}  "
                      f"identical {ok}  load {os.getloadavg()[0]:.1f}", flush=True)


if __name__ == "__main__":
    main()
